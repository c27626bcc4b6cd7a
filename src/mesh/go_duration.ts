/**
 * Go's `time.Duration.String()` text, used by the control service's ping and traceroute
 * replies (`TimeStr`).
 * @module
 */

function fmtFrac(v: bigint, prec: number): string {
  const p = 10n ** BigInt(prec);
  const whole = v / p;
  const frac = (v % p).toString().padStart(prec, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/**
 * Format nanoseconds the way Go prints a `time.Duration`.
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
