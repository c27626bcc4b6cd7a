/**
 * The v1 command line (spec §2.1–2.5): `--section key=value ...`, bare values, `-c/--config`
 * files interleaved in argument order, help/completion, singletons, exclusive actions, the
 * implicit `node`. Produces an {@link Invocation} with typed sections.
 * @module
 */

import { ConfigError } from "./errors.ts";
import { defaultReadFile, loadConfigFile, type ReadFile } from "./file_loader.ts";
import { ConversionError } from "../gocompat/strconv.ts";
import { bashCompletionText, helpText } from "./help_text.ts";
import { assignField, newRawSection, type RawSection, requiredMessage } from "./raw_section.ts";
import { SECTIONS, sectionSpec } from "./schema.ts";
import { bareField, fieldSpec } from "./section_spec.ts";
import { toTypedSection } from "./typed.ts";
import type { CertAction, Invocation, Section } from "./types.ts";

/** Options for {@link parseInvocation}. */
export interface ParseOptions {
  /** Reads config files (default `Deno.readTextFileSync`). */
  readFile?: ReadFile;
  /** Program name used in help and completion text (default `receptor`). */
  progName?: string;
}

/** Result of collecting arguments, before typing (also used by reload). */
export type Collected =
  | { kind: "help" }
  | { kind: "bash-completion" }
  | { kind: "sections"; raws: RawSection[]; configFiles: string[]; exclusive: string | null };

/**
 * Walk the argument list like upstream's cmdline module and collect raw section instances.
 * Throws {@link ConfigError}.
 */
export function collectArgs(argv: string[], readFile: ReadFile = defaultReadFile): Collected {
  if (argv.length === 0) return { kind: "help" };
  const active: RawSection[] = [];
  const configFiles: string[] = [];
  let acc: RawSection | null = null;
  let configPending = false;

  const finish = () => {
    if (!acc) return;
    const miss = requiredMessage(acc);
    if (miss) {
      throw new ConfigError(`error in ${acc.source}: ${miss}`, { section: acc.spec.kind });
    }
    active.push(acc);
    acc = null;
  };

  for (const arg of argv) {
    if (arg === "") {
      throw new ConfigError(
        "empty argument is not allowed" + (acc ? ` (after ${acc.source})` : ""),
      );
    }
    const lc = arg.toLowerCase();
    if (lc === "-h" || lc === "--help") return { kind: "help" };
    if (lc === "--bash-completion") return { kind: "bash-completion" };
    if (lc[0] === "-") {
      const name = lc.startsWith("--") ? lc.slice(2) : lc.slice(1);
      finish();
      if (name === "config" || name === "c") {
        configPending = true;
        continue;
      }
      const spec = sectionSpec(name);
      if (!spec) throw new ConfigError(`command error: unknown config type ${name}`);
      if (spec.singleton && active.some((r) => r.spec === spec)) {
        throw new ConfigError(`directive "${spec.name}" is only allowed once`, {
          section: spec.kind,
        });
      }
      acc = newRawSection(spec, arg);
      continue;
    }
    if (configPending) {
      configPending = false;
      const loaded = loadConfigFile(arg, readFile);
      configFiles.push(arg);
      active.push(...loaded);
      continue;
    }
    if (!acc) throw new ConfigError("parameter specified before command");
    assignArg(acc, arg);
  }
  finish();

  const exclusive = applyExclusive(active);
  return { kind: "sections", raws: active, configFiles, exclusive };
}

/** One `key=value` or bare value argument of the section being collected. */
function assignArg(cur: RawSection, arg: string): void {
  const eq = arg.indexOf("=");
  const ctx = { section: cur.spec.kind, source: cur.source };
  if (eq < 0) {
    const bare = bareField(cur.spec);
    if (!bare) throw new ConfigError("config error: command does not allow bare values", ctx);
    setArgField(cur, bare, arg, bare.goName, { ...ctx, field: bare.key });
    return;
  }
  const key = arg.slice(0, eq).toLowerCase();
  const fld = fieldSpec(cur.spec, key);
  if (!fld) throw new ConfigError(`config error: unknown field name ${key}`, ctx);
  setArgField(cur, fld, arg.slice(eq + 1), key, { ...ctx, field: key });
}

/** Assigns `value`; a conversion failure names the field as `name`, located at `where`. */
function setArgField(
  cur: RawSection,
  fld: Parameters<typeof assignField>[1],
  value: string,
  name: string,
  where: ConstructorParameters<typeof ConfigError>[1],
): void {
  try {
    assignField(cur, fld, value);
  } catch (e) {
    if (e instanceof ConversionError) {
      throw new ConfigError(`error setting config value for field ${name}: ${e.message}`, where);
    }
    throw e;
  }
}

/**
 * An exclusive section (e.g. `--version`) must stand alone: returns its kind, or null when
 * there is none and the required singletons not given were added as implicit sections.
 */
function applyExclusive(active: RawSection[]): string | null {
  let exclusive: string | null = null;
  for (const r of active) {
    if (r.spec.exclusive) {
      exclusive = r.spec.kind;
      break;
    }
  }
  if (exclusive && active.length > 1) {
    throw new ConfigError(`cannot specify any other options with ${exclusive}`);
  }
  if (!exclusive) {
    for (const spec of SECTIONS) {
      if (spec.required && spec.singleton && !active.some((r) => r.spec === spec)) {
        active.push(newRawSection(spec, `implicit ${spec.name}`));
      }
    }
  }
  return exclusive;
}

/** The file after the first argument spelled exactly `--config` or `-c`, else null. */
export function reloadFileOf(argv: string[]): string | null {
  const i = argv.findIndex((a) => a === "--config" || a === "-c");
  if (i < 0 || i + 1 >= argv.length) return null;
  return argv[i + 1];
}

/**
 * Parse a v1 argument list (without the program name) into an {@link Invocation}.
 * Throws {@link ConfigError} (print `Error: ${e}` and exit 1).
 *
 * @example
 * const inv = parseInvocation(["--node", "id=foo", "--tcp-listener", "2222"]);
 */
export function parseInvocation(argv: string[], opts: ParseOptions = {}): Invocation {
  const progName = opts.progName ?? "receptor";
  const c = collectArgs(argv, opts.readFile ?? defaultReadFile);
  if (c.kind === "help") return { kind: "help", text: helpText(progName) };
  if (c.kind === "bash-completion") {
    return { kind: "bash-completion", text: bashCompletionText(progName) };
  }
  const sections: Section[] = c.raws.map(toTypedSection);
  if (c.exclusive === "version") return { kind: "version" };
  if (c.exclusive) return { kind: "action", section: sections[0] as CertAction };
  return {
    kind: "node",
    sections,
    configFiles: c.configFiles,
    reloadFile: reloadFileOf(argv),
    argv: [...argv],
  };
}
