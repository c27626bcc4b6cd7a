/**
 * QUIC v1 frames (RFC 9000 §19): a typed union, a parser over a packet payload and encoders that
 * write straight into a packet buffer.
 * @module
 */
import { QuicError, TransportError } from "./errors.ts";
import type { RangeSet } from "./range_set.ts";
import { Reader, varintSize, Writer } from "./varint.ts";

/** Frame type numbers (RFC 9000 §19), as {@link parseFrame} matches them. */
export const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  ACK_ECN: 0x03,
  RESET_STREAM: 0x04,
  STOP_SENDING: 0x05,
  CRYPTO: 0x06,
  NEW_TOKEN: 0x07,
  STREAM: 0x08,
  MAX_DATA: 0x10,
  MAX_STREAM_DATA: 0x11,
  MAX_STREAMS_BIDI: 0x12,
  MAX_STREAMS_UNI: 0x13,
  DATA_BLOCKED: 0x14,
  STREAM_DATA_BLOCKED: 0x15,
  STREAMS_BLOCKED_BIDI: 0x16,
  STREAMS_BLOCKED_UNI: 0x17,
  NEW_CONNECTION_ID: 0x18,
  RETIRE_CONNECTION_ID: 0x19,
  PATH_CHALLENGE: 0x1a,
  PATH_RESPONSE: 0x1b,
  CONNECTION_CLOSE: 0x1c,
  CONNECTION_CLOSE_APP: 0x1d,
  HANDSHAKE_DONE: 0x1e,
} as const;

/** One decoded frame. ACK ranges are [smallest, largest] pairs, largest range first. */
export type Frame =
  | { type: "padding"; length: number }
  | { type: "ping" }
  | {
    type: "ack";
    largest: number;
    delay: number;
    ranges: Array<[number, number]>;
    ecn?: [number, number, number];
  }
  | { type: "reset_stream"; id: number; code: number; finalSize: number }
  | { type: "stop_sending"; id: number; code: number }
  | { type: "crypto"; offset: number; data: Uint8Array }
  | { type: "new_token"; token: Uint8Array }
  | { type: "stream"; id: number; offset: number; data: Uint8Array; fin: boolean }
  | { type: "max_data"; max: number }
  | { type: "max_stream_data"; id: number; max: number }
  | { type: "max_streams"; bidi: boolean; max: number }
  | { type: "data_blocked"; limit: number }
  | { type: "stream_data_blocked"; id: number; limit: number }
  | { type: "streams_blocked"; bidi: boolean; limit: number }
  | {
    type: "new_connection_id";
    seq: number;
    retirePriorTo: number;
    cid: Uint8Array;
    resetToken: Uint8Array;
  }
  | { type: "retire_connection_id"; seq: number }
  | { type: "path_challenge"; data: Uint8Array }
  | { type: "path_response"; data: Uint8Array }
  | {
    type: "connection_close";
    isApplication: boolean;
    code: number;
    frameType: number;
    reason: string;
  }
  | { type: "handshake_done" };

const dec = new TextDecoder("utf-8", { fatal: false });
const enc = new TextEncoder();

function fail(msg: string, ft: number): never {
  throw new QuicError(TransportError.FRAME_ENCODING_ERROR, msg, false, ft);
}

/**
 * Parses all frames in a decrypted payload. Throws QuicError(FRAME_ENCODING_ERROR) on malformed
 * input; callers turn that into a connection close.
 */
export function parseFrames(payload: Uint8Array): Frame[] {
  const r = new Reader(payload);
  const out: Frame[] = [];
  while (r.remaining > 0) out.push(parseFrame(r));
  return out;
}

