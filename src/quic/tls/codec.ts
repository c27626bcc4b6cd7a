/**
 * Byte reader/writer for TLS presentation-language structures (RFC 8446 §3): big-endian
 * integers and length-prefixed vectors. Reading past the end raises decode_error.
 * @module
 */
import { Alert, fail } from "./errors.ts";

/** Sequential reader over a byte slice; every overrun is a decode_error naming `where`. */
export class Reader {
  private pos = 0;
  /** Wraps `buf`; `where` names the structure being parsed (used in error messages). */
  constructor(private readonly buf: Uint8Array, private readonly where: string) {}

  /** Bytes not yet consumed. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Reads `n` raw bytes (a view, not a copy). */
  bytes(n: number): Uint8Array {
    if (n > this.remaining) {
      fail(Alert.decodeError, `${this.where}: truncated (need ${n} bytes, have ${this.remaining})`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a uint8. */
  u8(): number {
    return this.bytes(1)[0];
  }

  /** Reads a big-endian uint16. */
  u16(): number {
    const b = this.bytes(2);
    return (b[0] << 8) | b[1];
  }

  /** Reads a big-endian uint24. */
  u24(): number {
    const b = this.bytes(3);
    return (b[0] << 16) | (b[1] << 8) | b[2];
  }

  /** Reads a vector with a uint8 length prefix. */
  vec8(): Uint8Array {
    return this.bytes(this.u8());
  }

  /** Reads a vector with a uint16 length prefix. */
  vec16(): Uint8Array {
    return this.bytes(this.u16());
  }

  /** Reads a vector with a uint24 length prefix. */
  vec24(): Uint8Array {
    return this.bytes(this.u24());
  }

  /** Fails with decode_error unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) {
      fail(Alert.decodeError, `${this.where}: ${this.remaining} unexpected trailing bytes`);
    }
  }
}

/** Growable byte writer with length-prefixed vector helpers. */
export class Writer {
  private chunks: number[] = [];

  /** Appends a uint8. */
  u8(v: number): this {
    this.chunks.push(v & 0xff);
    return this;
  }

  /** Appends a big-endian uint16. */
  u16(v: number): this {
    this.chunks.push((v >> 8) & 0xff, v & 0xff);
    return this;
  }

  /** Appends a big-endian uint24. */
  u24(v: number): this {
    this.chunks.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    return this;
  }

  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]);
    return this;
  }

  /** Appends `b` with a uint8 length prefix. */
  vec8(b: Uint8Array): this {
    if (b.length > 0xff) throw new RangeError(`vector of ${b.length} bytes exceeds uint8 length`);
    return this.u8(b.length).bytes(b);
  }

  /** Appends `b` with a uint16 length prefix. */
  vec16(b: Uint8Array): this {
    if (b.length > 0xffff) {
      throw new RangeError(`vector of ${b.length} bytes exceeds uint16 length`);
    }
    return this.u16(b.length).bytes(b);
  }

  /** Appends `b` with a uint24 length prefix. */
  vec24(b: Uint8Array): this {
    if (b.length > 0xffffff) {
      throw new RangeError(`vector of ${b.length} bytes exceeds uint24 length`);
    }
    return this.u24(b.length).bytes(b);
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
