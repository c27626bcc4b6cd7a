/**
 * YAML reading with the semantics of Go's `gopkg.in/yaml.v2` (what receptor v1 uses): only the
 * first document, YAML 1.1 plain-scalar resolution (`yes`/`on`/`y` booleans, `0660` octal,
 * `0o17`, `0x1F`, `0b101`, `1_000`), timestamps and base-60 numbers kept as strings, anchors,
 * aliases, `<<` merge keys and duplicate keys (last wins). The `yaml` npm package does the
 * syntax; scalar resolution and conversion to values are ours.
 *
 * Values are {@link YValue}s: YAML ints are `bigint` (so an int and a float stay distinct, as
 * the field conversions need), floats are `number`, maps are `Map`s (keys may be non-strings).
 * @module
 */

import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  parseAllDocuments,
  type Scalar,
} from "yaml";
import { goParseIntBig, goParseUintBig, isGoFloat } from "../gocompat/strconv.ts";

/** A decoded YAML value: null, string, bool, int (bigint), float (number), list or map. */
export type YValue = null | string | boolean | bigint | number | YValue[] | YMap;
/** A decoded YAML map; keys are scalars (strings unless the YAML says otherwise). */
export type YMap = Map<YValue, YValue>;

/** A YAML syntax error; `message` starts with `yaml: ` like Go's. */
export class YamlSyntaxError extends Error {
  /** 1-based line of the problem, when known. */
  readonly line?: number;
  constructor(message: string, line?: number) {
    super(message);
    this.name = "YamlSyntaxError";
    this.line = line;
  }
}

