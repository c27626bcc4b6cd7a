/**
 * TLS 1.3 extension code points and the encoders/decoders for the extensions this engine uses
 * (RFC 8446 §4.2, RFC 7301 ALPN, RFC 6066 SNI, RFC 9001 §8.2 quic_transport_parameters).
 * @module
 */
import { Reader, Writer } from "./codec.ts";
import { Alert, fail } from "./errors.ts";

/** Extension types. */
export const Ext = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  alpn: 16,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  pskKeyExchangeModes: 45,
  certificateAuthorities: 47,
  signatureAlgorithmsCert: 50,
  keyShare: 51,
  quicTransportParameters: 0x39,
} as const;

/** TLS 1.3 version code point. */
export const TLS13 = 0x0304;

/** An extension list in wire order. */
export type ExtensionList = Array<[type: number, data: Uint8Array]>;

/** Encodes an extension list as `Extension extensions<0..2^16-1>`. */
export function encodeExtensions(exts: ExtensionList): Uint8Array {
  const w = new Writer();
  for (const [type, data] of exts) w.u16(type).vec16(data);
  return new Writer().vec16(w.finish()).finish();
}

/** Decodes an extension block (without its length prefix); duplicates are illegal_parameter. */
export function decodeExtensions(block: Uint8Array, where: string): Map<number, Uint8Array> {
  const r = new Reader(block, `${where} extensions`);
  const out = new Map<number, Uint8Array>();
  while (r.remaining > 0) {
    const type = r.u16();
    const data = r.vec16();
    if (out.has(type)) fail(Alert.illegalParameter, `${where}: duplicate extension ${type}`);
    out.set(type, data);
  }
  return out;
}

/** Encodes a list of uint16 values with a uint16 byte-length prefix. */
export function encodeU16List(values: number[]): Uint8Array {
  const w = new Writer();
  for (const v of values) w.u16(v);
  return new Writer().vec16(w.finish()).finish();
}

/** Decodes a `uint16 list<2..2^16-2>` (supported_groups, signature_algorithms). */
export function decodeU16List(data: Uint8Array, where: string): number[] {
  const r = new Reader(data, where);
  const body = r.vec16();
  r.end();
  if (body.length === 0 || body.length % 2 !== 0) {
    fail(Alert.decodeError, `${where}: bad list length ${body.length}`);
  }
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 2) out.push((body[i] << 8) | body[i + 1]);
  return out;
}

/** ClientHello supported_versions: `ProtocolVersion versions<2..254>`. */
export function decodeClientVersions(data: Uint8Array): number[] {
  const r = new Reader(data, "supported_versions");
  const body = r.vec8();
  r.end();
  if (body.length === 0 || body.length % 2 !== 0) {
    fail(Alert.decodeError, `supported_versions: bad list length ${body.length}`);
  }
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 2) out.push((body[i] << 8) | body[i + 1]);
  return out;
}

/** ClientHello supported_versions offering TLS 1.3 only. */
export function encodeClientVersions(): Uint8Array {
  return new Writer().vec8(new Writer().u16(TLS13).finish()).finish();
}

/** Reads a single uint16 that must fill `data` (ServerHello supported_versions, HRR key_share). */
export function decodeU16(data: Uint8Array, where: string): number {
  const r = new Reader(data, where);
  const v = r.u16();
  r.end();
  return v;
}

/** Encodes a single uint16. */
export function encodeU16(v: number): Uint8Array {
  return new Writer().u16(v).finish();
}

/** One KeyShareEntry. */
export interface KeyShareEntry {
  /** NamedGroup code point. */
  group: number;
  /** key_exchange bytes. */
  key: Uint8Array;
}

/** ClientHello key_share: `KeyShareEntry client_shares<0..2^16-1>`. */
export function encodeClientShares(shares: KeyShareEntry[]): Uint8Array {
  const w = new Writer();
  for (const s of shares) w.u16(s.group).vec16(s.key);
  return new Writer().vec16(w.finish()).finish();
}

/** Decodes a ClientHello key_share; entries must have distinct groups and non-empty keys. */
export function decodeClientShares(data: Uint8Array): KeyShareEntry[] {
  const outer = new Reader(data, "key_share");
  const r = new Reader(outer.vec16(), "key_share entries");
  outer.end();
  const out: KeyShareEntry[] = [];
  while (r.remaining > 0) {
    const group = r.u16();
    const key = r.vec16();
    if (key.length === 0) fail(Alert.decodeError, `key_share: empty key for group ${group}`);
    if (out.some((e) => e.group === group)) {
      fail(Alert.illegalParameter, `key_share: duplicate group ${group}`);
    }
    out.push({ group, key });
  }
  return out;
}

/** ServerHello key_share: one KeyShareEntry. */
export function encodeServerShare(share: KeyShareEntry): Uint8Array {
  return new Writer().u16(share.group).vec16(share.key).finish();
}

/** Decodes a ServerHello key_share. */
export function decodeServerShare(data: Uint8Array): KeyShareEntry {
  const r = new Reader(data, "ServerHello key_share");
  const group = r.u16();
  const key = r.vec16();
  r.end();
  return { group, key };
}

/** ALPN `ProtocolName protocol_name_list<2..2^16-1>`. */
export function encodeAlpn(protocols: string[]): Uint8Array {
  const w = new Writer();
  for (const p of protocols) w.vec8(new TextEncoder().encode(p));
  return new Writer().vec16(w.finish()).finish();
}

/** Decodes an ALPN list; empty lists and empty names are decode_error. */
export function decodeAlpn(data: Uint8Array): string[] {
  const outer = new Reader(data, "ALPN");
  const r = new Reader(outer.vec16(), "ALPN list");
  outer.end();
  const out: string[] = [];
  while (r.remaining > 0) {
    const name = r.vec8();
    if (name.length === 0) fail(Alert.decodeError, "ALPN: empty protocol name");
    out.push(new TextDecoder().decode(name));
  }
  if (out.length === 0) fail(Alert.decodeError, "ALPN: empty protocol list");
  return out;
}

/** server_name with one host_name entry. */
export function encodeServerName(name: string): Uint8Array {
  const entry = new Writer().u8(0).vec16(new TextEncoder().encode(name)).finish();
  return new Writer().vec16(entry).finish();
}

/** Validates the server_name structure (the value is not used). */
export function checkServerName(data: Uint8Array): void {
  if (data.length === 0) return; // the server's empty acknowledgement
  const outer = new Reader(data, "server_name");
  const r = new Reader(outer.vec16(), "server_name list");
  outer.end();
  while (r.remaining > 0) {
    r.u8();
    r.vec16();
  }
}

/** Cookie `opaque cookie<1..2^16-1>`. */
export function decodeCookie(data: Uint8Array): Uint8Array {
  const r = new Reader(data, "cookie");
  const c = r.vec16();
  r.end();
  if (c.length === 0) fail(Alert.decodeError, "cookie: empty");
  return c;
}

/** Encodes a cookie extension body. */
export function encodeCookie(cookie: Uint8Array): Uint8Array {
  return new Writer().vec16(cookie).finish();
}
