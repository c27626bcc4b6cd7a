/**
 * Work signing and verification (control.md §7): the submitting node signs its requests to
 * a remote executor with an RS512 JWT (`aud: [remoteNode]`, `exp` = now + tokenexpiration);
 * an executor with `work-verification` checks such tokens for work types registered with
 * `verifysignature`. As upstream, start-up only checks that the key files exist (and the
 * config layer that `tokenexpiration` parses); a key file is read when a signature is made or
 * checked, so an edited file takes effect on the next submission and a bad key fails only
 * that submission (`could not load signing key file: …` / `could not load verifying key
 * file: …`). Beyond upstream's PEM rules (exactly one item; PKCS#1 or PKCS#8 RSA private key;
 * SPKI public key) we also accept the formats `ssh-keygen` writes: unencrypted OpenSSH
 * private keys, one-line `ssh-rsa` public keys, and PKCS#1 `RSA PUBLIC KEY` PEM.
 *
 * Signatures are made and checked with `jose` over WebCrypto keys; the claim checks
 * (exp/iat/nbf, audience) are ours so that refusals read like golang-jwt v4's.
 * @module
 */
import { Buffer } from "node:buffer";
import type { KeyObject } from "node:crypto";
import { compactVerify, type CompactVerifyResult, SignJWT } from "jose";
import { createPublicKey } from "node:crypto";
import { parsePemItems, pemDecodeAll, readTextFileGo } from "../certs/pem.ts";
import { parseOpenSshPrivateKey, parseSshRsaPublicLine } from "../certs/ssh_keys.ts";
import { formatGoDuration } from "../gocompat/duration.ts";
import { ConfigError } from "../config/errors.ts";
import { msToNs } from "../clock.ts";
import { errorText } from "../util/error_text.ts";

/** Default token lifetime when `tokenexpiration` is not set (5 minutes). */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;

/** Signs requests for remote executors. */
export interface WorkSigner {
  /** Token lifetime in ms (`tokenexpiration`; 5 minutes by default). */
  readonly lifetimeMs: number;
  /** A fresh RS512 JWT for `remoteNode` (one per signed request). */
  signWork(remoteNode: string): Promise<string>;
}

/** Verifies tokens presented to this node; throws an Error with the upstream text. */
export interface WorkVerifier {
  verify(token: string): Promise<void>;
}

/** Wall-clock source in epoch milliseconds (tests inject a fixed time). */
export type WallClock = () => number;

/** Algorithms golang-jwt v4 accepts with an RSA public key. */
const RSA_ALGS: Record<string, { name: string; hash: string }> = {
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  RS384: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
  RS512: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
  PS256: { name: "RSA-PSS", hash: "SHA-256" },
  PS384: { name: "RSA-PSS", hash: "SHA-384" },
  PS512: { name: "RSA-PSS", hash: "SHA-512" },
};

