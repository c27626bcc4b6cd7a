/**
 * Sans-IO WebSocket framing (RFC 6455 §5) for the `ws-listener`/`ws-peer` backends
 * (wire.md §2.3): frame encoding with optional client masking, and a decoder that reassembles
 * fragmented data messages (gorilla/websocket fragments above ~4 KiB) and surfaces control
 * frames (ping, pong, close). No extensions, no subprotocols, no compression.
 *
 * Bad input never throws out of the decoder: a protocol violation is reported once as a
 * `{ kind: "error" }` event carrying the close code to send, after which the decoder is dead.
 * @module
 */

import { concatBytes } from "../../util/bytes.ts";

/** WebSocket opcodes used here. */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close status codes used here. */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  tooBig: 1009,
} as const;

/** Default largest reassembled message the decoder accepts (gorilla has no limit). */
export const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;

/** Largest payload of a control frame (RFC 6455 §5.5). */
const MAX_CONTROL_PAYLOAD = 125;

/**
 * Encode one frame. `mask` (4 bytes) must be given by clients and omitted by servers.
 * Throws RangeError for control frames over 125 bytes (a programming error).
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  opts: { fin?: boolean; mask?: Uint8Array } = {},
): Uint8Array {
  const fin = opts.fin ?? true;
  if (opcode >= 0x8 && (payload.length > MAX_CONTROL_PAYLOAD || !fin)) {
    throw new RangeError(`control frame 0x${opcode.toString(16)} too long or fragmented`);
  }
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const maskBytes = opts.mask ? 4 : 0;
  const out = new Uint8Array(2 + lenBytes + maskBytes + n);
  out[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
  let p = 2;
  if (lenBytes === 0) {
    out[1] = n;
  } else if (lenBytes === 2) {
    out[1] = 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
    p = 4;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
    p = 10;
  }
  if (opts.mask) {
    if (opts.mask.length !== 4) throw new RangeError("mask must be 4 bytes");
    out[1] |= 0x80;
    out.set(opts.mask, p);
    p += 4;
    for (let i = 0; i < n; i++) out[p + i] = payload[i] ^ opts.mask[i & 3];
  } else {
    out.set(payload, p);
  }
  return out;
}

/** Payload of a close frame: 2-byte code then UTF-8 reason (truncated to fit 125 bytes). */
export function closePayload(code: number, reason = ""): Uint8Array {
  const r = new TextEncoder().encode(reason).subarray(0, MAX_CONTROL_PAYLOAD - 2);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** Something the decoder found in the byte stream. */
export type WsEvent =
  | { kind: "message"; binary: boolean; data: Uint8Array }
  | { kind: "ping"; data: Uint8Array }
  | { kind: "pong"; data: Uint8Array }
  | { kind: "close"; code: number | null; reason: string }
  | { kind: "error"; code: number; message: string };

/** A checked frame header: where the payload starts and how long it is. */
interface FrameHeader {
  fin: boolean;
  opcode: number;
  masked: boolean;
  len: number;
  payloadAt: number;
}

/** Options for {@link WsFrameDecoder}. */
export interface WsDecoderOptions {
  /** True on the server side: every incoming frame must be masked (clients' must not be). */
  expectMasked: boolean;
  /** Largest reassembled message; larger ones are a `tooBig` error. */
  maxMessage?: number;
}

/** Incremental frame decoder; feed bytes with {@link push}. */
export class WsFrameDecoder {
  #buf = new Uint8Array(0);
  #len = 0;
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  #fragmentOpcode = -1;
  #dead = false;
  readonly #expectMasked: boolean;
  readonly #max: number;

  constructor(opts: WsDecoderOptions) {
    this.#expectMasked = opts.expectMasked;
    this.#max = opts.maxMessage ?? DEFAULT_MAX_MESSAGE;
  }

  /** True after a close frame or a protocol error: further input is ignored. */
  get finished(): boolean {
    return this.#dead;
  }

  /** Feed received bytes; returns the events now complete, in order. */
  push(chunk: Uint8Array): WsEvent[] {
    if (this.#dead) return [];
    this.#append(chunk);
    const out: WsEvent[] = [];
    let pos = 0;
    while (!this.#dead) {
      const r = this.#frameAt(pos, out);
      if (r === 0) break;
      pos += r;
    }
    if (pos > 0) {
      this.#buf.copyWithin(0, pos, this.#len);
      this.#len -= pos;
    }
    return out;
  }

  #append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + chunk.length, 4096));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #fail(out: WsEvent[], code: number, message: string): number {
    this.#dead = true;
    this.#fragments = [];
    out.push({ kind: "error", code, message });
    return 0;
  }

  /** Decode one frame at `pos`; returns bytes consumed, or 0 if incomplete/dead. */
  #frameAt(pos: number, out: WsEvent[]): number {
    const h = this.#headerAt(pos, out);
    if (!h) return 0;
    const b = this.#buf;
    const { len, payloadAt } = h;
    if (this.#len - payloadAt < len) return 0;
    const payload = b.slice(payloadAt, payloadAt + len);
    if (h.masked) {
      const maskAt = payloadAt - 4;
      for (let i = 0; i < len; i++) payload[i] ^= b[maskAt + (i & 3)];
    }
    if (!this.#deliver(h.opcode, h.fin, payload, out)) return 0;
    return payloadAt + len - pos;
  }

  /**
   * Reads and checks the frame header at `pos` (flags, masking, length, limits). Returns
   * undefined when the header is incomplete or after reporting a protocol error.
   */
  #headerAt(pos: number, out: WsEvent[]): FrameHeader | undefined {
    const avail = this.#len - pos;
    if (avail < 2) return undefined;
    const b = this.#buf;
    const b0 = b[pos];
    const b1 = b[pos + 1];
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    if (b0 & 0x70) return void this.#fail(out, CLOSE_CODE.protocolError, "reserved bits set");
    if (masked !== this.#expectMasked) {
      return void this.#fail(
        out,
        CLOSE_CODE.protocolError,
        this.#expectMasked ? "client frame not masked" : "server frame masked",
      );
    }
    let len = b1 & 0x7f;
    let p = pos + 2;
    if (len === 126) {
      if (avail < 4) return undefined;
      len = (b[p] << 8) | b[p + 1];
      p += 2;
    } else if (len === 127) {
      if (avail < 10) return undefined;
      const big = new DataView(b.buffer, b.byteOffset + p, 8).getBigUint64(0);
      if (big > BigInt(this.#max)) {
        return void this.#fail(out, CLOSE_CODE.tooBig, `frame of ${big} bytes is too big`);
      }
      len = Number(big);
      p += 8;
    }
    const isControl = opcode >= 0x8;
    if (isControl && (len > MAX_CONTROL_PAYLOAD || !fin)) {
      return void this.#fail(out, CLOSE_CODE.protocolError, "control frame too long or fragmented");
    }
    if (!isControl && this.#fragmentBytes + len > this.#max) {
      return void this.#fail(out, CLOSE_CODE.tooBig, `message over ${this.#max} bytes`);
    }
    return { fin, opcode, masked, len, payloadAt: masked ? p + 4 : p };
  }

  /** Acts on one complete, unmasked frame; false after reporting a protocol error. */
  #deliver(opcode: number, fin: boolean, payload: Uint8Array, out: WsEvent[]): boolean {
    switch (opcode) {
      case OPCODE.continuation:
        return this.#continuation(fin, payload, out);
      case OPCODE.text:
      case OPCODE.binary:
        return this.#dataStart(opcode, fin, payload, out);
      case OPCODE.ping:
        out.push({ kind: "ping", data: payload });
        return true;
      case OPCODE.pong:
        out.push({ kind: "pong", data: payload });
        return true;
      case OPCODE.close:
        return this.#close(payload, out);
      default:
        this.#fail(out, CLOSE_CODE.protocolError, `unknown opcode 0x${opcode.toString(16)}`);
        return false;
    }
  }

  /** A text or binary frame: a whole message, or the first fragment of one. */
  #dataStart(opcode: number, fin: boolean, payload: Uint8Array, out: WsEvent[]): boolean {
    if (this.#fragmentOpcode >= 0) {
      this.#fail(out, CLOSE_CODE.protocolError, "new message inside a fragmented one");
      return false;
    }
    if (fin) {
      out.push({ kind: "message", binary: opcode === OPCODE.binary, data: payload });
    } else {
      this.#fragmentOpcode = opcode;
      this.#fragments = [payload];
      this.#fragmentBytes = payload.length;
    }
    return true;
  }

  /** A continuation frame: appended to the fragmented message, which `fin` completes. */
  #continuation(fin: boolean, payload: Uint8Array, out: WsEvent[]): boolean {
    if (this.#fragmentOpcode < 0) {
      this.#fail(out, CLOSE_CODE.protocolError, "continuation without a start frame");
      return false;
    }
    this.#fragments.push(payload);
    this.#fragmentBytes += payload.length;
    if (fin) {
      out.push({
        kind: "message",
        binary: this.#fragmentOpcode === OPCODE.binary,
        data: concatBytes(...this.#fragments),
      });
      this.#fragments = [];
      this.#fragmentBytes = 0;
      this.#fragmentOpcode = -1;
    }
    return true;
  }

  /** A close frame: reported once, after which the decoder is finished. */
  #close(payload: Uint8Array, out: WsEvent[]): boolean {
    const len = payload.length;
    if (len === 1) {
      this.#fail(out, CLOSE_CODE.protocolError, "close payload of 1 byte");
      return false;
    }
    const code = len >= 2 ? (payload[0] << 8) | payload[1] : null;
    const reason = len > 2 ? new TextDecoder().decode(payload.subarray(2)) : "";
    this.#dead = true;
    out.push({ kind: "close", code, reason });
    return true;
  }
}
