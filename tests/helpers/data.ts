/**
 * Test data helpers shared by every test: a seeded PRNG, hex both ways and sha256 of bytes or
 * of a file.
 * @module
 */
import { createHash } from "node:crypto";

/** mulberry32: a small seeded PRNG returning floats in [0, 1); same seed, same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lower-case hex of `b`. */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Bytes of a hex string; whitespace (as in RFC test vectors) is ignored. */
export function fromHex(s: string): Uint8Array {
  const c = s.replace(/\s+/g, "");
  return Uint8Array.from((c.match(/../g) ?? []).map((h) => parseInt(h, 16)));
}

/** Hex sha256 of `b`. */
export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Hex sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  using f = await Deno.open(path);
  for await (const chunk of f.readable) h.update(chunk);
  return h.digest("hex");
}

/** One byte array holding `chunks` in order. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
