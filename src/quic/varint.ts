/**
 * QUIC variable-length integers (RFC 9000 §16) and a small cursor-based byte reader/writer used by
 * every QUIC parser and encoder. Values are JS numbers (exact up to 2^53; larger values on the
 * wire are approximated, which only matters for limits near 2^62).
 * @module
 */
import { QuicError, TransportError } from "./errors.ts";

/** Encoded size in bytes (1, 2, 4 or 8) of `v` as a varint. */
export function varintSize(v: number): number {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

/** Reads big-endian fields and varints from a byte array; throws QuicError(FRAME_ENCODING) on underrun. */
export class Reader {
  /** Current read position. */
  pos: number;
  /** Underlying bytes. */
  readonly buf: Uint8Array;
  /** End (exclusive) of the readable region. */
  readonly end: number;
  /** Reads `buf` from `pos` up to `end`. */
  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos;
  }
  #need(n: number): void {
    if (this.pos + n > this.end) {
      throw new QuicError(
        TransportError.FRAME_ENCODING_ERROR,
        `truncated input: need ${n} bytes at ${this.pos}`,
      );
    }
  }
  /** One byte. */
  u8(): number {
    this.#need(1);
    return this.buf[this.pos++];
  }
  /** Big-endian 16-bit. */
  u16(): number {
    this.#need(2);
    const b = this.buf, p = this.pos;
    this.pos += 2;
    return (b[p] << 8) | b[p + 1];
  }
  /** Big-endian 24-bit. */
  u24(): number {
    this.#need(3);
    const b = this.buf, p = this.pos;
    this.pos += 3;
    return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
  }
  /** Big-endian 32-bit (unsigned). */
  u32(): number {
    this.#need(4);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }
  /** A QUIC varint. */
  varint(): number {
    this.#need(1);
    const b = this.buf;
    const first = b[this.pos];
    const len = 1 << (first >> 6);
    this.#need(len);
    const p = this.pos;
    this.pos += len;
    switch (len) {
      case 1:
        return first & 0x3f;
      case 2:
        return ((first & 0x3f) << 8) | b[p + 1];
      case 4:
        return (((first & 0x3f) << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
      default: {
        const hi = (((first & 0x3f) << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
        const lo = ((b[p + 4] << 24) >>> 0) + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
        return hi * 4294967296 + lo;
      }
    }
  }
  /** `n` bytes as a subarray (no copy). */
  bytes(n: number): Uint8Array {
    if (n < 0) {
      throw new QuicError(TransportError.FRAME_ENCODING_ERROR, `negative length at ${this.pos}`);
    }
    this.#need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Writes into a fixed buffer; the caller sizes it. Throws RangeError on overflow (a bug, not input). */
export class Writer {
  /** Current write position. */
  pos: number;
  /** Underlying buffer. */
  readonly buf: Uint8Array;
  /** Writes into `buf` starting at `pos`. */
  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }
  /** Bytes still free. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  /** One byte. */
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  /** Big-endian 16-bit. */
  u16(v: number): void {
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v;
  }
  /** Big-endian 32-bit. */
  u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = v >>> 16;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }
  /** A varint in its shortest form. */
  varint(v: number): void {
    this.varintSized(v, varintSize(v));
  }
  /** A varint in exactly `size` bytes (1, 2, 4 or 8). */
  varintSized(v: number, size: number): void {
    const b = this.buf;
    const p = this.pos;
    if (p + size > b.length) throw new RangeError("Writer overflow");
    switch (size) {
      case 1:
        b[p] = v;
        break;
      case 2:
        b[p] = 0x40 | (v >>> 8);
        b[p + 1] = v;
        break;
      case 4:
        b[p] = 0x80 | ((v >>> 24) & 0x3f);
        b[p + 1] = v >>> 16;
        b[p + 2] = v >>> 8;
        b[p + 3] = v;
        break;
      default: {
        const hi = Math.floor(v / 4294967296);
        const lo = v >>> 0;
        b[p] = 0xc0 | ((hi >>> 24) & 0x3f);
        b[p + 1] = hi >>> 16;
        b[p + 2] = hi >>> 8;
        b[p + 3] = hi;
        b[p + 4] = lo >>> 24;
        b[p + 5] = lo >>> 16;
        b[p + 6] = lo >>> 8;
        b[p + 7] = lo;
      }
    }
    this.pos = p + size;
  }
  /** Raw bytes. */
  bytes(d: Uint8Array): void {
    if (this.pos + d.length > this.buf.length) throw new RangeError("Writer overflow");
    this.buf.set(d, this.pos);
    this.pos += d.length;
  }
  /** The written prefix (a view). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