/** Parses one frame at the reader's position. */
export function parseFrame(r: Reader): Frame {
  const ft = r.varint();
  try {
    if (ft >= 0x08 && ft <= 0x0f) {
      const id = r.varint();
      const offset = ft & 0x04 ? r.varint() : 0;
      const len = ft & 0x02 ? r.varint() : r.remaining;
      const data = r.bytes(len);
      if (offset + len > 2 ** 62) fail("stream offset too large", ft);
      return { type: "stream", id, offset, data, fin: (ft & 0x01) !== 0 };
    }
    switch (ft) {
      case FrameType.PADDING: {
        let n = 1;
        while (r.remaining > 0 && r.buf[r.pos] === 0) {
          r.pos++;
          n++;
        }
        return { type: "padding", length: n };
      }
      case FrameType.PING:
        return { type: "ping" };
      case FrameType.ACK:
      case FrameType.ACK_ECN: {
        const largest = r.varint();
        const delay = r.varint();
        const count = r.varint();
        const first = r.varint();
        if (first > largest) fail("ACK first range below zero", ft);
        const ranges: Array<[number, number]> = [[largest - first, largest]];
        let smallest = largest - first;
        for (let i = 0; i < count; i++) {
          const gap = r.varint();
          const len = r.varint();
          const hi = smallest - gap - 2;
          const lo = hi - len;
          if (lo < 0) fail("ACK range below zero", ft);
          ranges.push([lo, hi]);
          smallest = lo;
        }
        const f: Frame = { type: "ack", largest, delay, ranges };
        if (ft === 0x03) f.ecn = [r.varint(), r.varint(), r.varint()];
        return f;
      }
      case FrameType.RESET_STREAM:
        return { type: "reset_stream", id: r.varint(), code: r.varint(), finalSize: r.varint() };
      case FrameType.STOP_SENDING:
        return { type: "stop_sending", id: r.varint(), code: r.varint() };
      case FrameType.CRYPTO: {
        const offset = r.varint();
        const data = r.bytes(r.varint());
        return { type: "crypto", offset, data };
      }
      case FrameType.NEW_TOKEN: {
        const len = r.varint();
        if (len === 0) fail("empty NEW_TOKEN", ft);
        return { type: "new_token", token: r.bytes(len) };
      }
      case FrameType.MAX_DATA:
        return { type: "max_data", max: r.varint() };
      case FrameType.MAX_STREAM_DATA:
        return { type: "max_stream_data", id: r.varint(), max: r.varint() };
      case FrameType.MAX_STREAMS_BIDI:
      case FrameType.MAX_STREAMS_UNI: {
        const max = r.varint();
        if (max > 2 ** 60) fail("MAX_STREAMS above 2^60", ft);
        return { type: "max_streams", bidi: ft === 0x12, max };
      }
      case FrameType.DATA_BLOCKED:
        return { type: "data_blocked", limit: r.varint() };
      case FrameType.STREAM_DATA_BLOCKED:
        return { type: "stream_data_blocked", id: r.varint(), limit: r.varint() };
      case FrameType.STREAMS_BLOCKED_BIDI:
      case FrameType.STREAMS_BLOCKED_UNI: {
        const limit = r.varint();
        if (limit > 2 ** 60) fail("STREAMS_BLOCKED above 2^60", ft);
        return { type: "streams_blocked", bidi: ft === 0x16, limit };
      }
      case FrameType.NEW_CONNECTION_ID: {
        const seq = r.varint();
        const retirePriorTo = r.varint();
        const len = r.u8();
        if (len < 1 || len > 20) fail("bad connection ID length", ft);
        if (retirePriorTo > seq) fail("retire_prior_to above sequence", ft);
        const cid = r.bytes(len);
        const resetToken = r.bytes(16);
        return { type: "new_connection_id", seq, retirePriorTo, cid, resetToken };
      }
      case FrameType.RETIRE_CONNECTION_ID:
        return { type: "retire_connection_id", seq: r.varint() };
      case FrameType.PATH_CHALLENGE:
        return { type: "path_challenge", data: r.bytes(8) };
      case FrameType.PATH_RESPONSE:
        return { type: "path_response", data: r.bytes(8) };
      case FrameType.CONNECTION_CLOSE:
      case FrameType.CONNECTION_CLOSE_APP: {
        const code = r.varint();
        const frameType = ft === 0x1c ? r.varint() : 0;
        const reason = dec.decode(r.bytes(r.varint()));
        return { type: "connection_close", isApplication: ft === 0x1d, code, frameType, reason };
      }
      case FrameType.HANDSHAKE_DONE:
        return { type: "handshake_done" };
      default:
        fail(`unknown frame type 0x${ft.toString(16)}`, ft);
    }
  } catch (e) {
    if (e instanceof QuicError && e.frameType === 0) {
      throw new QuicError(e.code, `${e.message} (frame 0x${ft.toString(16)})`, false, ft);
    }
    throw e;
  }
}

