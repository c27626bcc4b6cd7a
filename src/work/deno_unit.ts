/**
 * The `work-deno` work type (our addition, not upstream): each unit runs a TS/JS module
 * with `deno run --no-prompt` and only the permissions its section grants
 * (`allowread`, `allowwrite`, `allownet`, `allowenv`, `allowrun`; an empty list grants
 * nothing). It reuses the `work-command` machinery unchanged — the same detached command
 * runner, stdin/stdout files, cancel and restart handling — by handing that runner the
 * Deno executable and a quoted argument string.
 *
 * The runner starts it as `env NO_COLOR=1 <deno> run …` (plain-text error messages in the
 * results; `env` is skipped if it is not on PATH).
 *
 * Sandbox flags: `--no-prompt` (a missing permission is an error, never a question),
 * `--no-config` (the node's working directory never changes the module's settings),
 * `--no-remote` and `--no-npm` (no code fetched at run time). Runtime params, when allowed,
 * become the module's arguments (`Deno.args`); they are placed after the module, so they can
 * never add Deno flags.
 *
 * When a unit fails, the tail of its output is searched for Deno's permission error
 * (`NotCapable: Requires read access to "/etc/passwd"`) and the status Detail becomes
 * `Permission denied: requires read access to "/etc/passwd" (exit status 1)`.
 *
 * Deno executable: `Deno.execPath()` when this program runs under `deno` (from source or a
 * bundle). A compiled `receptor` binary cannot run modules itself, so it uses
 * `$RECEPTOR_DENO`, else `deno` from PATH; without either, units fail to start.
 * @module
 */
import type { Logger, LogLevel } from "../log.ts";
import { type CommandUnitDeps, CommandUnitType } from "./command_unit.ts";
import { findOnPath } from "./proc_info.ts";
import { unitPaths, WorkState } from "./status_file.ts";
import type { UnitContext, WorkOpResult, WorkUnitType } from "./unit_type.ts";
import { delay } from "../util/delay.ts";
import { errorText } from "../util/error_text.ts";
import { bundleModule, checkGrantSymlinks } from "./deno_sandbox.ts";

/** File in a unit's directory that holds its bundled module. */
const BUNDLE_FILE = "module.bundle.js";

/** A `work-deno` section. */
export interface WorkDenoConfig {
  worktype: string;
  /** Path (relative to the node's working directory) or `file:` URL of the module. */
  module: string;
  allowread?: string[];
  allowwrite?: string[];
  allownet?: string[];
  allowenv?: string[];
  allowrun?: string[];
  allowruntimeparams?: boolean;
  verifysignature?: boolean;
}

/** How much of a failed unit's output is searched for a permission error. */
const TAIL_BYTES = 64 * 1024;
/** Poll period of the completion watcher (ms). */
const WATCH_MS = 100;

/**
 * The Deno executable for work units: this runtime when it is `deno`, else `$RECEPTOR_DENO`,
 * else `deno` on PATH, else the bare name `deno` (the runner then fails the unit).
 */
export function denoExecutable(): string {
  const exec = Deno.execPath();
  const base = exec.split("/").pop() ?? exec;
  if (base === "deno" || base === "deno.exe") return exec;
  const env = Deno.env.get("RECEPTOR_DENO");
  if (env) return env;
  return findOnPath("deno") ?? "deno";
}

/** Quote one argument for the runner's shlex splitting (google/shlex rules). */
export function shlexQuote(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  // '…' is literal; a single quote is written as "'" (inside "…" only \ and " are special).
  return arg.split("'").map((p) => `'${p}'`).join(`"'"`);
}

/** A module path or file URL as the specifier `deno run` gets (relative paths made absolute). */
export function moduleSpecifier(module: string, cwd = Deno.cwd()): string {
  if (/^file:/i.test(module)) return module;
  if (module.startsWith("/")) return module;
  return `${cwd.replace(/\/+$/, "")}/${module}`;
}

/** `deno run` arguments (before any runtime params) for a section. */
export function denoRunArgs(cfg: WorkDenoConfig, cwd = Deno.cwd()): string[] {
  const args = ["run", "--no-prompt", "--no-config", "--no-remote", "--no-npm"];
  const perm = (flag: string, list: string[] | undefined) => {
    const items = (list ?? []).filter((x) => x !== "");
    // Deno separates list items with commas; a literal comma is written twice.
    if (items.length) {
      args.push(`--allow-${flag}=${items.map((x) => x.replace(/,/g, ",,")).join(",")}`);
    }
  };
  perm("read", cfg.allowread);
  perm("write", cfg.allowwrite);
  perm("net", cfg.allownet);
  perm("env", cfg.allowenv);
  perm("run", cfg.allowrun);
  args.push(moduleSpecifier(cfg.module, cwd));
  return args;
}

// deno-lint-ignore no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;
const DENIED_RE =
  /(?:NotCapable|PermissionDenied): Requires (\S+) access(?: to ("[^"\n]*"|[^,\n]+))?(?:, run again with the (--allow-\S+) flag)?/g;

/**
 * Find the permission Deno refused in a module's output (the last such error, which is the
 * one that ended it): e.g. `requires read access to "/etc/passwd"`. Null if there is none.
 */
export function parseDeniedPermission(output: string): string | null {
  const text = output.replace(ANSI_RE, "");
  let last: RegExpExecArray | null = null;
  for (const m of text.matchAll(DENIED_RE)) last = m;
  if (!last) return null;
  return `requires ${last[1]} access${last[2] ? ` to ${last[2].trim()}` : ""}`;
}

async function readTail(path: string, max: number): Promise<string> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    const start = Math.max(0, size - max);
    await f.seek(start, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - start);
    let off = 0;
    while (off < buf.length) {
      const n = await f.read(buf.subarray(off));
      if (n === null) break;
      off += n;
    }
    return new TextDecoder().decode(buf.subarray(0, off));
  } finally {
    f.close();
  }
}

