/**
 * HighwayHash-64 (Google's published algorithm, the portable form), written over 32-bit
 * halves so it needs no BigInt in the inner loop. Receptor hashes node IDs with it (zero key)
 * into the 8-byte from/to fields of data messages (wire.md §7.2).
 *
 * Lanes are stored as pairs of uint32 (`lo` at even index, `hi` at odd index).
 * @module
 */

const MUL0_INIT: readonly bigint[] = [
  0xdbe6d5d5fe4cce2fn,
  0xa4093822299f31d0n,
  0x13198a2e03707344n,
  0x243f6a8885a308d3n,
];
const MUL1_INIT: readonly bigint[] = [
  0x3bd39e10cb0ef593n,
  0xc0acf169b5f18a8cn,
  0xbe5466cf34e90c6cn,
  0x452821e638d01377n,
];

function lanesOf(values: readonly bigint[]): Uint32Array {
  const out = new Uint32Array(8);
  for (let i = 0; i < 4; i++) {
    out[2 * i] = Number(values[i] & 0xffffffffn);
    out[2 * i + 1] = Number(values[i] >> 32n);
  }
  return out;
}

const MUL0_LANES = lanesOf(MUL0_INIT);
const MUL1_LANES = lanesOf(MUL1_INIT);

/** Add (lo, hi) to lane `i` of `a` modulo 2^64. */
function add64(a: Uint32Array, i: number, lo: number, hi: number): void {
  const l = a[2 * i] + lo;
  a[2 * i] = l >>> 0;
  a[2 * i + 1] = (a[2 * i + 1] + hi + (l > 0xffffffff ? 1 : 0)) >>> 0;
}

/** XOR lane `i` of `a` with the 64-bit product of two uint32 values. */
function xorMul32(a: Uint32Array, i: number, x: number, y: number): void {
  const x0 = x & 0xffff, x1 = x >>> 16, y0 = y & 0xffff, y1 = y >>> 16;
  const mid = x0 * y1 + x1 * y0; // < 2^33, exact
  let lo = x0 * y0 + (mid % 0x10000) * 0x10000; // < 2^33, exact
  const hi = x1 * y1 + Math.floor(mid / 0x10000) + Math.floor(lo / 0x100000000);
  lo = lo % 0x100000000;
  a[2 * i] = (a[2 * i] ^ lo) >>> 0;
  a[2 * i + 1] = (a[2 * i + 1] ^ hi) >>> 0;
}

/** The 256-bit HighwayHash state. */
class State {
  v0 = new Uint32Array(8);
  v1 = new Uint32Array(8);
  mul0 = new Uint32Array(8);
  mul1 = new Uint32Array(8);

  constructor(key: Uint32Array) {
    this.mul0.set(MUL0_LANES);
    this.mul1.set(MUL1_LANES);
    for (let i = 0; i < 4; i++) {
      const klo = key[2 * i], khi = key[2 * i + 1];
      this.v0[2 * i] = (MUL0_LANES[2 * i] ^ klo) >>> 0;
      this.v0[2 * i + 1] = (MUL0_LANES[2 * i + 1] ^ khi) >>> 0;
      // v1 = mul1 ^ (key rotated by 32 bits)
      this.v1[2 * i] = (MUL1_LANES[2 * i] ^ khi) >>> 0;
      this.v1[2 * i + 1] = (MUL1_LANES[2 * i + 1] ^ klo) >>> 0;
    }
  }

  update(lanes: Uint32Array): void {
    const { v0, v1, mul0, mul1 } = this;
    for (let i = 0; i < 4; i++) {
      add64(v1, i, mul0[2 * i], mul0[2 * i + 1]);
      add64(v1, i, lanes[2 * i], lanes[2 * i + 1]);
      xorMul32(mul0, i, v1[2 * i], v0[2 * i + 1]);
      add64(v0, i, mul1[2 * i], mul1[2 * i + 1]);
      xorMul32(mul1, i, v0[2 * i], v1[2 * i + 1]);
    }
    zipperMergeAndAdd(v1, 0, v0, 0);
    zipperMergeAndAdd(v1, 2, v0, 2);
    zipperMergeAndAdd(v0, 0, v1, 0);
    zipperMergeAndAdd(v0, 2, v1, 2);
  }
}

/**
 * Reads lanes `src[j]` (as "v0") and `src[j+1]` (as "v1") and adds their byte shuffle into
 * `dst[j]` and `dst[j+1]`.
 */