const BOOL_NULL: Record<string, YValue> = {};
for (const s of ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]) {
  BOOL_NULL[s] = true;
}
for (const s of ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]) {
  BOOL_NULL[s] = false;
}
for (const s of ["", "~", "null", "Null", "NULL"]) BOOL_NULL[s] = null;
for (const s of [".nan", ".NaN", ".NAN"]) BOOL_NULL[s] = NaN;
for (const s of [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"]) BOOL_NULL[s] = Infinity;
for (const s of ["-.inf", "-.Inf", "-.INF"]) BOOL_NULL[s] = -Infinity;

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/**
 * Resolve an untagged plain scalar exactly as yaml.v2 does when decoding into `interface{}`.
 *
 * @example
 * resolvePlainScalar("0660"); // 432n
 * resolvePlainScalar("on");   // true
 * resolvePlainScalar("2001-12-14"); // "2001-12-14"
 */
export function resolvePlainScalar(s: string): YValue {
  if (Object.prototype.hasOwnProperty.call(BOOL_NULL, s)) return BOOL_NULL[s];
  const c = s[0];
  if (c === ".") {
    return isGoFloat(s) ? Number(s) : s;
  }
  if (c === "+" || c === "-" || (c >= "0" && c <= "9")) {
    const plain = s.replaceAll("_", "");
    const r = goParseIntBig(plain);
    if (r.ok) return r.value;
    // uint64 range: yaml.v2 keeps it an integer; we keep a bigint too.
    const u = goParseUintBig(plain);
    if (u.ok) return u.value;
    if (YAML_STYLE_FLOAT.test(plain) && isGoFloat(plain)) return Number(plain);
    return s;
  }
  return s;
}

const STR_TAG = "tag:yaml.org,2002:str";
const BINARY_TAG = "tag:yaml.org,2002:binary";
const RESOLVABLE = new Set([
  "tag:yaml.org,2002:int",
  "tag:yaml.org,2002:float",
  "tag:yaml.org,2002:bool",
  "tag:yaml.org,2002:null",
  "tag:yaml.org,2002:timestamp",
]);

function scalarValue(node: Scalar): YValue {
  const src = (node as Scalar & { source?: string }).source;
  const text = typeof src === "string"
    ? src
    : (node.value === null || node.value === undefined ? "" : String(node.value));
  const tag = node.tag;
  if (tag === BINARY_TAG && node.value instanceof Uint8Array) {
    let out = "";
    for (const b of node.value) out += String.fromCharCode(b);
    return out;
  }
  if (tag && tag !== STR_TAG && RESOLVABLE.has(tag)) return resolvePlainScalar(text);
  if (tag) return typeof node.value === "string" ? node.value : text;
  if (node.type === "PLAIN" || node.type === undefined) return resolvePlainScalar(text);
  return typeof node.value === "string" ? node.value : text;
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && !key.tag && key.type === "PLAIN" &&
    (key as Scalar & { source?: string }).source === "<<";
}

class Converter {
  #doc: Document;
  #active = new Set<Node>();
  constructor(doc: Document) {
    this.#doc = doc;
  }

  value(node: unknown): YValue {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (!target) throw new YamlSyntaxError(`yaml: unknown anchor '${node.source}' referenced`);
      return this.value(target);
    }
    if (isScalar(node)) return scalarValue(node);
    if (this.#active.has(node as Node)) {
      throw new YamlSyntaxError("yaml: anchor references itself");
    }
    this.#active.add(node as Node);
    try {
      if (isSeq(node)) return node.items.map((it) => this.value(it));
      if (isMap(node)) {
        const out: YMap = new Map();
        for (const pair of node.items) {
          if (!isPair(pair)) continue;
          if (isMergeKey(pair.key)) {
            this.#merge(pair.value, out);
            continue;
          }
          const k = this.value(pair.key);
          out.set(typeof k === "object" && k !== null ? String(k) : k, this.value(pair.value));
        }
        return out;
      }
    } finally {
      this.#active.delete(node as Node);
    }
    return null;
  }

  #merge(src: unknown, out: YMap): void {
    const resolved = isAlias(src) ? src.resolve(this.#doc) : src;
    if (isSeq(resolved)) {
      // earlier maps take precedence: apply in reverse order
      for (let i = resolved.items.length - 1; i >= 0; i--) this.#merge(resolved.items[i], out);
      return;
    }
    const v = this.value(src);
    if (!(v instanceof Map)) {
      throw new YamlSyntaxError(
        "yaml: map merge requires map or sequence of maps as the value",
      );
    }
    for (const [k, x] of v) out.set(k, x);
  }
}

/** Where in the text a node starts (1-based line), or 1. */
export function nodeLine(text: string, node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return 1;
  let line = 1;
  for (let i = 0; i < range[0] && i < text.length; i++) if (text[i] === "\n") line++;
  return line;
}

/** The first document of a YAML text: its decoded value and its top-level node. */
export interface FirstDocument {
  /** Decoded value (null for an empty document or an empty file). */
  value: YValue;
  /** Top-level AST node, for error positions (null when empty). */
  node: unknown;
}

/**
 * Parse YAML text like yaml.v2's `Unmarshal`: only the first document is used (later ones are
 * ignored even if malformed). Throws {@link YamlSyntaxError} on a syntax error.
 */
export function parseFirstDocument(text: string): FirstDocument {
  const docs = parseAllDocuments(text, {
    version: "1.1",
    uniqueKeys: false,
    merge: true,
    prettyErrors: true,
    strict: false,
  });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0) {
    const errs = (docs as { errors?: { message: string; linePos?: { line: number }[] }[] })
      .errors ?? [];
    if (errs.length > 0) throw yamlError(errs[0]);
    return { value: null, node: null };
  }
  const doc = list[0];
  if (doc.errors.length > 0) throw yamlError(doc.errors[0]);
  const node = doc.contents;
  return { value: new Converter(doc).value(node), node };
}

function yamlError(e: { message: string; linePos?: { line: number }[] }): YamlSyntaxError {
  const line = e.linePos?.[0]?.line;
  let msg = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  msg = msg.charAt(0).toLowerCase() + msg.slice(1);
  return new YamlSyntaxError(
    line !== undefined ? `yaml: line ${line}: ${msg}` : `yaml: ${msg}`,
    line,
  );
}
