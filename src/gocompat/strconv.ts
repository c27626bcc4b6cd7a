/**
 * The few Go `strconv`/`fmt` behaviours that receptor's v1 configuration exposes in values and
 * error messages: `strconv.ParseInt(s, 0, 64)`, `strconv.ParseFloat(s, 64)`, the cmdline
 * module's relaxed boolean parser, `%f` and `%s` formatting.
 * @module
 */

/** A value-conversion failure; `message` is the Go error text. */
export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConversionError";
  }
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

function quoteGo(s: string): string {
  return JSON.stringify(s);
}

/** Go's `underscoreOK`: underscores only between digits or after a base prefix. */
export function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "bBoOxX".includes(s[1])) {
    i = 2;
    saw = "0";
    hex = s[1] === "x" || s[1] === "X";
  }
  for (; i < s.length; i++) {
    const c = s[i];
    const lc = c.toLowerCase();
    if ((c >= "0" && c <= "9") || (hex && lc >= "a" && lc <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

/** Result of {@link goParseIntBig}: a value or a Go error kind. */
type IntResult = { ok: true; value: bigint } | { ok: false; reason: "syntax" | "range" };

/** `strconv.ParseUint(s, 0, 64)` returning a bigint or an error kind. */
export function goParseUintBig(s0: string): IntResult {
  if (s0 === "") return { ok: false, reason: "syntax" };
  let s = s0;
  let base = 10;
  if (s[0] === "0") {
    const p = s.length >= 3 ? s[1].toLowerCase() : "";
    if (p === "b") [base, s] = [2, s.slice(2)];
    else if (p === "o") [base, s] = [8, s.slice(2)];
    else if (p === "x") [base, s] = [16, s.slice(2)];
    else [base, s] = [8, s.slice(1)];
  }
  let underscores = false;
  let n = 0n;
  const B = BigInt(base);
  for (const c of s) {
    let d: number;
    const lc = c.toLowerCase();
    if (c === "_") {
      underscores = true;
      continue;
    } else if (c >= "0" && c <= "9") d = c.charCodeAt(0) - 48;
    else if (lc >= "a" && lc <= "z") d = lc.charCodeAt(0) - 87;
    else return { ok: false, reason: "syntax" };
    if (d >= base) return { ok: false, reason: "syntax" };
    n = n * B + BigInt(d);
    if (n > 18446744073709551615n) return { ok: false, reason: "range" };
  }
  if (underscores && !underscoreOK(s0)) return { ok: false, reason: "syntax" };
  return { ok: true, value: n };
}

/** `strconv.ParseInt(s, 0, 64)` returning a bigint or an error kind. */
export function goParseIntBig(s0: string): IntResult {
  if (s0 === "") return { ok: false, reason: "syntax" };
  let s = s0;
  let neg = false;
  if (s[0] === "+" || s[0] === "-") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  const r = goParseUintBig(s);
  if (!r.ok) return r;
  const v = neg ? -r.value : r.value;
  if (v > INT64_MAX || v < INT64_MIN) return { ok: false, reason: "range" };
  return { ok: true, value: v };
}

/** `strconv.ParseInt(s, 0, 64)` as a JS number; throws {@link ConversionError} with Go's text. */
export function goParseInt(s: string): number {
  const r = goParseIntBig(s);
  if (!r.ok) {
    throw new ConversionError(
      `strconv.ParseInt: parsing ${quoteGo(s)}: ${
        r.reason === "syntax" ? "invalid syntax" : "value out of range"
      }`,
    );
  }
  return Number(r.value);
}

const DEC_FLOAT = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+$/;

/** Parse a Go float literal, or return null on a syntax error (no range check). */
function goFloatValue(s: string): number | null {
  const lower = s.toLowerCase();
  let body = lower;
  let sign = 1;
  if (body[0] === "+" || body[0] === "-") {
    if (body[0] === "-") sign = -1;
    body = body.slice(1);
  }
  if (body === "inf" || body === "infinity") return sign * Infinity;
  if (lower === "nan") return NaN;
  if (DEC_FLOAT.test(s)) {
    if (s.includes("_") && !underscoreOK(s)) return null;
    const v = Number(s.replaceAll("_", ""));
    return Number.isNaN(v) ? null : v;
  }
  if (HEX_FLOAT.test(s)) {
    if (s.includes("_") && !underscoreOK(s)) return null;
    const t = body.replaceAll("_", "").slice(2);
    const [mant, exp] = t.split("p");
    const [ip, fp = ""] = mant.split(".");
    let v = 0;
    for (const ch of ip) v = v * 16 + parseInt(ch, 16);
    let scale = 1 / 16;
    for (const ch of fp) {
      v += parseInt(ch, 16) * scale;
      scale /= 16;
    }
    return sign * v * Math.pow(2, Number(exp));
  }
  return null;
}

/** `strconv.ParseFloat(s, 64)`; throws {@link ConversionError} with Go's text. */
export function goParseFloat(s: string): number {
  const v = goFloatValue(s);
  if (v === null) {
    throw new ConversionError(`strconv.ParseFloat: parsing ${quoteGo(s)}: invalid syntax`);
  }
  const lower = s.toLowerCase().replace(/^[+-]/, "");
  if (!Number.isFinite(v) && !Number.isNaN(v) && lower !== "inf" && lower !== "infinity") {
    throw new ConversionError(`strconv.ParseFloat: parsing ${quoteGo(s)}: value out of range`);
  }
  return v;
}

/** True when `s` parses as a Go float (used by the YAML resolver). */
export function isGoFloat(s: string): boolean {
  try {
    goParseFloat(s);
    return true;
  } catch {
    return false;
  }
}

/** The cmdline module's boolean parser (`betterParseBool`). */
export function goParseBool(s: string): boolean {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "Y":
    case "true":
    case "TRUE":
    case "True":
    case "yes":
    case "Yes":
    case "YES":
      return true;
    case "0":
    case "f":
    case "F":
    case "N":
    case "false":
    case "FALSE":
    case "False":
    case "no":
    case "No":
    case "NO":
      return false;
  }
  throw new ConversionError(`could not parse ${s} as boolean`);
}

/** Go `fmt.Sprintf("%f", x)`: six decimals, `+Inf`, `-Inf`, `NaN`. */
export function goFormatF(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  if (Math.abs(x) >= 1e21) {
    return (x < 0 ? "-" : "") + BigInt(Math.abs(x)).toString() + ".000000";
  }
  const s = x.toFixed(6);
  return Object.is(x, -0) ? "-" + s : s;
}

/** Go `%v` of a float64 (shortest representation, `e+21` style exponents). */
export function goFormatFloatV(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const [m, e] = x.toExponential().split("e");
    const n = Number(e);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(x);
}

/**
 * Go `fmt.Sprintf("%s", v)` for the dynamic values found in YAML/JSON (string, int as bigint,
 * float64 as number, bool, nil, lists, maps) — used inside upstream error messages.
 */
export function goSprintS(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "%!s(<nil>)";
  if (typeof v === "bigint") return `%!s(int=${v})`;
  if (typeof v === "number") return `%!s(float64=${goFormatFloatV(v)})`;
  if (typeof v === "boolean") return `%!s(bool=${v})`;
  if (Array.isArray(v)) return "[" + v.map(goSprintS).join(" ") + "]";
  if (v instanceof Map) {
    const items = [...v.entries()].map(([k, x]) => [goSprintS(k), goSprintS(x)]);
    items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return "map[" + items.map(([k, x]) => `${k}:${x}`).join(" ") + "]";
  }
  if (typeof v === "object") {
    const items = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, goSprintS(x)]);
    items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return "map[" + items.map(([k, x]) => `${k}:${x}`).join(" ") + "]";
  }
  return String(v);
}

/** Go `string(rune(i))`: the character with that code point, U+FFFD when invalid. */
export function goRuneString(i: bigint): string {
  const n = Number(i);
  if (n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return "\ufffd";
  return String.fromCodePoint(n);
}