function zipperMergeAndAdd(src: Uint32Array, j: number, dst: Uint32Array, k: number): void {
  const alo = src[2 * j], ahi = src[2 * j + 1];
  const blo = src[2 * j + 2], bhi = src[2 * j + 3];
  const a = (n: number) => n < 4 ? (alo >>> (8 * n)) & 0xff : (ahi >>> (8 * (n - 4))) & 0xff;
  const b = (n: number) => n < 4 ? (blo >>> (8 * n)) & 0xff : (bhi >>> (8 * (n - 4))) & 0xff;
  const add0lo = (a(3) | (b(4) << 8) | (a(2) << 16) | (a(5) << 24)) >>> 0;
  const add0hi = (b(6) | (a(1) << 8) | (b(7) << 16) | (a(0) << 24)) >>> 0;
  const add1lo = (b(3) | (a(4) << 8) | (b(2) << 16) | (b(5) << 24)) >>> 0;
  const add1hi = (b(1) | (a(6) << 8) | (b(0) << 16) | (a(7) << 24)) >>> 0;
  add64(dst, k, add0lo, add0hi);
  add64(dst, k + 1, add1lo, add1hi);
}

function readPacket(data: Uint8Array, off: number, lanes: Uint32Array): void {
  for (let i = 0; i < 8; i++) {
    const p = off + 4 * i;
    lanes[i] = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0;
  }
}

function rotl32(x: number, count: number): number {
  if (count === 0) return x >>> 0;
  return ((x << count) | (x >>> (32 - count))) >>> 0;
}

/** Parse a 32-byte key into lanes (four little-endian uint64 words). */
function keyLanes(key: Uint8Array): Uint32Array {
  if (key.length !== 32) throw new RangeError("HighwayHash key must be 32 bytes");
  const out = new Uint32Array(8);
  readPacket(key, 0, out);
  return out;
}

/**
 * HighwayHash-64 of `data` under a 32-byte key (four little-endian uint64 words).
 *
 * @example
 * ```ts
 * highwayHash64(new Uint8Array(0), new Uint8Array(32)); // 0x7035da75b9d54469n
 * ```
 */
export function highwayHash64(data: Uint8Array, key: Uint8Array): bigint {
  const st = new State(keyLanes(key));
  const lanes = new Uint32Array(8);
  const size = data.length;
  let i = 0;
  for (; i + 32 <= size; i += 32) {
    readPacket(data, i, lanes);
    st.update(lanes);
  }
  const mod32 = size & 31;
  if (mod32 !== 0) {
    for (let l = 0; l < 4; l++) add64(st.v0, l, mod32, mod32);
    for (let l = 0; l < 8; l++) st.v1[l] = rotl32(st.v1[l], mod32);
    const packet = new Uint8Array(32);
    const mod4 = mod32 & 3;
    const remStart = i + (mod32 & ~3);
    packet.set(data.subarray(i, remStart), 0);
    if (mod32 & 16) {
      for (let k = 0; k < 4; k++) packet[28 + k] = data[remStart + k + mod4 - 4];
    } else if (mod4 !== 0) {
      packet[16] = data[remStart];
      packet[17] = data[remStart + (mod4 >> 1)];
      packet[18] = data[remStart + mod4 - 1];
    }
    readPacket(packet, 0, lanes);
    st.update(lanes);
  }
  for (let r = 0; r < 4; r++) {
    const v0 = st.v0;
    // permuted = swap32 of v0[2], v0[3], v0[0], v0[1]
    lanes[0] = v0[5], lanes[1] = v0[4];
    lanes[2] = v0[7], lanes[3] = v0[6];
    lanes[4] = v0[1], lanes[5] = v0[0];
    lanes[6] = v0[3], lanes[7] = v0[2];
    st.update(lanes);
  }
  const sum = new Uint32Array(2);
  add64(sum, 0, st.v0[0], st.v0[1]);
  add64(sum, 0, st.v1[0], st.v1[1]);
  add64(sum, 0, st.mul0[0], st.mul0[1]);
  add64(sum, 0, st.mul1[0], st.mul1[1]);
  return (BigInt(sum[1]) << 32n) | BigInt(sum[0]);
}

const ZERO_KEY = new Uint8Array(32);
const utf8 = new TextEncoder();

/**
 * The node-name hash receptor puts on the wire: HighwayHash-64 of the UTF-8 bytes of `name`
 * with the all-zero key (uncached; see {@link NodeHashCache}).
 *
 * @example
 * ```ts
 * nodeHash("node1"); // 0x61052d2b582eb15en
 * ```
 */
export function nodeHash(name: string): bigint {
  return highwayHash64(utf8.encode(name), ZERO_KEY);
}

/** A bounded name → hash memo, so hot paths do not rehash node names. */
export class NodeHashCache {
  #map = new Map<string, bigint>();
  #max: number;
  /** `max` bounds the memo; it is cleared when full. */
  constructor(max = 4096) {
    this.#max = max;
  }
  /** The (memoised) {@link nodeHash} of `name`. */
  hash(name: string): bigint {
    let h = this.#map.get(name);
    if (h === undefined) {
      if (this.#map.size >= this.#max) this.#map.clear();
      h = nodeHash(name);
      this.#map.set(name, h);
    }
    return h;
  }
}
