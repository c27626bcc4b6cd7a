/**
 * One clock, passed in, never global. The shells (MeshNode, the QUIC driver, the work engine)
 * read time through a {@link Clock} and hand it to the sans-IO cores as `now`, so tests drive
 * everything with a {@link FakeClock}.
 * @module
 */

/** A source of monotonic milliseconds and wall-clock time. */
export interface Clock {
  /** Monotonic milliseconds (arbitrary origin). */
  now(): number;
  /** Wall-clock time as a Date (for timestamps that go on the wire). */
  wallNow(): Date;
}

/** The real clock: `performance.now()` and `Date`. */
export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => new Date(),
};

/** A clock that only moves when told to; for deterministic tests of sans-IO cores. */
export class FakeClock implements Clock {
  #now: number;
  #wallOrigin: number;
  constructor(startMs = 0, wallOriginMs = Date.UTC(2024, 9, 4)) {
    this.#now = startMs;
    this.#wallOrigin = wallOriginMs;
  }
  /** Current fake monotonic time in ms. */
  now(): number {
    return this.#now;
  }
  /** Wall time = origin + elapsed fake time. */
  wallNow(): Date {
    return new Date(this.#wallOrigin + this.#now);
  }
  /** Move time forward by `ms`. */
  advance(ms: number): void {
    this.#now += ms;
  }
  /** Jump to an absolute fake time (never backwards). */
  set(ms: number): void {
    if (ms > this.#now) this.#now = ms;
  }
}

/**
 * Wall-clock milliseconds with sub-millisecond detail where the platform has it (Go writes
 * nanoseconds in ad `Time` and `Expiration`): `Date.now()`'s millisecond plus the fraction
 * of the high-resolution clock when both agree to within 1 ms; else whole milliseconds.
 */
export function preciseWallMs(): number {
  const ms = Date.now();
  const hr = performance.timeOrigin + performance.now();
  if (!(Math.abs(hr - ms) < 1)) return ms;
  return ms + (hr - Math.floor(hr));
}

/** Milliseconds (possibly fractional) since the epoch as integer nanoseconds. */
export function msToNs(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1e6));
}