/** Encodes any frame (used for control frames and tests; hot paths use the specialised writers). */
export function encodeFrame(w: Writer, f: Frame): void {
  switch (f.type) {
    case "padding":
      for (let i = 0; i < f.length; i++) w.u8(0);
      return;
    case "ping":
      return w.u8(0x01);
    case "ack": {
      w.u8(f.ecn ? 0x03 : 0x02);
      w.varint(f.largest);
      w.varint(f.delay);
      w.varint(f.ranges.length - 1);
      w.varint(f.ranges[0][1] - f.ranges[0][0]);
      let smallest = f.ranges[0][0];
      for (let i = 1; i < f.ranges.length; i++) {
        const [lo, hi] = f.ranges[i];
        w.varint(smallest - hi - 2);
        w.varint(hi - lo);
        smallest = lo;
      }
      if (f.ecn) f.ecn.forEach((v) => w.varint(v));
      return;
    }
    case "reset_stream":
      w.u8(0x04);
      w.varint(f.id);
      w.varint(f.code);
      w.varint(f.finalSize);
      return;
    case "stop_sending":
      w.u8(0x05);
      w.varint(f.id);
      w.varint(f.code);
      return;
    case "crypto":
      w.u8(0x06);
      w.varint(f.offset);
      w.varint(f.data.length);
      w.bytes(f.data);
      return;
    case "new_token":
      w.u8(0x07);
      w.varint(f.token.length);
      w.bytes(f.token);
      return;
    case "stream":
      writeStreamHeader(w, f.id, f.offset, f.data.length, f.fin);
      w.bytes(f.data);
      return;
    case "max_data":
      w.u8(0x10);
      w.varint(f.max);
      return;
    case "max_stream_data":
      w.u8(0x11);
      w.varint(f.id);
      w.varint(f.max);
      return;
    case "max_streams":
      w.u8(f.bidi ? 0x12 : 0x13);
      w.varint(f.max);
      return;
    case "data_blocked":
      w.u8(0x14);
      w.varint(f.limit);
      return;
    case "stream_data_blocked":
      w.u8(0x15);
      w.varint(f.id);
      w.varint(f.limit);
      return;
    case "streams_blocked":
      w.u8(f.bidi ? 0x16 : 0x17);
      w.varint(f.limit);
      return;
    case "new_connection_id":
      w.u8(0x18);
      w.varint(f.seq);
      w.varint(f.retirePriorTo);
      w.u8(f.cid.length);
      w.bytes(f.cid);
      w.bytes(f.resetToken);
      return;
    case "retire_connection_id":
      w.u8(0x19);
      w.varint(f.seq);
      return;
    case "path_challenge":
    case "path_response":
      w.u8(f.type === "path_challenge" ? 0x1a : 0x1b);
      w.bytes(f.data);
      return;
    case "connection_close": {
      const reason = enc.encode(f.reason);
      w.u8(f.isApplication ? 0x1d : 0x1c);
      w.varint(f.code);
      if (!f.isApplication) w.varint(f.frameType);
      w.varint(reason.length);
      w.bytes(reason);
      return;
    }
    case "handshake_done":
      w.u8(0x1e);
      return;
  }
}

/** Size of a STREAM frame header (type, id, offset, 2-byte length). */
export function streamHeaderSize(id: number, offset: number, len: number): number {
  return 1 + varintSize(id) + (offset ? varintSize(offset) : 0) + varintSize(len);
}

/** Writes a STREAM frame header with explicit length (and offset if non-zero). */
export function writeStreamHeader(
  w: Writer,
  id: number,
  offset: number,
  len: number,
  fin: boolean,
): void {
  w.u8(0x08 | (offset ? 0x04 : 0) | 0x02 | (fin ? 1 : 0));
  w.varint(id);
  if (offset) w.varint(offset);
  w.varint(len);
}

/**
 * Writes an ACK frame for `received` (largest ranges first) using at most `budget` bytes.
 * Returns false (writing nothing) if not even the first range fits.
 */
export function writeAckFrame(
  w: Writer,
  received: RangeSet,
  delay: number,
  budget: number,
): boolean {
  const n = received.length;
  if (n === 0) return false;
  const st = received.starts, en = received.ends;
  const largest = en[n - 1] - 1;
  const first = largest - st[n - 1];
  let size = 1 + varintSize(largest) + varintSize(delay) + 1 + varintSize(first);
  if (size > budget) return false;
  let count = 0;
  let smallest = st[n - 1];
  for (let i = n - 2; i >= 0 && count < 62; i--) {
    const hi = en[i] - 1, lo = st[i];
    const add = varintSize(smallest - hi - 2) + varintSize(hi - lo);
    if (size + add > budget) break;
    size += add;
    count++;
    smallest = lo;
  }
  w.u8(0x02);
  w.varint(largest);
  w.varint(delay);
  w.varint(count);
  w.varint(first);
  smallest = st[n - 1];
  for (let i = n - 2, k = 0; k < count; i--, k++) {
    const hi = en[i] - 1, lo = st[i];
    w.varint(smallest - hi - 2);
    w.varint(hi - lo);
    smallest = lo;
  }
  return true;
}
