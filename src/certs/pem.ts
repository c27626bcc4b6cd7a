/**
 * PEM reading and writing with upstream receptor's rules and error texts
 * (`pkg/certificates/ca.go` LoadFromPEMFile & co): certificates, requests, RSA private keys
 * (PKCS#1 or PKCS#8), public keys; any other block type is `unknown block type <type>`.
 * @module
 */

import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import {
  parseCertificate,
  parseCsr,
  type ParsedCertificate,
  type ParsedCsr,
} from "./x509_parse.ts";
import { errorText } from "../util/error_text.ts";

/** A raw PEM block. */
export interface PemBlock {
  /** Block type, e.g. `CERTIFICATE`. */
  type: string;
  /** Decoded body. */
  der: Uint8Array;
  /** True if the block carried RFC 1421 headers (e.g. `Proc-Type: 4,ENCRYPTED`). */
  hasHeaders: boolean;
}

/** A parsed PEM item, as upstream's loader classifies it. */
export type PemItem =
  | { kind: "certificate"; cert: ParsedCertificate }
  | { kind: "request"; req: ParsedCsr }
  | { kind: "private-key"; key: KeyObject; pkcs1: boolean }
  | { kind: "public-key"; key: KeyObject };

/** Encode DER as a PEM block (64-column base64, trailing newline). */
export function pemEncode(type: string, der: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < der.length; i++) bin += String.fromCharCode(der[i]);
  const b64 = btoa(bin);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join("\n")}${
    lines.length ? "\n" : ""
  }-----END ${type}-----\n`;
}

/**
 * Decode every PEM block in `text`. Text before and between blocks is ignored (as Go's
 * `pem.Decode` does); trailing text with no further block is an error
 * (`failed to decode PEM block`) unless it is only whitespace.
 */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const BEGIN_RE = /-----BEGIN ([^\r\n-]*)-----\r?\n/g;
  let pos = 0;
  while (pos < text.length) {
    BEGIN_RE.lastIndex = pos;
    const m = BEGIN_RE.exec(text);
    if (!m) {
      if (text.slice(pos).trim() === "") break;
      throw new Error("failed to decode PEM block");
    }
    const type = m[1];
    const endMarker = `-----END ${type}-----`;
    const bodyStart = m.index + m[0].length;
    const endIdx = text.indexOf(endMarker, bodyStart);
    if (endIdx === -1) throw new Error("failed to decode PEM block");
    let body = text.slice(bodyStart, endIdx);
    let hasHeaders = false;
    const headerSplit = body.match(/^((?:[^\r\n:]+:[^\r\n]*\r?\n)+)\r?\n/);
    if (headerSplit) {
      hasHeaders = true;
      body = body.slice(headerSplit[0].length);
    }
    const b64 = body.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error("failed to decode PEM block");
    let bin: string;
    try {
      bin = atob(b64);
    } catch {
      throw new Error("failed to decode PEM block");
    }
    const der = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
    out.push({ type, der, hasHeaders });
    pos = endIdx + endMarker.length;
  }
  return out;
}

function keyError(e: unknown): Error {
  return new Error(`x509: failed to parse private key: ${errorText(e)}`);
}

/** Classify and parse PEM blocks the way upstream's LoadFromPEMFile does. */
export function parsePemItems(text: string): PemItem[] {
  return pemDecodeAll(text).map((b): PemItem => {
    switch (b.type) {
      case "CERTIFICATE":
        return { kind: "certificate", cert: parseCertificate(b.der) };
      case "CERTIFICATE REQUEST":
        return { kind: "request", req: parseCsr(b.der) };
      case "RSA PRIVATE KEY": {
        if (b.hasHeaders) {
          throw new Error(
            "x509: failed to parse private key: encrypted PEM keys are not supported",
          );
        }
        try {
          return {
            kind: "private-key",
            key: createPrivateKey({ key: Buffer.from(b.der), format: "der", type: "pkcs1" }),
            pkcs1: true,
          };
        } catch (e) {
          throw keyError(e);
        }
      }
      case "PRIVATE KEY":
        try {
          return {
            kind: "private-key",
            key: createPrivateKey({ key: Buffer.from(b.der), format: "der", type: "pkcs8" }),
            pkcs1: false,
          };
        } catch (e) {
          throw keyError(e);
        }
      case "PUBLIC KEY":
        try {
          return {
            kind: "public-key",
            key: createPublicKey({ key: Buffer.from(b.der), format: "der", type: "spki" }),
          };
        } catch (e) {
          throw new Error(`x509: failed to parse public key: ${errorText(e)}`);
        }
      default:
        throw new Error(`unknown block type ${b.type}`);
    }
  });
}

/**
 * Go-style text for a file-system error on `path` (`open <path>: no such file or directory`).
 * `writing` selects Go's wording for a directory given as an output file.
 */
export function osErrorText(path: string, e: unknown, writing = false): string {
  if (e instanceof Deno.errors.NotFound) return `open ${path}: no such file or directory`;
  if (e instanceof Deno.errors.PermissionDenied) return `open ${path}: permission denied`;
  const msg = errorText(e);
  if (e instanceof Deno.errors.IsADirectory || /is a directory/i.test(msg)) {
    return `${writing ? "open" : "read"} ${path}: is a directory`;
  }
  return `open ${path}: ${msg}`;
}

/** Read a text file, converting errors to Go's `open <path>: ...` text. */
export function readTextFileGo(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(osErrorText(path, e));
  }
}

/** Write `text` to `path` with mode 0600 (also fixing the mode of an existing file). */
export function writePrivateFile(path: string, text: string): void {
  try {
    Deno.writeTextFileSync(path, text, { mode: 0o600 });
    Deno.chmodSync(path, 0o600);
  } catch (e) {
    throw new Error(osErrorText(path, e, true));
  }
}

/** Load all PEM items of a file (upstream LoadFromPEMFile). */
export function loadPemFile(path: string): PemItem[] {
  return parsePemItems(readTextFileGo(path));
}

/** True if the key is RSA. */
function isRsa(k: KeyObject): boolean {
  return k.asymmetricKeyType === "rsa";
}

/** Load a file that must hold exactly one RSA private key (PKCS#1 or PKCS#8). */
export function loadRsaPrivateKeyFile(path: string): KeyObject {
  const items = loadPemFile(path);
  if (items.length !== 1) throw new Error("private key file should contain exactly one item");
  const it = items[0];
  if (it.kind !== "private-key" || !isRsa(it.key)) {
    throw new Error("private key file does not contain private key data");
  }
  return it.key;
}

/**
 * Load the key for `cert-makereq inkey=`: exactly one RSA private key among the blocks;
 * certificates, requests and public keys are ignored.
 */
export function loadRequestKeyFile(path: string): KeyObject {
  let key: KeyObject | undefined;
  for (const it of loadPemFile(path)) {
    if (it.kind !== "private-key" || !isRsa(it.key)) continue;
    if (key) throw new Error(`multiple private keys in file ${path}`);
    key = it.key;
  }
  if (!key) throw new Error(`no private keys in file ${path}`);
  return key;
}

/** Load a file that must hold exactly one certificate. */
export function loadCertificateFile(path: string): ParsedCertificate {
  const items = loadPemFile(path);
  if (items.length !== 1) throw new Error("certificate file should contain exactly one item");
  const it = items[0];
  if (it.kind !== "certificate") {
    throw new Error("certificate file does not contain certificate data");
  }
  return it.cert;
}

/** Load a file that must hold exactly one certificate request. */
export function loadRequestFile(path: string): ParsedCsr {
  const items = loadPemFile(path);
  if (items.length !== 1) {
    throw new Error("certificate request file should contain exactly one item");
  }
  const it = items[0];
  if (it.kind !== "request") {
    throw new Error("certificate request file does not contain certificate request data");
  }
  return it.req;
}

/** Load a certificate chain / bundle file: every `CERTIFICATE` block, in order. */
export function loadCertificateChainFile(path: string): ParsedCertificate[] {
  return parseCertificateChainPem(readTextFileGo(path));
}

/**
 * Parse a certificate chain / bundle: every `CERTIFICATE` block, in order (other block types
 * are skipped, as Go's tls.X509KeyPair and CertPool.AppendCertsFromPEM do).
 */
export function parseCertificateChainPem(text: string): ParsedCertificate[] {
  return pemDecodeAllLenient(text).filter((b) => b.type === "CERTIFICATE").map((b) =>
    parseCertificate(b.der)
  );
}

/** Like {@link pemDecodeAll} but stops quietly at trailing junk (Go's bundle readers do). */
export function pemDecodeAllLenient(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  let rest = text;
  for (;;) {
    const i = rest.indexOf("-----BEGIN ");
    if (i === -1) break;
    rest = rest.slice(i);
    const endType = rest.match(/^-----BEGIN ([^\r\n-]*)-----/);
    if (!endType) {
      rest = rest.slice(11);
      continue;
    }
    const marker = `-----END ${endType[1]}-----`;
    const j = rest.indexOf(marker);
    if (j === -1) break;
    try {
      out.push(...pemDecodeAll(rest.slice(0, j + marker.length)));
    } catch {
      // unreadable block: skip it like Go's AppendCertsFromPEM
    }
    rest = rest.slice(j + marker.length);
  }
  return out;
}
