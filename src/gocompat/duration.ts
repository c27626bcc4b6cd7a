/**
 * Go `time.Duration` text both ways: {@link parseGoDuration} (Go `time.ParseDuration`, returning
 * MILLISECONDS, for configuration keys such as `maxidleconnectiontimeout`) and
 * {@link formatGoDuration} (Go `Duration.String()`, taking NANOSECONDS as Go does).
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

function fmtFrac(v: bigint, prec: number): string {
  const p = 10n ** BigInt(prec);
  const whole = v / p;
  const frac = (v % p).toString().padStart(prec, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/**
 * Format a duration in NANOSECONDS the way Go prints a `time.Duration` (`1m30s`, `500ms`, `0s`).
 * Millisecond values go through `msToNs` (src/clock.ts) first.
 *
 * @example
 * ```ts
 * formatGoDuration(1_500_000_000n); // "1.5s"
 * formatGoDuration(123_400_000_000n); // "2m3.4s"
 * formatGoDuration(850_123n); // "850.123µs"
 * formatGoDuration(0n); // "0s"
 * ```
 */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  const u = ns < 0n ? -ns : ns;
  if (u < 1000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${fmtFrac(u, 3)}µs`;
  if (u < 1_000_000_000n) return `${sign}${fmtFrac(u, 6)}ms`;
  let out = fmtFrac(u % 60_000_000_000n, 9) + "s";
  const mins = u / 60_000_000_000n;
  if (mins > 0n) {
    out = `${mins % 60n}m` + out;
    const hours = mins / 60n;
    if (hours > 0n) out = `${hours}h` + out;
  }
  return sign + out;
}
