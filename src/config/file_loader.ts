/**
 * Loading one v1 YAML configuration file into section instances (spec §1.1–1.3, §1.9): a list
 * of plain strings or one-key maps; errors carry upstream's text plus the file name.
 * @module
 */

import { ConversionError } from "../gocompat/strconv.ts";
import { ConfigError } from "./errors.ts";
import { assignField, newRawSection, type RawSection, requiredMessage } from "./raw_section.ts";
import { sectionSpec } from "./schema.ts";
import { bareField, fieldSpec } from "./section_spec.ts";
import { nodeLine, parseFirstDocument, YamlSyntaxError, type YValue } from "./yaml_v1.ts";
import { errorText } from "../util/error_text.ts";

/** Reads a file as text; throws like `Deno.readTextFileSync`. */
export type ReadFile = (path: string) => string;

/** Default file reader. */
export const defaultReadFile: ReadFile = (path) => Deno.readTextFileSync(path);

/** Go's `os.ReadFile` error text for a failed read. */
export function osReadErrorText(path: string, e: unknown): string {
  const code = (e as { code?: string }).code;
  if (e instanceof Deno.errors.NotFound || code === "ENOENT") {
    return `open ${path}: no such file or directory`;
  }
  if (e instanceof Deno.errors.PermissionDenied || code === "EACCES") {
    return `open ${path}: permission denied`;
  }
  if (e instanceof Deno.errors.IsADirectory || code === "EISDIR") {
    return `read ${path}: is a directory`;
  }
  return `open ${path}: ${errorText(e)}`;
}

function shortValue(v: YValue): [string, string] {
  if (typeof v === "string") return ["!!str", v];
  if (typeof v === "bigint") return ["!!int", v.toString()];
  if (typeof v === "number") return ["!!float", String(v)];
  if (typeof v === "boolean") return ["!!bool", String(v)];
  return ["!!str", String(v)];
}

/**
 * Parse the text of a config file into section instances. `file` names the file in errors
 * and becomes each instance's `source`.
 */
export function loadConfigText(text: string, file: string): RawSection[] {
  const err: ErrAt = (msg, section, field) =>
    new ConfigError(msg, { file, section, field, origin: "file" });
  let doc;
  try {
    doc = parseFirstDocument(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw err(e.message);
    throw e;
  }
  const top = doc.value;
  if (top === null) return [];
  if (!Array.isArray(top)) {
    const line = nodeLine(text, doc.node);
    let what: string;
    if (top instanceof Map) what = "!!map";
    else {
      const [tag, val] = shortValue(top);
      what = `${tag} \`${val.length > 10 ? val.slice(0, 7) + "..." : val}\``;
    }
    throw err(
      `yaml: unmarshal errors:\n  line ${line}: cannot unmarshal ${what} into []interface {}`,
    );
  }
  const out: RawSection[] = [];
  for (const item of top) {
    const { command, spec, entries } = parseItem(item, err);
    if (spec.singleton && out.some((r) => r.spec === spec)) {
      throw err(`only one ${command} directive is allowed`, command);
    }
    const raw = newRawSection(spec, file, file);
    for (const [k, v] of entries) {
      const fld = fieldSpec(spec, k);
      if (!fld) {
        throw err(
          `field ${k} not defined for command ${command}: unknown field name ${k}`,
          command,
          k,
        );
      }
      try {
        assignField(raw, fld, v);
      } catch (e) {
        if (e instanceof ConversionError) {
          throw err(`error setting field ${k} in command ${command}: ${e.message}`, command, k);
        }
        throw e;
      }
    }
    const missing = requiredMessage(raw);
    if (missing) throw err(`error in ${command}: ${missing}`, command);
    out.push(raw);
  }
  return out;
}

/** Builds a located config error (message, section, field). */
type ErrAt = (msg: string, section?: string, field?: string) => ConfigError;

/**
 * One item of the top-level list: a bare section name, or a one-key map from the name to a
 * bare value or a map of fields. Returns its section spec and its fields in file order.
 */
function parseItem(
  item: YValue,
  err: ErrAt,
): {
  command: string;
  spec: NonNullable<ReturnType<typeof sectionSpec>>;
  entries: [string, YValue][];
} {
  let command: string;
  let params: YValue;
  if (typeof item === "string") {
    command = item;
    params = null;
  } else if (item instanceof Map) {
    if (item.size !== 1) throw err("config format invalid: item has multiple names");
    const [k, v] = [...item.entries()][0];
    if (typeof k !== "string") throw err("section key is not a string");
    command = k;
    params = v;
  } else {
    throw err("unknown config file format");
  }
  const spec = sectionSpec(command);
  if (!spec) {
    throw err(
      `could not get config type for command ${command}: unknown config type ${command}`,
      command,
    );
  }
  const entries: [string, YValue][] = [];
  if (params !== null) {
    if (typeof params === "string") {
      const bare = bareField(spec);
      if (!bare) {
        throw err(
          `could not get barevalue for command ${command}: command does not allow bare values`,
          command,
        );
      }
      entries.push([bare.goName, params]);
    } else if (params instanceof Map) {
      for (const [k, v] of params) {
        if (typeof k !== "string") throw err(`invalid config format for ${command}`, command);
        entries.push([k, v]);
      }
    } else {
      throw err(`invalid config format for ${command}`, command);
    }
  }
  return { command, spec, entries };
}

/** Read and parse a config file; read failures become upstream's `open <path>: ...` errors. */
export function loadConfigFile(path: string, readFile: ReadFile = defaultReadFile): RawSection[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(osReadErrorText(path, e), { file: path, origin: "file" });
  }
  return loadConfigText(text, path);
}
