/**
 * Minimal DER reader and writer (tag-length-value) used by the certificate code: correct long-form
 * lengths of any size, OIDs, INTEGERs, BIT STRINGs and X.509 times. Not a crypto primitive: only
 * byte layout. Readers throw {@link DerError} naming what was being parsed.
 * @module
 */

import { concatBytes } from "../util/bytes.ts";

/** Thrown when DER input is malformed. */
export class DerError extends Error {
  override name = "DerError";
}

/** One parsed TLV element. `raw` is the whole element (header + content). */
export interface Tlv {
  /** Full identifier octet (class, constructed bit and low tag number); high tag numbers unsupported. */
  tag: number;
  /** Content octets. */
  content: Uint8Array;
  /** The whole element, header included. */
  raw: Uint8Array;
}

/** Universal / context tag constants used here. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Read one TLV at `offset` of `buf`; `what` names the thing for error messages. */
export function readTlv(buf: Uint8Array, offset: number, what: string): Tlv & { end: number } {
  if (offset + 2 > buf.length) throw new DerError(`${what}: truncated DER header`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: high tag numbers are not supported`);
  let len = buf[offset + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`${what}: indefinite length is not DER`);
    if (n > 4) throw new DerError(`${what}: length too large`);
    if (offset + 2 + n > buf.length) throw new DerError(`${what}: truncated DER length`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
    if (buf[offset + 2] === 0 || len < 0x80) {
      throw new DerError(`${what}: non-minimal DER length`);
    }
    hdr = 2 + n;
  }
  const start = offset + hdr;
  const end = start + len;
  if (end > buf.length) throw new DerError(`${what}: DER content runs past the end of the data`);
  return { tag, content: buf.subarray(start, end), raw: buf.subarray(offset, end), end };
}

/** Parse exactly one element spanning all of `buf`, optionally requiring a tag. */
export function parseOne(buf: Uint8Array, what: string, tag?: number): Tlv {
  const t = readTlv(buf, 0, what);
  if (t.end !== buf.length) throw new DerError(`${what}: trailing data after DER element`);
  if (tag !== undefined && t.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${hex2(tag)}, got 0x${hex2(t.tag)}`);
  }
  return t;
}

/** Split the content of a constructed element into its child elements. */
export function children(content: Uint8Array, what: string): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < content.length) {
    const t = readTlv(content, off, what);
    out.push({ tag: t.tag, content: t.content, raw: t.raw });
    off = t.end;
  }
  return out;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** Encode a DER length (short or long form, any size). */
export function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encode one TLV element from its tag and content parts. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content);
  return concatBytes(Uint8Array.of(tag), encodeLength(body.length), body);
}

/** SEQUENCE of the given encoded elements. */
export function seq(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.SEQUENCE, ...items);
}

/** SET of the given encoded elements (caller orders them). */
export function set(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.SET, ...items);
}

/** Encode an OBJECT IDENTIFIER from dotted text. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map((s) => {
    if (!/^\d+$/.test(s)) throw new DerError(`bad OID ${oid}`);
    return BigInt(s);
  });
  if (arcs.length < 2) throw new DerError(`bad OID ${oid}`);
  const out: number[] = [];
  const push = (v: bigint) => {
    const groups: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** Decode OBJECT IDENTIFIER content octets to dotted text. */
export function decodeOid(content: Uint8Array, what = "OID"): string {
  if (content.length === 0) throw new DerError(`${what}: empty OID`);
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < content.length; i++) {
    v = (v << 7n) | BigInt(content[i] & 0x7f);
    if (!(content[i] & 0x80)) {
      arcs.push(v);
      v = 0n;
    } else if (i === content.length - 1) throw new DerError(`${what}: truncated OID`);
  }
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  const second = arcs[0] - first * 40n;
  return [first, second, ...arcs.slice(1)].join(".");
}

/** Encode a non-negative INTEGER from a bigint (minimal two's complement). */
export function encodeUnsignedInteger(v: bigint): Uint8Array {
  if (v < 0n) throw new DerError("negative INTEGER not supported here");
  const bytes: number[] = [];
  for (let x = v; x > 0n; x >>= 8n) bytes.unshift(Number(x & 0xffn));
  if (bytes.length === 0 || bytes[0] & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

/** Decode INTEGER content octets as a (possibly negative) bigint. */
export function decodeInteger(content: Uint8Array): bigint {
  let v = 0n;
  for (const b of content) v = (v << 8n) | BigInt(b);
  if (content.length > 0 && content[0] & 0x80) v -= 1n << BigInt(content.length * 8);
  return v;
}

/** BIT STRING with zero unused bits around `bytes`. */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

/** Encode an X.509 Time like Go: UTCTime for years 1950–2049, else GeneralizedTime (seconds). */
export function encodeTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}` +
    `${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) {
    return tlv(TAG.UTC_TIME, new TextEncoder().encode(p(y % 100) + rest));
  }
  return tlv(TAG.GENERALIZED_TIME, new TextEncoder().encode(p(y, 4) + rest));
}

/** Decode a UTCTime or GeneralizedTime element. */
export function decodeTime(t: Tlv, what: string): Date {
  const s = new TextDecoder().decode(t.content);
  let m: RegExpMatchArray | null;
  let year: number;
  if (t.tag === TAG.UTC_TIME) {
    m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/);
    if (!m) throw new DerError(`${what}: bad UTCTime ${JSON.stringify(s)}`);
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    m = s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/);
    if (!m) throw new DerError(`${what}: bad GeneralizedTime ${JSON.stringify(s)}`);
    year = Number(m[1]);
  } else {
    throw new DerError(`${what}: not a time (tag 0x${hex2(t.tag)})`);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6] ?? "0"), 0);
  return d;
}

/** Constant-independent byte equality (for non-secret data). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
