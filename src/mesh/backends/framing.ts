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

/** Reassembles whole messages from arbitrary chunks of a framed byte stream. */
export class FrameDecoder {
  #buf = new Uint8Array(0);
  #len = 0;

  /** Feed received bytes; returns every message now complete (empty frames are skipped). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#len + chunk.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + chunk.length, 4096));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
    const out: Uint8Array[] = [];
    let pos = 0;
    while (this.#len - pos >= 2) {
      const n = this.#buf[pos] | (this.#buf[pos + 1] << 8);
      if (this.#len - pos - 2 < n) break;
      if (n > 0) out.push(this.#buf.slice(pos + 2, pos + 2 + n));
      pos += 2 + n;
    }
    if (pos > 0) {
      this.#buf.copyWithin(0, pos, this.#len);
      this.#len -= pos;
    }
    return out;
  }

  /** Bytes buffered toward an incomplete message. */
  get pending(): number {
    return this.#len;
  }
}
