/**
 * (EC)DHE key shares for TLS 1.3 (RFC 8446 §4.2.8.2): X25519 and the NIST curves P-256/P-384
 * P-521 with uncompressed points, via node:crypto. Invalid peer shares raise illegal_parameter.
 * @module
 */
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";
import type { KeyShareGroup } from "./types.ts";
import { Alert, fail } from "./errors.ts";

/** NamedGroup code points by name. */
export const GROUP_CODES: Readonly<Record<KeyShareGroup, number>> = {
  x25519: 0x001d,
  secp256r1: 0x0017,
  secp384r1: 0x0018,
  secp521r1: 0x0019,
};

/** Default group order (offer order for clients, preference for servers). */
export const DEFAULT_GROUPS: KeyShareGroup[] = ["x25519", "secp256r1", "secp384r1", "secp521r1"];

/** The group name for a code point, or undefined when we do not implement it. */
export function groupName(code: number): KeyShareGroup | undefined {
  for (const [name, c] of Object.entries(GROUP_CODES)) {
    if (c === code) return name as KeyShareGroup;
  }
  return undefined;
}

/** Our ephemeral private key for one group; `publicKey` is the key_exchange to send. */
export interface KeyPair {
  /** Group code point. */
  group: number;
  /** Encoded public key (32 bytes for X25519, 0x04||X||Y for NIST curves). */
  publicKey: Uint8Array;
  /** Computes the shared secret with the peer's key_exchange; bad input is illegal_parameter. */
  agree(peer: Uint8Array): Uint8Array;
}

function b64url(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Generates a fresh key pair for `name`. */
export function generateKeyPair(name: KeyShareGroup): KeyPair {
  const group = GROUP_CODES[name];
  if (name === "x25519") {
    const kp = generateKeyPairSync("x25519");
    const jwk = kp.publicKey.export({ format: "jwk" }) as { x?: string };
    const pub = fromB64url(jwk.x ?? "");
    return {
      group,
      publicKey: pub,
      agree(peer) {
        if (peer.length !== 32) {
          fail(Alert.illegalParameter, `key_share: X25519 key of ${peer.length} bytes`);
        }
        let secret: Uint8Array;
        try {
          const peerKey = createPublicKey({
            key: { kty: "OKP", crv: "X25519", x: b64url(peer) },
            format: "jwk",
          });
          secret = new Uint8Array(diffieHellman({ privateKey: kp.privateKey, publicKey: peerKey }));
        } catch (e) {
          fail(Alert.illegalParameter, `key_share: X25519 agreement failed: ${String(e)}`);
        }
        if (secret.every((b) => b === 0)) {
          fail(Alert.illegalParameter, "key_share: X25519 shared secret is all zero");
        }
        return secret;
      },
    };
  }
  if (name === "secp521r1") return p521KeyPair(group);
  const curve = name === "secp256r1" ? "prime256v1" : "secp384r1";
  const size = name === "secp256r1" ? 32 : 48;
  const ecdh = createECDH(curve);
  const pub = new Uint8Array(ecdh.generateKeys());
  return {
    group,
    publicKey: pub,
    agree(peer) {
      if (peer.length !== 1 + 2 * size || peer[0] !== 4) {
        fail(Alert.illegalParameter, `key_share: ${name} key is not an uncompressed point`);
      }
      try {
        return new Uint8Array(ecdh.computeSecret(peer));
      } catch (e) {
        fail(Alert.illegalParameter, `key_share: invalid ${name} point: ${String(e)}`);
      }
    },
  };
}

/** P-521 through KeyObjects (this runtime's createECDH lacks secp521r1). */
function p521KeyPair(group: number): KeyPair {
  const kp = generateKeyPairSync("ec", { namedCurve: "P-521" });
  const jwk = kp.publicKey.export({ format: "jwk" }) as { x?: string; y?: string };
  const pad = (b: Uint8Array) => {
    const out = new Uint8Array(66);
    out.set(b, 66 - b.length);
    return out;
  };
  const pub = new Uint8Array(133);
  pub[0] = 4;
  pub.set(pad(fromB64url(jwk.x ?? "")), 1);
  pub.set(pad(fromB64url(jwk.y ?? "")), 67);
  return {
    group,
    publicKey: pub,
    agree(peer) {
      if (peer.length !== 133 || peer[0] !== 4) {
        fail(Alert.illegalParameter, "key_share: secp521r1 key is not an uncompressed point");
      }
      try {
        const peerKey = createPublicKey({
          key: {
            kty: "EC",
            crv: "P-521",
            x: b64url(peer.subarray(1, 67)),
            y: b64url(peer.subarray(67)),
          },
          format: "jwk",
        });
        return new Uint8Array(diffieHellman({ privateKey: kp.privateKey, publicKey: peerKey }));
      } catch (e) {
        fail(Alert.illegalParameter, `key_share: invalid secp521r1 point: ${String(e)}`);
      }
    },
  };
}
