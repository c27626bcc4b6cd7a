/**
 * Receptor's certificate actions `cert-init`, `cert-makereq`, `cert-signreq` (config.md §5,
 * upstream `pkg/certificates/{ca,cli}.go`): RSA keys written as PKCS#1, files mode 0600,
 * serials = Unix seconds, upstream error texts. Errors are thrown as `Error(<upstream message>)`.
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify as nodeVerify,
} from "node:crypto";
import { formatIp, parseIp } from "./ip.ts";
import { encodeReceptorSan } from "./node_id_san.ts";
import {
  loadCertificateFile,
  loadRequestFile,
  loadRequestKeyFile,
  loadRsaPrivateKeyFile,
  pemEncode,
  writePrivateFile,
} from "./pem.ts";
import {
  authorityKeyIdValue,
  basicConstraintsCaValue,
  buildCertificate,
  buildCsr,
  encodeNameCN,
  type ExtensionSpec,
  extKeyUsageValue,
  keyUsageValue,
  KU,
  spkiOf,
  subjectKeyIdFor,
  subjectKeyIdValue,
} from "./x509_build.ts";
import {
  nameToString,
  OID,
  type ParsedCsr,
  publicKeyAlgorithmName,
  sanNamesOf,
  signatureAlgorithmName,
} from "./x509_parse.ts";
import { errorText } from "../util/error_text.ts";

/** Parameters of `cert-init`. */
export interface CertInitParams {
  /** Common name of the CA. */
  commonname: string;
  /** RSA key size; 0 means 2048. */
  bits: number;
  /** RFC 3339 start of validity (default now). */
  notbefore?: string;
  /** RFC 3339 end of validity (default now + 10 years). */
  notafter?: string;
  /** Output certificate file. */
  outcert: string;
  /** Output private key file. */
  outkey: string;
}

/** Parameters of `cert-makereq`. */
export interface CertMakeReqParams {
  /** Common name of the request. */
  commonname: string;
  /** Key size for a new key (required with outkey, forbidden with inkey). */
  bits?: number;
  /** DNS names. */
  dnsname: string[];
  /** IP addresses (text). */
  ipaddress: string[];
  /** Receptor node IDs. */
  nodeid: string[];
  /** Output request file. */
  outreq: string;
  /** Existing key file. */
  inkey?: string;
  /** New key output file. */
  outkey?: string;
}

/** Parameters of `cert-signreq`. */
export interface CertSignReqParams {
  /** Request file. */
  req: string;
  /** CA certificate file. */
  cacert: string;
  /** CA key file. */
  cakey: string;
  /** RFC 3339 start of validity (default now). */
  notbefore?: string;
  /** RFC 3339 end of validity (default now + 1 year). */
  notafter?: string;
  /** Output certificate file. */
  outcert: string;
  /** True: do not prompt. */
  verify: boolean;
}

/** Interactive I/O used by `cert-signreq`: show `text`, return one line (null at EOF). */
export interface PromptIo {
  /** Print `text` (no newline added) and read one line of input; null on end of input. */
  prompt(text: string): Promise<string | null>;
}

/** A certificate action section as the config layer delivers it (lower-case field names). */
export type CertActionSection =
  | ({ kind: "cert-init" } & CertInitParams)
  | ({ kind: "cert-makereq" } & CertMakeReqParams)
  | ({ kind: "cert-signreq" } & CertSignReqParams);

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parse an RFC 3339 time as Go's `time.Parse(time.RFC3339, s)` does. */
export function parseRfc3339(s: string): Date {
  const m = s.match(RFC3339);
  if (!m) {
    throw new Error(
      `parsing time ${JSON.stringify(s)} as "2006-01-02T15:04:05Z07:00": cannot parse ${
        JSON.stringify(s)
      } as RFC 3339`,
    );
  }
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const frac = m[7] ? Math.floor(Number("0" + m[7]) * 1000) : 0;
  const local = new Date(Date.UTC(y, mo - 1, d, h, mi, se, frac));
  local.setUTCFullYear(y); // years 0-99 are not 1900-1999
  const fields: [string, boolean][] = [
    ["month", mo >= 1 && mo <= 12],
    ["day", d >= 1 && local.getUTCDate() === d],
    ["hour", h <= 23],
    ["minute", mi <= 59],
    ["second", se <= 59],
  ];
  const badField = fields.find(([, ok]) => !ok);
  if (badField) throw new Error(`parsing time ${JSON.stringify(s)}: ${badField[0]} out of range`);
  let offsetMin = 0;
  if (m[8] !== "Z" && m[8] !== "z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    offsetMin = sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
  }
  return new Date(local.getTime() - offsetMin * 60_000);
}

function addYears(d: Date, n: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + n);
  return r;
}

