/**
 * QUIC v1 packet headers (RFC 9000 §17): parsing the unprotected parts of long and short headers
 * out of a datagram (which may hold several coalesced packets), writing headers, and packet
 * number encoding/decoding (RFC 9000 §17.1, Appendix A).
 * @module
 */
import { Reader, type Writer } from "./varint.ts";

/** QUIC version 1. */
export const QUIC_V1 = 0x00000001;

/** Packet types we distinguish. */
export type PacketType =
  | "initial"
  | "0rtt"
  | "handshake"
  | "retry"
  | "short"
  | "version_negotiation";

/** A parsed (still protected) packet header. */
export interface PacketHeader {
  /** Packet type. */
  type: PacketType;
  /** Version (0 for short headers). */
  version: number;
  /** Destination connection ID. */
  dcid: Uint8Array;
  /** Source connection ID (empty for short headers). */
  scid: Uint8Array;
  /** Initial token or Retry token. */
  token: Uint8Array;
  /** Offset of the packet number field within the datagram. */
  pnOffset: number;
  /** Offset where this packet starts within the datagram. */
  start: number;
  /** Offset just past this packet within the datagram. */
  end: number;
}

/** Why a header could not be parsed. */
export type HeaderParseFailure = "short" | "fixed_bit" | "unsupported_version" | "bad_length";

/**
 * Parses the header of the packet starting at `offset` in `dgram`. `localCidLen` is the length of
 * our connection IDs (used for short headers). Returns a failure reason string for undecodable
 * input; never throws.
 */
export function parseHeader(
  dgram: Uint8Array,
  offset: number,
  localCidLen: number,
): PacketHeader | HeaderParseFailure {
  try {
    const r = new Reader(dgram, offset);
    const first = r.u8();
    if (first & 0x80) {
      const version = r.u32();
      const dcidLen = r.u8();
      if (dcidLen > 20 && version === QUIC_V1) return "bad_length";
      const dcid = r.bytes(dcidLen);
      const scidLen = r.u8();
      if (scidLen > 20 && version === QUIC_V1) return "bad_length";
      const scid = r.bytes(scidLen);
      if (version === 0) {
        return {
          type: "version_negotiation",
          version,
          dcid,
          scid,
          token: new Uint8Array(0),
          pnOffset: r.pos,
          start: offset,
          end: dgram.length,
        };
      }
      if (version !== QUIC_V1) {
        return "unsupported_version";
      }
      if (!(first & 0x40)) return "fixed_bit";
      const t = (first >> 4) & 3;
      if (t === 3) {
        const token = r.bytes(r.remaining - 16);
        return {
          type: "retry",
          version,
          dcid,
          scid,
          token,
          pnOffset: r.pos,
          start: offset,
          end: dgram.length,
        };
      }
      let token: Uint8Array = new Uint8Array(0);
      if (t === 0) token = r.bytes(r.varint());
      const length = r.varint();
      const pnOffset = r.pos;
      if (pnOffset + length > dgram.length) return "bad_length";
      return {
        type: t === 0 ? "initial" : t === 1 ? "0rtt" : "handshake",
        version,
        dcid,
        scid,
        token,
        pnOffset,
        start: offset,
        end: pnOffset + length,
      };
    }
    if (!(first & 0x40)) return "fixed_bit";
    const dcid = r.bytes(localCidLen);
    return {
      type: "short",
      version: 0,
      dcid,
      scid: new Uint8Array(0),
      token: new Uint8Array(0),
      pnOffset: r.pos,
      start: offset,
      end: dgram.length,
    };
  } catch {
    return "short";
  }
}

/** Recovers a full packet number from its truncated form (RFC 9000 Appendix A.3). */
export function decodePacketNumber(largest: number, truncated: number, pnLen: number): number {
  const expected = largest + 1;
  const win = 2 ** (pnLen * 8);
  const hwin = win / 2;
  const candidate = expected - (expected % win) + truncated; // (expected & ~mask) | truncated
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

/** Bytes (1..4) needed to encode `pn` given the largest acknowledged packet number (-1 if none). */
export function packetNumberLength(pn: number, largestAcked: number): number {
  const unacked = largestAcked < 0 ? pn + 1 : pn - largestAcked;
  const need = unacked * 2;
  if (need < 0x100) return 1;
  if (need < 0x10000) return 2;
  if (need < 0x1000000) return 3;
  return 4;
}

/** Writes `pnLen` low-order bytes of `pn`. */
export function writePacketNumber(w: Writer, pn: number, pnLen: number): void {
  for (let i = pnLen - 1; i >= 0; i--) w.u8(Math.floor(pn / 2 ** (8 * i)) & 0xff);
}

const LONG_TYPE: Record<string, number> = { initial: 0, "0rtt": 1, handshake: 2, retry: 3 };

/**
 * Writes a long header up to (and including) a 2-byte Length placeholder and the packet number.
 * Returns the offsets of the Length field and of the packet number.
 */
export function writeLongHeader(
  w: Writer,
  type: "initial" | "handshake",
  dcid: Uint8Array,
  scid: Uint8Array,
  token: Uint8Array | undefined,
  pn: number,
  pnLen: number,
): { lengthOffset: number; pnOffset: number } {
  w.u8(0xc0 | (LONG_TYPE[type] << 4) | (pnLen - 1));
  w.u32(QUIC_V1);
  w.u8(dcid.length);
  w.bytes(dcid);
  w.u8(scid.length);
  w.bytes(scid);
  if (type === "initial") {
    const t = token ?? new Uint8Array(0);
    w.varint(t.length);
    w.bytes(t);
  }
  const lengthOffset = w.pos;
  w.u16(0x4000);
  const pnOffset = w.pos;
  writePacketNumber(w, pn, pnLen);
  return { lengthOffset, pnOffset };
}

/** Writes a short (1-RTT) header; returns the packet number offset. */
export function writeShortHeader(
  w: Writer,
  dcid: Uint8Array,
  keyPhase: number,
  pn: number,
  pnLen: number,
): number {
  w.u8(0x40 | (keyPhase << 2) | (pnLen - 1));
  w.bytes(dcid);
  const pnOffset = w.pos;
  writePacketNumber(w, pn, pnLen);
  return pnOffset;
}
