/**
 * Go `time.Time` JSON text (RFC 3339 with up to nanosecond precision) as used in service
 * advertisements (wire.md §6.1): parsing to exact nanoseconds, and Go's `RFC3339Nano` output
 * (fraction with trailing zeros trimmed, `Z` for a zero offset, `±hh:mm` otherwise).
 * @module
 */

/** An instant with nanosecond precision plus the zone offset it was written in. */
export interface GoTime {
  /** Nanoseconds since 1970-01-01T00:00:00Z. */
  unixNs: bigint;
  /** Offset from UTC in seconds (east positive). */
  offsetSec: number;
}

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  return daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - daysFromCivil(y, m, 1);
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parse RFC 3339 text as Go's `time.Time.UnmarshalJSON` does. Returns undefined when the text
 * is not a valid timestamp.
 *
 * @example
 * ```ts
 * parseGoTime("2024-10-04T00:00:00.5Z"); // { unixNs: 1728000000500000000n, offsetSec: 0 }
 * ```
 */
export function parseGoTime(text: string): GoTime | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  let offsetSec = 0;
  if (!m[8]) {
    const oh = Number(m[10]), om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetSec = (oh * 3600 + om * 60) * (m[9] === "-" ? -1 : 1);
  }
  const frac = m[7] ? BigInt(m[7].padEnd(9, "0")) : 0n;
  const secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offsetSec;
  return { unixNs: BigInt(secs) * 1_000_000_000n + frac, offsetSec };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * Format as Go's `time.RFC3339Nano` (what `json.Marshal` of a `time.Time` writes, minus quotes).
 *
 * @example
 * ```ts
 * formatGoTime({ unixNs: 1728000000500000000n, offsetSec: 0 }); // "2024-10-04T00:00:00.5Z"
 * ```
 */
export function formatGoTime(t: GoTime): string {
  const localNs = t.unixNs + BigInt(t.offsetSec) * 1_000_000_000n;
  let secs = localNs / 1_000_000_000n;
  let frac = localNs % 1_000_000_000n;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    secs -= 1n;
  }
  const s = Number(secs);
  const days = Math.floor(s / 86400);
  const sod = s - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  let out = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(Math.floor(sod / 3600))}:` +
    `${pad(Math.floor(sod / 60) % 60)}:${pad(sod % 60)}`;
  if (frac !== 0n) out += "." + frac.toString().padStart(9, "0").replace(/0+$/, "");
  if (t.offsetSec === 0) return out + "Z";
  const off = Math.abs(t.offsetSec);
  return out + (t.offsetSec < 0 ? "-" : "+") + pad(Math.floor(off / 3600)) + ":" +
    pad(Math.floor(off / 60) % 60);
}

/**
 * A {@link GoTime} for a wall-clock instant given in nanoseconds since the Unix epoch, in the
 * process's local zone (as Go's `time.Now()` prints).
 */
export function localGoTime(unixNs: bigint): GoTime {
  const ms = Number(unixNs / 1_000_000n);
  return { unixNs, offsetSec: -new Date(ms).getTimezoneOffset() * 60 };
}