function nowSerial(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

function generateRsa(bits: number): KeyObject {
  if (!Number.isInteger(bits) || bits < 512) {
    throw new Error(`crypto/rsa: ${bits}-bit keys are not supported (minimum 512)`);
  }
  try {
    return generateKeyPairSync("rsa", { modulusLength: bits }).privateKey;
  } catch (e) {
    throw new Error(`crypto/rsa: ${errorText(e)}`);
  }
}

function rsaPem(key: KeyObject): string {
  return String(key.export({ type: "pkcs1", format: "pem" }));
}

/** `cert-init`: create a self-signed CA certificate and its RSA key. */
export function certInit(p: CertInitParams): Promise<void> {
  return Promise.resolve().then(() => {
    const notBefore = p.notbefore ? parseRfc3339(p.notbefore) : new Date();
    const notAfter = p.notafter ? parseRfc3339(p.notafter) : addYears(new Date(), 10);
    if (!p.commonname) throw new Error("must provide CommonName");
    const key = generateRsa(p.bits || 2048);
    const spki = spkiOf(key);
    const name = encodeNameCN(p.commonname);
    const extensions: ExtensionSpec[] = [
      {
        oid: OID.keyUsage,
        critical: true,
        value: keyUsageValue([KU.digitalSignature, KU.keyCertSign]),
      },
      {
        oid: OID.extKeyUsage,
        critical: false,
        value: extKeyUsageValue([OID.clientAuth, OID.serverAuth]),
      },
      { oid: OID.basicConstraints, critical: true, value: basicConstraintsCaValue() },
      { oid: OID.subjectKeyId, critical: false, value: subjectKeyIdValue(subjectKeyIdFor(spki)) },
    ];
    const der = buildCertificate({
      serial: nowSerial(),
      issuerRaw: name,
      subjectRaw: name,
      notBefore,
      notAfter,
      spkiRaw: spki,
      extensions,
      sigAlgOid: OID.sha256WithRSA,
      signingKey: key,
    });
    writePrivateFile(p.outcert, pemEncode("CERTIFICATE", der));
    writePrivateFile(p.outkey, rsaPem(key));
  });
}

/** Start-up (Prepare-phase) checks of `cert-makereq`, upstream order and texts. */
export function checkMakeReq(p: { inkey?: string; outkey?: string; bits?: number }): void {
  if (!p.inkey && !p.outkey) throw new Error("must provide either InKey or OutKey");
  if (p.inkey && p.outkey) throw new Error("cannot use both InKey and OutKey");
  if (p.inkey && p.bits) {
    throw new Error("cannot specify key bits when reading an already-existing key");
  }
  if (p.outkey && !p.bits) throw new Error("must specify key bits when creating a new key");
}

/** `cert-makereq`: write a CSR (and, with `outkey`, a new RSA key). */
export function certMakeReq(p: CertMakeReqParams): Promise<void> {
  return Promise.resolve().then(() => {
    checkMakeReq(p);
    const ips = (p.ipaddress ?? []).map((s) => {
      const ip = parseIp(s);
      if (!ip) throw new Error(`invalid IP address: ${s}`);
      return ip;
    });
    let key: KeyObject;
    if (p.inkey) {
      key = loadRequestKeyFile(p.inkey);
      if (!p.commonname) throw new Error("must provide CommonName");
    } else {
      if (!p.commonname) throw new Error("must provide CommonName");
      key = generateRsa(p.bits ?? 0);
    }
    const san = encodeReceptorSan({
      dnsNames: p.dnsname ?? [],
      ipAddresses: ips,
      nodeIds: p.nodeid ?? [],
    });
    const der = buildCsr({
      subjectRaw: encodeNameCN(p.commonname),
      key,
      extensions: [{ oid: OID.subjectAltName, critical: false, value: san }],
    });
    writePrivateFile(p.outreq, pemEncode("CERTIFICATE REQUEST", der));
    if (p.outkey) writePrivateFile(p.outkey, rsaPem(key));
  });
}

/** The summary text shown before the signing prompt (upstream layout), prompt included. */
export function signReqSummary(req: ParsedCsr): string {
  const names = sanNamesOf(req);
  let algo = publicKeyAlgorithmName(req.publicKeyAlgOid);
  if (algo === "RSA") {
    const pub = createPublicKey({ key: Buffer.from(req.spkiRaw), format: "der", type: "spki" });
    const bits = pub.asymmetricKeyDetails?.modulusLength ?? 0;
    algo = `RSA (${Math.ceil(bits / 8) * 8} bits)`;
  }
  const lines = [
    "Requested certificate:",
    `  Subject: ${nameToString(req.subjectRaw)}`,
    `  Encryption Algorithm: ${algo}`,
    `  Signature Algorithm: ${signatureAlgorithmName(req.sigAlgOid)}`,
    "  Names:",
    ...names.dnsNames.map((n) => `    DNS Name: ${n}`),
    ...names.ipAddresses.map((ip) => `    IP Address: ${formatIp(ip)}`),
    ...names.nodeIds.map((n) => `    Receptor Node ID: ${n}`),
  ];
  return lines.join("\n") + "\nSign certificate (yes/no)? ";
}

/** Interpret one input line like Go's `fmt.Scanln(&word)`; returns the word or throws. */
export function scanlnWord(line: string | null): string {
  if (line === null) throw new Error("EOF");
  const words = line.replace(/\r?\n$/, "").trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) throw new Error("unexpected newline");
  if (words.length > 1) throw new Error("expected newline");
  return words[0];
}

