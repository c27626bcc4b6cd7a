/**
 * Random identifiers for the mesh: update IDs and ephemeral service names (8 characters from
 * `[0-9a-zA-Z]`, uniform, wire.md §5.1 and §10), and epochs (wire.md §5.2).
 * @module
 */

/** A source of random bytes (crypto-strength in production, seeded in tests). */
export type RandomSource = (n: number) => Uint8Array;

/** The default source: WebCrypto. */
export const cryptoRandom: RandomSource = (n) => crypto.getRandomValues(new Uint8Array(n));

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** `len` characters drawn uniformly from `[0-9a-zA-Z]` (rejection sampling). */
export function randomString(random: RandomSource, len = 8): string {
  let out = "";
  while (out.length < len) {
    for (const b of random(len * 2)) {
      if (b >= 248) continue; // 248 = 4 × 62: keeps the draw uniform
      out += ALPHABET[b % 62];
      if (out.length === len) break;
    }
  }
  return out;
}

/** A fresh epoch: `unix_seconds × 2^24 + random(0 … 2^24−1)`. */
export function makeEpoch(wallMs: number, random: RandomSource): bigint {
  const r = random(3);
  const low = (r[0] << 16) | (r[1] << 8) | r[2];
  return BigInt(Math.floor(wallMs / 1000)) * (1n << 24n) + BigInt(low);
}

/** A deterministic xorshift-based source, for tests. */
export function seededRandom(seed: number): RandomSource {
  let s = (seed >>> 0) || 0x9e3779b9;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}
