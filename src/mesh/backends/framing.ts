/**
 * Stream framing for TCP/TLS backends (wire.md §2.1): each netceptor message is a 2-byte
 * little-endian length followed by that many bytes. Empty and oversize messages are refused.
 * @module
 */

/** Largest message a 2-byte length can carry. */
export const MAX_FRAMED_MESSAGE = 65535;

/** Prefix `message` with its 2-byte LE length. Throws on empty or oversize messages. */
export function frameMessage(message: Uint8Array): Uint8Array {
  if (message.length === 0) throw new RangeError("refusing to send an empty message");
  if (message.length > MAX_FRAMED_MESSAGE) {
    throw new RangeError(`message of ${message.length} bytes exceeds ${MAX_FRAMED_MESSAGE}`);
  }
  const out = new Uint8Array(message.length + 2);
  out[0] = message.length & 0xff;
  out[1] = message.length >> 8;
  out.set(message, 2);
  return out;
}

/**
 * Writes `message` framed (2-byte LE length, then the bytes) into `out` at `pos`; returns the
 * position after it. The caller checks the length (1..65535) and that it fits.
 */
export function writeFramed(message: Uint8Array, out: Uint8Array, pos: number): number {
  out[pos] = message.length & 0xff;
  out[pos + 1] = message.length >> 8;
  out.set(message, pos + 2);
  return pos + 2 + message.length;
}

/** Reassembles whole messages from arbitrary chunks of a framed byte stream. */
export class FrameDecoder {
  #buf = new Uint8Array(0);
  #len = 0;

  /**
   * Feed received bytes; returns every message now complete (empty frames are skipped). Each
   * message is a fresh copy: `chunk` may be reused by the caller.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    if (this.#len > 0) {
      // finish the partial frame first, taking only what it needs from `chunk`
      if (this.#len < 2) {
        const take = Math.min(2 - this.#len, chunk.length);
        this.#append(chunk.subarray(0, take));
        pos = take;
        if (this.#len < 2) return out;
      }
      const n = this.#buf[0] | (this.#buf[1] << 8);
      const take = Math.min(n + 2 - this.#len, chunk.length - pos);
      this.#append(chunk.subarray(pos, pos + take));
      pos += take;
      if (this.#len < n + 2) return out;
      if (n > 0) out.push(this.#buf.slice(2, 2 + n));
      this.#len = 0;
    }
    // whole frames straight from `chunk`, without staging them in our buffer
    while (chunk.length - pos >= 2) {
      const n = chunk[pos] | (chunk[pos + 1] << 8);
      if (chunk.length - pos - 2 < n) break;
      if (n > 0) out.push(chunk.slice(pos + 2, pos + 2 + n));
      pos += 2 + n;
    }
    if (pos < chunk.length) this.#append(chunk.subarray(pos));
    return out;
  }

  #append(bytes: Uint8Array): void {
    if (this.#len + bytes.length > this.#buf.length) {
      const grown = new Uint8Array(
        Math.max(this.#buf.length * 2, this.#len + bytes.length, 4096),
      );
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** Bytes buffered toward an incomplete message. */
  get pending(): number {
    return this.#len;
  }
}

/**
 * Zero-copy reassembly for a read loop: the caller reads into {@link space} and reports the
 * count to {@link commit}, which returns complete messages as views of the buffer they arrived
 * in. Bytes handed out are never overwritten (a fresh buffer is started when room runs low),
 * so messages may be kept and modified — but each view pins its whole buffer: copy what is
 * kept for long. Empty frames are skipped.
 */
export class FrameReader {
  readonly #size: number;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;

  /** `size` is the buffer size; it must exceed twice the largest frame (default 256 KiB). */
  constructor(size = 256 * 1024) {
    this.#size = Math.max(size, 2 * (MAX_FRAMED_MESSAGE + 2));
    this.#buf = new Uint8Array(this.#size);
  }

  /** Where to read next: always room for at least one whole largest frame. */
  space(): Uint8Array {
    if (this.#size - this.#end < MAX_FRAMED_MESSAGE + 2) {
      const fresh = new Uint8Array(this.#size);
      fresh.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = fresh;
    }
    return this.#buf.subarray(this.#end);
  }

  /** `n` bytes were read into the last {@link space}; returns the messages now complete. */
  commit(n: number): Uint8Array[] {
    this.#end += n;
    const out: Uint8Array[] = [];
    const b = this.#buf;
    let pos = this.#start;
    while (this.#end - pos >= 2) {
      const len = b[pos] | (b[pos + 1] << 8);
      if (this.#end - pos - 2 < len) break;
      if (len > 0) out.push(b.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    this.#start = pos;
    return out;
  }

  /** Bytes buffered toward an incomplete message. */
  get pending(): number {
    return this.#end - this.#start;
  }
}
