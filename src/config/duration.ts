/**
 * Go `time.ParseDuration` semantics, returning milliseconds. Used for configuration keys that
 * hold Go duration strings (`maxidleconnectiontimeout`, `tokenexpiration`, ...).
 * @module
 */

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // micro sign
  "\u03bcs": 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Largest duration Go can represent (int64 nanoseconds). */
const MAX_NS = 9223372036854775807n;

/** Error thrown by {@link parseGoDuration}; the message is Go's text. */
export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DurationError";
  }
}

/**
 * Parse a Go duration string (`300ms`, `-1.5h`, `1m30s`, `0`) into milliseconds.
 * Units: ns, us, µs, ms, s, m, h; fractions and sequences are allowed, a unit is required
 * except for a bare `0`. Throws {@link DurationError} with Go's message on bad input.
 *
 * @example
 * parseGoDuration("1m30s"); // 90000
 */
export function parseGoDuration(s: string): number {
  const orig = s;
  const quoted = JSON.stringify(orig);
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new DurationError(`time: invalid duration ${quoted}`);
  let totalNs = 0n;
  let totalFrac = 0; // fractional nanoseconds accumulated as a float
  while (s !== "") {
    // integer part
    let i = 0;
    while (i < s.length && s[i] >= "0" && s[i] <= "9") i++;
    const intPart = s.slice(0, i);
    s = s.slice(i);
    let fracPart = "";
    let sawDot = false;
    if (s[0] === ".") {
      sawDot = true;
      s = s.slice(1);
      let j = 0;
      while (j < s.length && s[j] >= "0" && s[j] <= "9") j++;
      fracPart = s.slice(0, j);
      s = s.slice(j);
    }
    if (intPart === "" && fracPart === "") {
      // no digits (e.g. ".s" or "s")
      throw new DurationError(`time: invalid duration ${quoted}`);
    }
    void sawDot;
    // unit
    let u = 0;
    while (u < s.length && s[u] !== "." && !(s[u] >= "0" && s[u] <= "9")) u++;
    if (u === 0) throw new DurationError(`time: missing unit in duration ${quoted}`);
    const unit = s.slice(0, u);
    s = s.slice(u);
    const scale = UNIT_NS[unit];
    if (scale === undefined) {
      throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    }
    const whole = BigInt(intPart === "" ? "0" : intPart) * BigInt(scale);
    if (whole > MAX_NS) throw new DurationError(`time: invalid duration ${quoted}`);
    totalNs += whole;
    if (fracPart !== "") totalFrac += Number("0." + fracPart) * scale;
    if (totalNs > MAX_NS) throw new DurationError(`time: invalid duration ${quoted}`);
  }
  const ns = Number(totalNs) + Math.floor(totalFrac);
  const ms = ns / 1e6;
  return neg ? -ms : ms;
}

/** Format milliseconds like Go's `time.Duration.String()` (`1m30s`, `500ms`, `0s`). */
export function formatGoDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return "0s";
  const neg = ns < 0;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1e9) {
    if (ns < 1e3) out = `${ns}ns`;
    else if (ns < 1e6) out = `${trimNum(ns / 1e3)}\u00b5s`;
    else out = `${trimNum(ns / 1e6)}ms`;
  } else {
    const h = Math.floor(ns / 3600e9);
    const rem = ns - h * 3600e9;
    const m = Math.floor(rem / 60e9);
    const sec = (rem - m * 60e9) / 1e9;
    out = "";
    if (h > 0) out += `${h}h`;
    if (h > 0 || m > 0) out += `${m}m`;
    out += `${trimNum(sec)}s`;
  }
  return neg ? "-" + out : out;
}

function trimNum(n: number): string {
  return String(Number(n.toFixed(9)));
}
