/**
 * Reload support (spec §4.6): remember every non-reloadable item of the first config file as a
 * normalised text (sorted keys; comments, spacing, string quoting and item order do not
 * matter; key spelling, value types and values do), and compare a new version of the file.
 * @module
 */

import { RELOADABLE_KINDS } from "./validate.ts";
import { parseFirstDocument, type YValue } from "./yaml_v1.ts";
import { errorText } from "../util/error_text.ts";

/** Go `strconv.FormatFloat(x, 'g', -1, 64)` (what yaml.v2 writes for floats). */
function goFormatG(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (x === Infinity) return ".inf";
  if (x === -Infinity) return "-.inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mant, e] = x.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 6) {
    return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return String(x);
}

function canon(v: YValue): string {
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return goFormatG(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return "[" + v.map(canon).join(", ") + "]";
  const items = [...v.entries()].map(([k, x]) => [canon(k), canon(x)] as const);
  items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return "{" + items.map(([k, x]) => `${k}: ${x}`).join(", ") + "}";
}

/** Normalised text of one top-level item and its action name. */
function itemText(item: YValue): { name: string; text: string } {
  if (typeof item === "string") return { name: item, text: item };
  if (item instanceof Map && item.size === 1) {
    const [k, v] = [...item.entries()][0];
    const name = typeof k === "string" ? k : canon(k);
    return { name, text: `${name}: ${canon(v)}` };
  }
  const text = canon(item);
  return { name: text.split(":")[0], text };
}

function isReloadable(name: string): boolean {
  return RELOADABLE_KINDS.some((k) => name.startsWith(k));
}

function items(fileText: string): YValue[] {
  const v = parseFirstDocument(fileText).value;
  if (v === null) return [];
  if (!Array.isArray(v)) {
    throw new Error(
      "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into []interface {}",
    );
  }
  return v;
}

/**
 * Normalised texts of every non-reloadable item of a config file (throws on YAML errors).
 *
 * @example
 * const remembered = nonReloadableFingerprints(Deno.readTextFileSync(reloadFile));
 */
export function nonReloadableFingerprints(fileText: string): Set<string> {
  const out = new Set<string>();
  for (const it of items(fileText)) {
    const { name, text } = itemText(it);
    if (!isReloadable(name)) out.add(text);
  }
  return out;
}

/** Result of {@link compareForReload}. */
export type ReloadComparison =
  | { ok: true }
  | {
    ok: false;
    /** 3 = non-reloadable change; 4 = the new file does not parse. */
    code: 3 | 4;
    /** Upstream's message, without the ` ERRORCODE n` suffix. */
    message: string;
    /** The full control-reply error text: `<message> ERRORCODE <code>`. */
    errorText: string;
  };

function fail(code: 3 | 4, message: string): ReloadComparison {
  return { ok: false, code, message, errorText: `${message} ERRORCODE ${code}` };
}

/**
 * Compare the remembered non-reloadable items with a new version of the file: an item not
 * remembered is "modified or added", a remembered item now missing is "removed".
 */
export function compareForReload(
  oldSet: ReadonlySet<string>,
  newFileText: string,
): ReloadComparison {
  let list: YValue[];
  try {
    list = items(newFileText);
  } catch (e) {
    return fail(4, errorText(e));
  }
  const seen = new Set<string>();
  for (const it of list) {
    const { name, text } = itemText(it);
    if (isReloadable(name)) continue;
    if (!oldSet.has(text)) {
      return fail(
        3,
        `a non-reloadable config action '${name}' was modified or added. Must restart receptor for these changes to take effect`,
      );
    }
    seen.add(text);
  }
  for (const text of oldSet) {
    if (!seen.has(text)) {
      const name = text.split(":")[0];
      return fail(
        3,
        `a non-reloadable config action '${name}' was removed. Must restart receptor for changes to take effect`,
      );
    }
  }
  return { ok: true };
}
