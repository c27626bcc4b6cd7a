/**
 * Converting a given value (YAML value or command-line string) into a field of a section,
 * reproducing the cmdline module's `setValue` rules and error texts (spec §1.5).
 * @module
 */

import {
  ConversionError,
  goFormatF,
  goParseBool,
  goParseFloat,
  goParseInt,
  goRuneString,
  goSprintS,
} from "../gocompat/strconv.ts";
import { type FieldSpec, type FieldType, goTypeName } from "./section_spec.ts";
import type { YMap, YValue } from "./yaml_v1.ts";
import { errorText } from "../util/error_text.ts";

/** A JSON-decoded value (numbers are Go float64). */
type JsonValue = null | string | number | boolean | JsonValue[] | { [k: string]: JsonValue };

/** Value stored for a field while collecting (before defaults). */
export type FieldValue =
  | string
  | number
  | boolean
  | string[]
  | null
  | Record<string, number>
  | Record<string, unknown>
  | YMap[];

function typeError(t: FieldType): ConversionError {
  return new ConversionError(`type error (expected ${goTypeName(t)})`);
}

function parseJson(s: string): JsonValue {
  try {
    return JSON.parse(s) as JsonValue;
  } catch (e) {
    const msg = errorText(e);
    if (/end of (JSON )?input|Unterminated/i.test(msg)) {
      throw new ConversionError("unexpected end of JSON input");
    }
    throw new ConversionError(`invalid JSON: ${msg}`);
  }
}

/** Convert a JS/YAML dynamic value to a string element/key (Go `ConvertibleTo(string)`). */
function toStringElem(v: unknown, what: "value" | "key"): string {
  if (typeof v === "string") return v;
  if (typeof v === "bigint") return goRuneString(v);
  throw new ConversionError(`invalid ${what} ${goSprintS(v)}: must be type string`);
}

function toFloatElem(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new ConversionError(`invalid value ${goSprintS(v)}: must be type float64`);
}

/** Plain-JS form of a YAML value for `map[string]interface{}` contents. */
export function yamlToPlain(v: unknown): unknown {
  if (typeof v === "bigint") {
    return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  }
  if (Array.isArray(v)) return v.map(yamlToPlain);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) {
      Object.defineProperty(o, String(k), {
        value: yamlToPlain(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  }
  return v;
}

function entriesOf(v: YMap | Record<string, JsonValue>): [unknown, unknown][] {
  return v instanceof Map ? [...v.entries()] : Object.entries(v);
}

function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function convertMap(field: FieldSpec, v: YMap | Record<string, JsonValue>): FieldValue {
  const out: Record<string, unknown> = {};
  for (const [k, x] of entriesOf(v)) {
    const key = toStringElem(k, "key");
    if (field.type === "floatmap") setOwn(out, key, toFloatElem(x));
    else {
      if (x === null || x === undefined) {
        throw new ConversionError(`invalid value <nil>: must be type interface {}`);
      }
      setOwn(out, key, yamlToPlain(x));
    }
  }
  return out as FieldValue;
}

function convertList(field: FieldSpec, items: unknown[]): FieldValue {
  if (field.type === "rules") {
    return items.map((it) => {
      if (it instanceof Map) return it;
      throw new ConversionError(
        `invalid value ${goSprintS(it)}: must be type netceptor.FirewallRuleData`,
      );
    });
  }
  return items.map((it) => toStringElem(it, "value"));
}

/**
 * Assign `value` to a field whose current value is `current`, returning the new value.
 * `value` is a YAML value (files) or a string (command line, defaults). Throws
 * {@link ConversionError} with upstream's text (`strconv.ParseInt: parsing "abc": invalid syntax`,
 * `could not parse off as boolean`, `type error (expected int)`, `value cannot be nil`).
 *
 * @example
 * setFieldValue({ goName: "Port", key: "port", type: "int" }, 0, "0x10"); // 16
 */
export function setFieldValue(field: FieldSpec, current: FieldValue, value: YValue): FieldValue {
  const t = field.type;
  const isList = t === "strings" || t === "rules";
  const isMap = t === "floatmap" || t === "anymap";
  if (value === null) {
    if (isList || isMap) return null;
    throw new ConversionError("value cannot be nil");
  }
  if (t === "string") {
    if (typeof value === "string") return value;
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "number") return goFormatF(value);
    if (typeof value === "boolean") return value ? "true" : "false";
    throw typeError(t);
  }
  // direct conversions (Go reflect ConvertibleTo)
  if (t === "int" && (typeof value === "bigint" || typeof value === "number")) {
    if (typeof value === "bigint") return Number(value);
    return Number.isFinite(value) ? Math.trunc(value) : 0;
  }
  if (t === "float" && (typeof value === "bigint" || typeof value === "number")) {
    return Number(value);
  }
  if (t === "bool" && typeof value === "boolean") return value;

  if (isMap) {
    if (value instanceof Map) return convertMap(field, value);
    if (typeof value === "string" && value.startsWith("{")) {
      const parsed = parseJson(value);
      if (parsed === null) return {} as FieldValue;
      if (typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new ConversionError(
          `json: cannot unmarshal ${
            Array.isArray(parsed) ? "array" : typeof parsed
          } into Go value of type ${goTypeName(t)}`,
        );
      }
      return convertMap(field, parsed);
    }
  }
  if (isList) {
    if (Array.isArray(value)) return convertList(field, value);
    if (typeof value === "string" && value.startsWith("[")) {
      const parsed = parseJson(value);
      if (parsed === null) return null;
      if (!Array.isArray(parsed)) {
        throw new ConversionError(
          `json: cannot unmarshal ${
            typeof parsed === "object" ? "object" : typeof parsed
          } into Go value of type ${goTypeName(t)}`,
        );
      }
      return convertList(field, parsed);
    }
  }
  if (typeof value === "string") {
    if (t === "int") return goParseInt(value);
    if (t === "float") return goParseFloat(value);
    if (t === "bool") return goParseBool(value);
    if (t === "strings") return [...((current as string[] | null) ?? []), value];
  }
  throw typeError(t);
}

/** The zero value of a field type (Go's zero value, before defaults). */
export function zeroValue(t: FieldType): FieldValue {
  switch (t) {
    case "string":
      return "";
    case "int":
    case "float":
      return 0;
    case "bool":
      return false;
    default:
      return null;
  }
}