function hashForSig(oid: string): string | undefined {
  return {
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
  }[oid];
}

/** Default prompt: write to stdout, read one line from stdin (byte by byte, no over-read). */
export const stdioPrompt: PromptIo = {
  prompt(text: string): Promise<string | null> {
    Deno.stdout.writeSync(new TextEncoder().encode(text));
    const bytes: number[] = [];
    const one = new Uint8Array(1);
    for (;;) {
      const n = Deno.stdin.readSync(one);
      if (n === null || n === 0) return Promise.resolve(bytes.length ? decode(bytes) : null);
      if (one[0] === 0x0a) return Promise.resolve(decode(bytes));
      bytes.push(one[0]);
    }
  },
};

function decode(b: number[]): string {
  return new TextDecoder().decode(Uint8Array.from(b));
}

/** `cert-signreq`: sign a CSR with a CA, after the interactive confirmation unless `verify`. */
export async function certSignReq(p: CertSignReqParams, io: PromptIo = stdioPrompt): Promise<void> {
  const notBefore = p.notbefore ? parseRfc3339(p.notbefore) : undefined;
  const notAfter = p.notafter ? parseRfc3339(p.notafter) : undefined;
  const caCert = loadCertificateFile(p.cacert);
  const caKey = loadRsaPrivateKeyFile(p.cakey);
  const req = loadRequestFile(p.req);
  const names = sanNamesOf(req);
  if (!names.dnsNames.length && !names.ipAddresses.length && !names.nodeIds.length) {
    throw new Error("cannot sign: no names found in certificate");
  }
  if (!p.verify) {
    const word = scanlnWord(await io.prompt(signReqSummary(req))).toLowerCase();
    if (word !== "y" && word !== "yes") throw new Error("user declined");
  }
  // Saner than upstream: refuse a request whose own signature does not verify.
  const hash = hashForSig(req.sigAlgOid);
  const reqPub = createPublicKey({ key: Buffer.from(req.spkiRaw), format: "der", type: "spki" });
  if (hash && !nodeVerify(hash, Buffer.from(req.info), reqPub, Buffer.from(req.signature))) {
    throw new Error("x509: certificate request signature is invalid");
  }
  const caPub = createPublicKey({ key: Buffer.from(caCert.spkiRaw), format: "der", type: "spki" });
  if (!caPub.equals(createPublicKey(caKey))) {
    throw new Error("x509: provided PrivateKey doesn't match parent's PublicKey");
  }
  const now = new Date();
  const extensions: ExtensionSpec[] = [
    { oid: OID.keyUsage, critical: true, value: keyUsageValue([KU.digitalSignature]) },
    {
      oid: OID.extKeyUsage,
      critical: false,
      value: extKeyUsageValue([OID.clientAuth, OID.serverAuth]),
    },
  ];
  if (caCert.subjectKeyId && caCert.subjectKeyId.length) {
    extensions.push({
      oid: OID.authorityKeyId,
      critical: false,
      value: authorityKeyIdValue(caCert.subjectKeyId),
    });
  }
  const san = req.extensions.find((e) => e.oid === OID.subjectAltName);
  if (san) extensions.push({ oid: san.oid, critical: san.critical, value: san.value });
  const der = buildCertificate({
    serial: nowSerial(),
    issuerRaw: caCert.subjectRaw,
    subjectRaw: req.subjectRaw,
    notBefore: notBefore ?? now,
    notAfter: notAfter ?? addYears(now, 1),
    spkiRaw: req.spkiRaw,
    extensions,
    sigAlgOid: req.sigAlgOid,
    signingKey: caKey,
  });
  writePrivateFile(p.outcert, pemEncode("CERTIFICATE", der));
}

/** Run one certificate action section (the config layer's entry point). */
export function runCertAction(section: CertActionSection, io?: PromptIo): Promise<void> {
  switch (section.kind) {
    case "cert-init":
      return certInit(section);
    case "cert-makereq":
      return certMakeReq({
        ...section,
        dnsname: section.dnsname ?? [],
        ipaddress: section.ipaddress ?? [],
        nodeid: section.nodeid ?? [],
      });
    case "cert-signreq":
      return certSignReq({ ...section, verify: !!section.verify }, io);
  }
}
