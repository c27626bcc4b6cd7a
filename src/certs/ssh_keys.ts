/**
 * RSA keys in OpenSSH's own formats, as operators have them from a plain `ssh-keygen`:
 * unencrypted `-----BEGIN OPENSSH PRIVATE KEY-----` files (the `openssh-key-v1` container,
 * PROTOCOL.key) and one-line `ssh-rsa AAAA… comment` public keys (RFC 4253 §6.6). Only the
 * container is parsed here; the key material is imported by node:crypto (as a JWK), so no
 * crypto primitive is implemented.
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { pemDecodeAll } from "./pem.ts";
import { errorText } from "../util/error_text.ts";

/** Bounds-checked reader of SSH wire encoding (uint32, string, mpint). */
class SshReader {
  #pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly what: string) {}

  get remaining(): number {
    return this.buf.length - this.#pos;
  }

  u32(): number {
    if (this.remaining < 4) throw new Error(`${this.what}: truncated`);
    const b = this.buf;
    const p = this.#pos;
    this.#pos += 4;
    return ((b[p] << 24) >>> 0) + (b[p + 1] << 16) + (b[p + 2] << 8) + b[p + 3];
  }

  bytes(): Uint8Array {
    const n = this.u32();
    if (n > this.remaining) throw new Error(`${this.what}: truncated`);
    const out = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  text(): string {
    return new TextDecoder().decode(this.bytes());
  }

  /** An mpint as unsigned big-endian bytes (leading zero bytes dropped). */
  mpint(): Uint8Array {
    const b = this.bytes();
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString("base64url");
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt("0x" + Buffer.from(b).toString("hex"));
}

function fromBig(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  return new Uint8Array(Buffer.from(hex, "hex"));
}

const MAGIC = "openssh-key-v1\0";

/**
 * Parse an unencrypted OpenSSH RSA private key file. Errors name the problem:
 * `encrypted OpenSSH private keys are not supported`, `OpenSSH private key is <type>, not
 * ssh-rsa`, `OpenSSH private key: check bytes differ (wrong passphrase or corrupt file)`.
 */
export function parseOpenSshPrivateKey(text: string): KeyObject {
  const blocks = pemDecodeAll(text);
  if (blocks.length !== 1 || blocks[0].type !== "OPENSSH PRIVATE KEY") {
    throw new Error("private key file should contain exactly one item");
  }
  const der = blocks[0].der;
  if (new TextDecoder().decode(der.subarray(0, MAGIC.length)) !== MAGIC) {
    throw new Error("OpenSSH private key: bad magic (not openssh-key-v1)");
  }
  const r = new SshReader(der.subarray(MAGIC.length), "OpenSSH private key");
  const cipher = r.text();
  const kdf = r.text();
  r.bytes(); // kdf options
  if (cipher !== "none" || kdf !== "none") {
    throw new Error("encrypted OpenSSH private keys are not supported (remove the passphrase)");
  }
  const count = r.u32();
  if (count !== 1) throw new Error(`OpenSSH private key file holds ${count} keys, want 1`);
  r.bytes(); // public key blob (repeated inside the private section)
  const p = new SshReader(r.bytes(), "OpenSSH private key");
  if (p.u32() !== p.u32()) {
    throw new Error("OpenSSH private key: check bytes differ (wrong passphrase or corrupt file)");
  }
  const type = p.text();
  if (type !== "ssh-rsa") throw new Error(`OpenSSH private key is ${type}, not ssh-rsa`);
  const n = p.mpint(), e = p.mpint(), d = p.mpint();
  const iqmp = p.mpint(), pp = p.mpint(), q = p.mpint();
  const D = toBig(d);
  const jwk = {
    kty: "RSA",
    n: b64url(n),
    e: b64url(e),
    d: b64url(d),
    p: b64url(pp),
    q: b64url(q),
    dp: b64url(fromBig(D % (toBig(pp) - 1n))),
    dq: b64url(fromBig(D % (toBig(q) - 1n))),
    qi: b64url(iqmp),
  };
  try {
    return createPrivateKey({ key: jwk, format: "jwk" });
  } catch (err) {
    throw new Error(`OpenSSH private key: ${errorText(err)}`);
  }
}

/** Parse a one-line `ssh-rsa <base64> [comment]` public key (an `id_rsa.pub` file). */
export function parseSshRsaPublicLine(text: string): KeyObject {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (lines.length !== 1) throw new Error("public key file should contain exactly one item");
  const [type, b64] = lines[0].split(/\s+/);
  if (type !== "ssh-rsa") throw new Error(`public key is ${type}, not ssh-rsa`);
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new Error("ssh-rsa public key: bad base64");
  }
  const r = new SshReader(new Uint8Array(Buffer.from(b64, "base64")), "ssh-rsa public key");
  const inner = r.text();
  if (inner !== "ssh-rsa") throw new Error(`ssh-rsa public key: blob holds ${inner}`);
  const e = r.mpint(), n = r.mpint();
  try {
    return createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" });
  } catch (err) {
    throw new Error(`ssh-rsa public key: ${errorText(err)}`);
  }
}
