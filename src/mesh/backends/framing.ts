/**
 * Stream framing for TCP/TLS backends (wire.md §2.1): each netceptor message is a 2-byte
 * little-endian length followed by that many bytes. Empty and oversize messages are refused.
 * @module
 */

/** Largest message a 2-byte length can carry. */
export const MAX_FRAMED_MESSAGE = 65535;

/** Read buffer of a connection whose peer is not trusted yet (or idle): a few KiB at most. */
export const SMALL_READ_BUFFER = 2048;

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
 *
 * Two sizes: a small reader (the default, {@link SMALL_READ_BUFFER}) costs a few KiB while a
 * connection is idle or not yet trusted, growing only to fit a frame that has announced its
 * length and dropping back to the small size once that frame is handed out; {@link bulk}
 * switches to large buffers (many frames per read system call) once the peer is trusted.
 */
export class FrameReader {
  #base: number;
  /** Room below which a fresh buffer is started (bulk: one whole largest frame). */
  #minRoom: number;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;

  /**
   * `size` is the buffer size. Sizes above {@link SMALL_READ_BUFFER} are bulk readers (at least
   * twice the largest frame), as after {@link bulk}.
   */
  constructor(size = SMALL_READ_BUFFER) {
    if (size > SMALL_READ_BUFFER) {
      this.#base = Math.max(size, 2 * (MAX_FRAMED_MESSAGE + 2));
      this.#minRoom = MAX_FRAMED_MESSAGE + 2;
    } else {
      this.#base = Math.max(size, 64);
      this.#minRoom = Math.min(512, this.#base);
    }
    this.#buf = new Uint8Array(this.#base);
  }

  /** Use large buffers of `size` bytes from the next fresh buffer on (a trusted peer). */
  bulk(size = 256 * 1024): void {
    this.#base = Math.max(size, 2 * (MAX_FRAMED_MESSAGE + 2));
    this.#minRoom = MAX_FRAMED_MESSAGE + 2;
  }

  /** Bytes currently allocated for reading (what an idle connection costs here). */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * Where to read next. A fresh buffer is started when the room left is below the minimum or
   * the frame being received (its length known) cannot fit in the current one.
   */
  space(): Uint8Array {
    const pending = this.#end - this.#start;
    const need = pending >= 2
      ? 2 + (this.#buf[this.#start] | (this.#buf[this.#start + 1] << 8))
      : 0;
    const room = this.#buf.length - this.#end;
    if (room < this.#minRoom || this.#start + need > this.#buf.length) {
      const fresh = new Uint8Array(Math.max(this.#base, need, pending + this.#minRoom));
      fresh.set(this.#buf.subarray(this.#start, this.#end));
      this.#end = pending;
      this.#start = 0;
      this.#buf = fresh;
    } else if (pending === 0 && this.#buf.length > this.#base) {
      // a large frame was handed out: give its buffer back, drop to the usual size
      this.#buf = new Uint8Array(this.#base);
      this.#start = this.#end = 0;
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