function fileMissing(path: string): boolean {
  try {
    Deno.statSync(path);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}

/**
 * Parse PEM text holding exactly one RSA private key (`RSA PRIVATE KEY` or `PRIVATE KEY`).
 * Errors: `private key file should contain exactly one item`, `private key file does not
 * contain private key data`, `unknown block type <t>`, `failed to decode PEM block`.
 */
export function parseSigningKeyPem(pem: string): KeyObject {
  const items = parsePemItems(pem);
  if (items.length !== 1) throw new Error("private key file should contain exactly one item");
  const it = items[0];
  if (it.kind !== "private-key" || it.key.asymmetricKeyType !== "rsa") {
    throw new Error("private key file does not contain private key data");
  }
  return it.key;
}

/**
 * Parse PEM text holding exactly one SPKI RSA public key (`PUBLIC KEY`; `RSA PUBLIC KEY` is
 * an unknown block type, as upstream). Errors: `public key file should contain exactly one
 * item`, `public key file does not contain public key data`.
 */
export function parseVerifyingKeyPem(pem: string): KeyObject {
  const items = parsePemItems(pem);
  return onePublicKey(items);
}

function onePublicKey(items: ReturnType<typeof parsePemItems>): KeyObject {
  if (items.length !== 1) throw new Error("public key file should contain exactly one item");
  const it = items[0];
  if (it.kind !== "public-key" || it.key.asymmetricKeyType !== "rsa") {
    throw new Error("public key file does not contain public key data");
  }
  return it.key;
}

/**
 * Any RSA private key format operators have: PEM (PKCS#1 / PKCS#8, upstream's rules and
 * texts) or an unencrypted OpenSSH private key.
 */
export function parseSigningKeyText(text: string): KeyObject {
  if (text.includes("-----BEGIN OPENSSH PRIVATE KEY-----")) return parseOpenSshPrivateKey(text);
  return parseSigningKeyPem(text);
}

/**
 * Any RSA public key format operators have: PKIX `PUBLIC KEY` PEM (upstream's rules and
 * texts), PKCS#1 `RSA PUBLIC KEY` PEM, or a one-line `ssh-rsa AAAA…` (`id_rsa.pub`).
 */
export function parseVerifyingKeyText(text: string): KeyObject {
  if (/^\s*ssh-/.test(text)) return parseSshRsaPublicLine(text);
  if (text.includes("-----BEGIN RSA PUBLIC KEY-----")) {
    const blocks = pemDecodeAll(text);
    if (blocks.length !== 1) throw new Error("public key file should contain exactly one item");
    if (blocks[0].type === "RSA PUBLIC KEY") {
      try {
        return createPublicKey({ key: Buffer.from(blocks[0].der), format: "der", type: "pkcs1" });
      } catch (e) {
        throw new Error(`x509: failed to parse public key: ${errorText(e)}`);
      }
    }
  }
  return parseVerifyingKeyPem(text);
}

/**
 * A key file read on every use (as upstream does), so an edited file takes effect at once;
 * the parsed key is kept while the file's text is unchanged. Errors are the read or parse
 * error (`open <path>: no such file or directory`, `unknown block type …`).
 */
export class KeyFile {
  #text: string | null = null;
  #key: KeyObject | null = null;

  constructor(readonly path: string, private readonly parse: (text: string) => KeyObject) {}

  /** The current key (re-parsed when the file's text changed). */
  get(): KeyObject {
    const text = readTextFileGo(this.path);
    if (this.#key && text === this.#text) return this.#key;
    const key = this.parse(text);
    this.#text = text;
    this.#key = key;
    return key;
  }
}

function signingCryptoKey(key: KeyObject): Promise<CryptoKey> {
  const der = key.export({ format: "der", type: "pkcs8" }) as Buffer;
  return crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array(der),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
    false,
    ["sign"],
  );
}

/** Build a signer from a loaded private key, or from a getter called per signature. */
export function makeWorkSigner(
  key: KeyObject | (() => KeyObject),
  lifetimeMs = DEFAULT_TOKEN_LIFETIME_MS,
  now: WallClock = Date.now,
): WorkSigner {
  const getKey = typeof key === "function" ? key : () => key;
  let cached: { key: KeyObject; crypto: Promise<CryptoKey> } | null = null;
  return {
    lifetimeMs,
    async signWork(remoteNode: string): Promise<string> {
      const k = getKey();
      if (cached?.key !== k) cached = { key: k, crypto: signingCryptoKey(k) };
      const exp = Math.floor((now() + lifetimeMs) / 1000);
      return await new SignJWT({ aud: [remoteNode], exp })
        .setProtectedHeader({ alg: "RS512", typ: "JWT" })
        .sign(await cached.crypto);
    },
  };
}

/** The `<file> does not exist` start-up check, located at the section's field. */
function checkKeyFileExists(section: SectionLike, field: string, path: string): void {
  if (path !== "" && !fileMissing(path)) return;
  throw new ConfigError(`${path} does not exist`, {
    origin: "section",
    section: section.kind ?? "",
    source: section.source,
    file: section.source?.startsWith("-") ? undefined : section.source,
    field,
    value: path,
  });
}

/** What the loaders read from a section (kind/source locate start-up errors). */
interface SectionLike {
  kind?: string;
  source?: string;
}

/**
 * Prepare the `work-signing` section: the key file must exist (`<file> does not exist`, a
 * {@link ConfigError} naming section, field and value). The key is read per signature;
 * a bad key fails that signature with `could not load signing key file: …`.
 */
export function loadWorkSigner(
  section: { privatekey: string; tokenexpiration?: number } & SectionLike,
  now: WallClock = Date.now,
): WorkSigner {
  const path = section.privatekey;
  checkKeyFileExists({ kind: "work-signing", ...section }, "privatekey", path);
  const file = new KeyFile(path, parseSigningKeyText);
  const lifetime = section.tokenexpiration && section.tokenexpiration > 0
    ? section.tokenexpiration
    : DEFAULT_TOKEN_LIFETIME_MS;
  return makeWorkSigner(
    () => {
      try {
        return file.get();
      } catch (e) {
        throw new Error(`could not load signing key file: ${errorText(e)}`);
      }
    },
    lifetime,
    now,
  );
}

/**
 * The token for a signed request to `remoteNode`; without a signer this fails like upstream
 * (`cannot sign work: signing key is empty`). Remote work calls this once per request.
 */
export async function signWork(signer: WorkSigner | null, remoteNode: string): Promise<string> {
  if (!signer) throw new Error("cannot sign work: signing key is empty");
  return await signer.signWork(remoteNode);
}

function b64urlJson(part: string): Record<string, unknown> {
  const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const v = JSON.parse(new TextDecoder().decode(bytes));
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
  return v as Record<string, unknown>;
}

function numericDate(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v * 1000;
  return null;
}

/** Build a verifier for tokens addressed to `nodeId` (key or a getter called per token). */
export function makeWorkVerifier(
  key: KeyObject | (() => KeyObject),
  nodeId: string,
  now: WallClock = Date.now,
): WorkVerifier {
  const getKey = typeof key === "function" ? key : () => key;
  let current: KeyObject | null = null;
  let keys = new Map<string, Promise<CryptoKey>>();
  const keyFor = (k: KeyObject, alg: string): Promise<CryptoKey> => {
    if (k !== current) {
      current = k;
      keys = new Map();
    }
    let c = keys.get(alg);
    if (!c) {
      const spki = new Uint8Array(k.export({ format: "der", type: "spki" }) as Buffer);
      c = crypto.subtle.importKey("spki", spki, RSA_ALGS[alg], false, ["verify"]);
      keys.set(alg, c);
    }
    return c;
  };
  return {
    async verify(token: string): Promise<void> {
      if (token === "") verifyFail("signature is empty");
      const pub = getKey();
      const alg = tokenAlg(token);
      let result: CompactVerifyResult;
      try {
        result = await compactVerify(token, await keyFor(pub, alg), { algorithms: [alg] });
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") {
          return verifyFail("crypto/rsa: verification error");
        }
        return verifyFail(`token is malformed: ${errorText(e)}`);
      }
      checkClaims(claimsOf(result.payload), nodeId, now());
    },
  };
}