/** One configured `work-deno` type. */
export class DenoUnitType implements WorkUnitType {
  readonly name: string;
  readonly verifySignature: boolean;
  readonly advertise = true;
  readonly #inner: CommandUnitType;
  readonly #cfg: WorkDenoConfig;
  readonly #deno: string;
  /** Base params as allocated (running the configured module) ... */
  readonly #params: string;
  /** ... and how to build them for a unit's bundle instead. */
  readonly #paramsFor: (module: string) => string;

  constructor(cfg: WorkDenoConfig, deps: CommandUnitDeps, denoPath = denoExecutable()) {
    this.name = cfg.worktype;
    this.verifySignature = cfg.verifysignature ?? false;
    this.#cfg = cfg;
    this.#deno = denoPath;
    // Deno colours its error messages even into files; `env NO_COLOR=1` keeps results plain
    // (the runner passes the node's environment through unchanged otherwise).
    const env = findOnPath("env");
    this.#paramsFor = (module) => {
      const args = denoRunArgs({ ...cfg, module });
      return (env ? ["NO_COLOR=1", denoPath, ...args] : args).map(shlexQuote).join(" ");
    };
    this.#params = this.#paramsFor(cfg.module);
    this.#inner = new CommandUnitType({
      worktype: cfg.worktype,
      command: env ?? denoPath,
      params: this.#params,
      allowruntimeparams: cfg.allowruntimeparams ?? false,
      verifysignature: cfg.verifysignature ?? false,
    }, deps);
  }

  /** Runtime `params` (module arguments) only with `allowruntimeparams`. */
  allocate(params: Record<string, string>): unknown {
    return this.#inner.allocate(params);
  }

  /**
   * Check the grants for symlinks that lead out, bundle the module (refusing imports from
   * outside `allowread`), point the unit at the bundle, start the detached runner, then watch
   * for a permission failure. See deno_sandbox.ts.
   */
  async start(unit: UnitContext): Promise<void> {
    const bundle = `${unit.dir}/${BUNDLE_FILE}`;
    try {
      for (const kind of ["allowread", "allowwrite"] as const) {
        const bad = await checkGrantSymlinks(kind, this.#cfg[kind] ?? []);
        if (bad) throw new Error(bad);
      }
      await bundleModule(this.#deno, this.#cfg.module, bundle, this.#cfg.allowread ?? []);
    } catch (e) {
      const msg = errorText(e);
      unit.logger.warning(`[${unit.id}] work-deno sandbox refused the unit: ${msg}`);
      await unit.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = `Sandbox: ${msg}`;
        s.StdoutSize = 0;
      });
      throw new Error(`Sandbox: ${msg}`);
    }
    const bundled = this.#paramsFor(bundle);
    await unit.update((s) => {
      const ed = s.ExtraData as { Params?: unknown } | null;
      const p = ed && typeof ed.Params === "string" ? ed.Params : this.#params;
      const rest = p.startsWith(this.#params) ? p.slice(this.#params.length) : "";
      s.ExtraData = { ...(ed ?? {}), Params: bundled + rest };
    });
    await this.#inner.start(unit);
    this.#watch(unit);
  }

  /** Resume like a command unit; explain a failure that happened while we were down. */
  async restart(unit: UnitContext): Promise<void> {
    await this.#inner.restart(unit);
    this.#watch(unit);
  }

  /** As for command units. */
  cancel(unit: UnitContext): Promise<WorkOpResult> {
    return this.#inner.cancel(unit);
  }

  /** As for command units. */
  release(unit: UnitContext, force: boolean): Promise<WorkOpResult> {
    return this.#inner.release(unit, force);
  }

  /** Stop monitors; running modules keep running. */
  close(): void {
    this.#inner.close();
  }

  #watch(unit: UnitContext): void {
    (async () => {
      for (;;) {
        if (unit.signal.aborted) return;
        const s = await unit.load();
        if (s.State === WorkState.Failed) return await this.#explain(unit);
        if (s.State === WorkState.Succeeded || s.State === WorkState.Canceled) return;
        await delay(WATCH_MS, unit.signal);
      }
    })().catch((e) => unit.logger.debug(`[${unit.id}] deno unit watcher: ${errorText(e)}`));
  }

  async #explain(unit: UnitContext): Promise<void> {
    let tail: string;
    try {
      tail = await readTail(unitPaths(unit.dir).stdout, TAIL_BYTES);
    } catch {
      // no stdout to inspect: the runner's own Detail stands
      return;
    }
    const denied = parseDeniedPermission(tail);
    if (!denied) return;
    await unit.update((s) => {
      if (s.State !== WorkState.Failed || s.Detail.startsWith("Permission denied:")) return;
      s.Detail = `Permission denied: ${denied} (${s.Detail})`;
    });
  }
}

/** Build the shared runner dependencies for `work-deno` types (as the engine does for commands). */
export function denoUnitDeps(logger: Logger, logLevel?: () => LogLevel): CommandUnitDeps {
  const level = logLevel ?? (() => logger.level);
  return {
    logger,
    logLevel: level,
    runnerStdio: "inherit",
    monitorMs: 500,
    cancelWaitMs: 12_000,
  };
}
