/**
 * HKDF (RFC 5869) and TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1), built on node:crypto HMAC.
 * Shared by the TLS 1.3 key schedule and QUIC packet-key derivation (RFC 9001 §5).
 * @module
 */
import { createHmac } from "node:crypto";

/** Hash functions used by TLS 1.3 cipher suites. */
export type HashName = "sha256" | "sha384";

/** Output length in bytes of `hash`. */
export function hashLength(hash: HashName): number {
  return hash === "sha256" ? 32 : 48;
}

/** HKDF-Extract(salt, ikm) = HMAC-Hash(salt, ikm). An empty salt means HashLen zero bytes. */
export function hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  const key = salt.length ? salt : new Uint8Array(hashLength(hash));
  return new Uint8Array(createHmac(hash, key).update(ikm).digest());
}

/** HKDF-Expand(prk, info, length). */
export function hkdfExpand(
  hash: HashName,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let prev = new Uint8Array(0);
  let filled = 0;
  for (let i = 1; filled < length; i++) {
    const h = createHmac(hash, prk);
    h.update(prev);
    h.update(info);
    h.update(new Uint8Array([i]));
    prev = new Uint8Array(h.digest());
    out.set(prev.subarray(0, Math.min(prev.length, length - filled)), filled);
    filled += prev.length;
  }
  return out;
}

const enc = new TextEncoder();

/** HKDF-Expand-Label(secret, label, context, length) with the `tls13 ` prefix. */
export function hkdfExpandLabel(
  hash: HashName,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const fullLabel = enc.encode("tls13 " + label);
  const info = new Uint8Array(2 + 1 + fullLabel.length + 1 + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = context.length;
  info.set(context, 4 + fullLabel.length);
  return hkdfExpand(hash, secret, info, length);
}