/** Throw golang-jwt's `could not verify signature: …` as the control reply shows it. */
function verifyFail(msg: string): never {
  throw new Error(`could not verify signature: ${msg}`);
}

/** The JWS header's `alg`, refused with golang-jwt's texts unless it is an RSA algorithm. */
function tokenAlg(token: string): string {
  const parts = token.split(".");
  if (parts.length !== 3) verifyFail("token contains an invalid number of segments");
  let header: Record<string, unknown>;
  try {
    header = b64urlJson(parts[0]);
  } catch (e) {
    return verifyFail(`token is malformed: ${errorText(e)}`);
  }
  const alg = typeof header.alg === "string" ? header.alg : "";
  if (alg === "none") verifyFail("'none' signature type is not allowed");
  if (!(alg in RSA_ALGS)) {
    verifyFail(
      /^(HS|ES|Ed)/.test(alg) ? "key is of invalid type" : "signing method (alg) is unavailable.",
    );
  }
  return alg;
}

/** The verified payload as a JSON object (else `token is malformed`). */
function claimsOf(payload: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder().decode(payload));
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v;
  } catch (e) {
    return verifyFail(`token is malformed: ${errorText(e)}`);
  }
}

/**
 * golang-jwt v4 RegisteredClaims.Valid (exp, iat, nbf; the last failure wins), then the
 * audience must name this node.
 */
function checkClaims(claims: Record<string, unknown>, nodeId: string, t: number): void {
  let problem = "";
  const exp = numericDate(claims.exp);
  if (exp !== null && !(t < exp)) {
    problem = `token is expired by ${formatGoDuration(msToNs(t - exp))}`;
  }
  const iat = numericDate(claims.iat);
  if (iat !== null && t < iat) problem = "token used before issued";
  const nbf = numericDate(claims.nbf);
  if (nbf !== null && t < nbf) problem = "token is not valid yet";
  if (problem) verifyFail(problem);
  const aud = typeof claims.aud === "string"
    ? [claims.aud]
    : Array.isArray(claims.aud)
    ? claims.aud
    : [];
  if (!aud.includes(nodeId)) throw new Error("token audience did not match node ID");
}

/**
 * Prepare the `work-verification` section: the key file must exist (`<file> does not
 * exist`, a {@link ConfigError}). The key is read per check; a bad key fails that check
 * with `could not load verifying key file: …`.
 */
export function loadWorkVerifier(
  section: { publickey: string } & SectionLike,
  nodeId: string,
  now: WallClock = Date.now,
): WorkVerifier {
  const path = section.publickey;
  checkKeyFileExists({ kind: "work-verification", ...section }, "publickey", path);
  const file = new KeyFile(path, parseVerifyingKeyText);
  return makeWorkVerifier(
    () => {
      try {
        return file.get();
      } catch (e) {
        throw new Error(`could not load verifying key file: ${errorText(e)}`);
      }
    },
    nodeId,
    now,
  );
}

/** A node's signing material: either part is null when its section is absent. */
export interface WorkSigning {
  /** From `work-signing` (used by remote work with `signwork`). */
  signer: WorkSigner | null;
  /** From `work-verification` (checks `verifysignature` work types). */
  verifier: WorkVerifier | null;
}

/**
 * Prepare `work-signing` and `work-verification` from a node's sections at start-up: only
 * the key files' existence is checked (upstream's Prepare); keys are read when used.
 */
export function loadWorkSigning(
  sections: readonly { kind: string }[],
  nodeId: string,
  now: WallClock = Date.now,
): WorkSigning {
  let signer: WorkSigner | null = null;
  let verifier: WorkVerifier | null = null;
  for (const s of sections) {
    if (s.kind === "work-signing") {
      signer = loadWorkSigner(s as unknown as { privatekey: string; tokenexpiration: number }, now);
    } else if (s.kind === "work-verification") {
      verifier = loadWorkVerifier(s as unknown as { publickey: string }, nodeId, now);
    }
  }
  return { signer, verifier };
}
