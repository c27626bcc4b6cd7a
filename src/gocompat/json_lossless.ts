/**
 * JSON the way Go's encoding/json reads and writes it, as far as receptor's mesh messages need:
 * uint64 fields kept exact as BigInt, case-insensitive struct keys, struct fields emitted in
 * declaration order, map keys sorted, no whitespace, `<`, `>`, `&`, U+2028/U+2029 escaped,
 * floats in shortest round-trip form (wire.md §4).
 * @module
 */

/** A JSON number kept as its source text (used for uint64 fields, which exceed 2^53). */
export class RawNumber {
  /** `source` is the exact number literal from the JSON text. */
  constructor(readonly source: string) {}
}

/** A value produced by {@link parseJsonLossless}. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | RawNumber
  | JsonValue[]
  | { [key: string]: JsonValue };

interface ReviverContext {
  source?: string;
}

/**
 * Parse JSON text. Numbers under a key whose lower-cased name is in `rawKeys` become
 * {@link RawNumber} (at any depth: callers decide per field what they accept); others are
 * JS numbers. Throws `SyntaxError` on malformed JSON.
 *
 * @example
 * ```ts
 * const v = parseJsonLossless('{"UpdateEpoch":28991029249193046}', new Set(["updateepoch"]));
 * ```
 */
export function parseJsonLossless(text: string, rawKeys: ReadonlySet<string>): JsonValue {
  return JSON.parse(
    text,
    function (this: unknown, key: string, value: unknown, ctx?: ReviverContext) {
      if (typeof value === "number" && rawKeys.has(key.toLowerCase())) {
        return new RawNumber(ctx?.source ?? String(value));
      }
      return value;
    } as (this: unknown, key: string, value: unknown) => unknown,
  ) as JsonValue;
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Decode a uint64 as Go does: plain integer digits only (no sign, fraction or exponent),
 * at most 2^64−1. Returns undefined otherwise.
 */
export function toUint64(v: JsonValue): bigint | undefined {
  let src: string;
  if (v instanceof RawNumber) src = v.source;
  else if (typeof v === "number") src = String(v);
  else return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(src)) return undefined;
  const b = BigInt(src);
  return b <= MAX_U64 ? b : undefined;
}

/** Decode a float64 as Go does (finite numbers only). */
export function toFloat64(v: JsonValue): number | undefined {
  const n = v instanceof RawNumber ? Number(v.source) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/** True if `v` is a JSON object (not an array, not null). */
export function isJsonObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);
}

/**
 * Go-style struct field lookup: keys are matched case-insensitively and, when several input
 * keys fold to the same field, the last one in the text wins. Returns lower-cased key → value.
 */
export function foldKeys(obj: { [key: string]: JsonValue }): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  for (const [k, v] of Object.entries(obj)) out.set(k.toLowerCase(), v);
  return out;
}

const ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JSON string literal as Go's encoder writes it. */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c]);
}

/**
 * A float64 as Go writes it: shortest round-trip digits, exponent form below 1e-6 and from
 * 1e21 on (the same thresholds as JavaScript's `String(number)`).
 */
export function goJsonFloat(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`cannot encode ${n} as JSON`);
  return String(n);
}

/** A value {@link encodeGoJson} can write; `Map` = Go map (sorted keys), object = struct. */
export type GoJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | GoJsonValue[]
  | Map<string, GoJsonValue>
  | { [key: string]: GoJsonValue };

/**
 * Encode like Go's `json.Marshal`: plain objects keep their key order (struct fields), `Map`s
 * are written with keys sorted, bigints as integer digits, no whitespace.
 *
 * @example
 * ```ts
 * encodeGoJson({ A: 1n, B: new Map([["z", 1.5], ["a", 1]]) }); // {"A":1,"B":{"a":1,"z":1.5}}
 * ```
 */
export function encodeGoJson(v: GoJsonValue): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      return goJsonFloat(v);
    case "bigint":
      return v.toString();
    case "string":
      return goJsonString(v);
  }
  if (Array.isArray(v)) return "[" + v.map(encodeGoJson).join(",") + "]";
  if (v instanceof Map) {
    const keys = [...v.keys()].sort(compareUtf8);
    return "{" + keys.map((k) => goJsonString(k) + ":" + encodeGoJson(v.get(k)!)).join(",") +
      "}";
  }
  return "{" +
    Object.entries(v).map(([k, x]) => goJsonString(k) + ":" + encodeGoJson(x)).join(",") + "}";
}

/** Compare strings by UTF-8 byte order (Go's map key order). */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : 1;
}
