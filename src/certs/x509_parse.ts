/**
 * Structural parsing of X.509 certificates and PKCS#10 requests into the raw pieces our tools and
 * verifier need (exact TBS / name / SPKI bytes, extensions, times). Signatures are checked
 * elsewhere with node:crypto; this module only reads bytes.
 * @module
 */

import {
  children,
  decodeInteger,
  decodeOid,
  decodeTime,
  DerError,
  parseOne,
  TAG,
  type Tlv,
  toHex,
} from "./der.ts";
import { type SanNames, sanNamesFromExtensions } from "./node_id_san.ts";

/** Thrown when a certificate or request cannot be parsed. */
export class X509ParseError extends Error {
  override name = "X509ParseError";
}

/** One extension. */
export interface ParsedExtension {
  /** Dotted OID. */
  oid: string;
  /** Critical flag. */
  critical: boolean;
  /** extnValue content (the DER inside the OCTET STRING). */
  value: Uint8Array;
}

/** A parsed certificate (raw pieces plus decoded common extensions). */
export interface ParsedCertificate {
  /** Whole certificate DER. */
  der: Uint8Array;
  /** Raw TBSCertificate (what the signature covers). */
  tbs: Uint8Array;
  /** X.509 version number (1, 2 or 3). */
  version: number;
  /** Serial number. */
  serial: bigint;
  /** Signature algorithm OID (outer). */
  sigAlgOid: string;
  /** Raw issuer Name. */
  issuerRaw: Uint8Array;
  /** Raw subject Name. */
  subjectRaw: Uint8Array;
  /** Validity start. */
  notBefore: Date;
  /** Validity end. */
  notAfter: Date;
  /** Raw SubjectPublicKeyInfo. */
  spkiRaw: Uint8Array;
  /** Public key algorithm OID. */
  publicKeyAlgOid: string;
  /** Extensions in order. */
  extensions: ParsedExtension[];
  /** Signature bits (without the unused-bits octet). */
  signature: Uint8Array;
  /** basicConstraints, if present. */
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** extendedKeyUsage OIDs, if present. */
  extKeyUsage?: string[];
  /** subjectKeyIdentifier, if present. */
  subjectKeyId?: Uint8Array;
  /** authorityKeyIdentifier keyIdentifier, if present. */
  authorityKeyId?: Uint8Array;
}

/** A parsed PKCS#10 certificate request. */
export interface ParsedCsr {
  /** Whole request DER. */
  der: Uint8Array;
  /** Raw CertificationRequestInfo (what the signature covers). */
  info: Uint8Array;
  /** Raw subject Name. */
  subjectRaw: Uint8Array;
  /** Raw SubjectPublicKeyInfo. */
  spkiRaw: Uint8Array;
  /** Public key algorithm OID. */
  publicKeyAlgOid: string;
  /** Extensions from the extensionRequest attribute. */
  extensions: ParsedExtension[];
  /** Signature algorithm OID. */
  sigAlgOid: string;
  /** Signature bits. */
  signature: Uint8Array;
}

/** OIDs used across the certificate code. */
export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  subjectAltName: "2.5.29.17",
  nameConstraints: "2.5.29.30",
  certificatePolicies: "2.5.29.32",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  anyExtKeyUsage: "2.5.29.37.0",
  commonName: "2.5.4.3",
  extensionRequest: "1.2.840.113549.1.9.14",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  ed25519: "1.3.101.112",
  sha256WithRSA: "1.2.840.113549.1.1.11",
  sha384WithRSA: "1.2.840.113549.1.1.12",
  sha512WithRSA: "1.2.840.113549.1.1.13",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
} as const;

const SIG_NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.4": "MD5-RSA",
  "1.2.840.113549.1.1.5": "SHA1-RSA",
  "1.2.840.113549.1.1.11": "SHA256-RSA",
  "1.2.840.113549.1.1.12": "SHA384-RSA",
  "1.2.840.113549.1.1.13": "SHA512-RSA",
  "1.2.840.113549.1.1.10": "RSAPSS",
  "1.2.840.10045.4.1": "ECDSA-SHA1",
  "1.2.840.10045.4.3.2": "ECDSA-SHA256",
  "1.2.840.10045.4.3.3": "ECDSA-SHA384",
  "1.2.840.10045.4.3.4": "ECDSA-SHA512",
  "1.3.101.112": "Ed25519",
};

/** Go's name for a signature algorithm OID (`SHA256-RSA`, ...), else the OID itself. */
export function signatureAlgorithmName(oid: string): string {
  return SIG_NAMES[oid] ?? oid;
}

/** Go's name for a public key algorithm OID (`RSA`, `ECDSA`, `Ed25519`). */
export function publicKeyAlgorithmName(oid: string): string {
  return oid === OID.rsaEncryption
    ? "RSA"
    : oid === OID.ecPublicKey
    ? "ECDSA"
    : oid === OID.ed25519
    ? "Ed25519"
    : oid;
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DerError) throw new X509ParseError(`${what}: ${e.message}`);
    throw e;
  }
}

function algOid(t: Tlv, what: string): string {
  const k = children(t.content, what);
  if (t.tag !== TAG.SEQUENCE || k.length < 1 || k[0].tag !== TAG.OID) {
    throw new DerError(`${what}: malformed AlgorithmIdentifier`);
  }
  return decodeOid(k[0].content);
}

function bitStringBytes(t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.BIT_STRING || t.content.length < 1) {
    throw new DerError(`${what}: not a BIT STRING`);
  }
  return t.content.subarray(1);
}

function parseExtensions(t: Tlv, what: string): ParsedExtension[] {
  const seqEl = parseOne(t.content, what, TAG.SEQUENCE);
  return children(seqEl.content, what).map((e) => {
    const k = children(e.content, what);
    if (e.tag !== TAG.SEQUENCE || k.length < 2 || k[0].tag !== TAG.OID) {
      throw new DerError(`${what}: malformed extension`);
    }
    let critical = false;
    let v = k[1];
    if (v.tag === TAG.BOOLEAN) {
      critical = v.content[0] !== 0;
      v = k[2];
    }
    if (!v || v.tag !== TAG.OCTET_STRING) throw new DerError(`${what}: malformed extension value`);
    return { oid: decodeOid(k[0].content), critical, value: v.content };
  });
}

function decodeCommonExtensions(c: ParsedCertificate): void {
  for (const e of c.extensions) {
    if (e.oid === OID.basicConstraints) {
      const s = parseOne(e.value, "basicConstraints", TAG.SEQUENCE);
      const k = children(s.content, "basicConstraints");
      let ca = false;
      let pathLen: number | undefined;
      for (const x of k) {
        if (x.tag === TAG.BOOLEAN) ca = x.content[0] !== 0;
        else if (x.tag === TAG.INTEGER) pathLen = Number(decodeInteger(x.content));
      }
      c.basicConstraints = { ca, pathLen };
    } else if (e.oid === OID.extKeyUsage) {
      const s = parseOne(e.value, "extendedKeyUsage", TAG.SEQUENCE);
      c.extKeyUsage = children(s.content, "extendedKeyUsage").map((x) => decodeOid(x.content));
    } else if (e.oid === OID.subjectKeyId) {
      c.subjectKeyId = parseOne(e.value, "subjectKeyIdentifier", TAG.OCTET_STRING).content;
    } else if (e.oid === OID.authorityKeyId) {
      const s = parseOne(e.value, "authorityKeyIdentifier", TAG.SEQUENCE);
      const kid = children(s.content, "authorityKeyIdentifier").find((x) => x.tag === 0x80);
      if (kid) c.authorityKeyId = kid.content;
    }
  }
}

/** Parse a DER certificate. Throws {@link X509ParseError} with `x509: ...` text if malformed. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  return wrap("x509: malformed certificate", () => {
    const top = parseOne(der, "certificate", TAG.SEQUENCE);
    const [tbsEl, sigAlgEl, sigEl] = children(top.content, "certificate");
    if (!tbsEl || !sigAlgEl || !sigEl || tbsEl.tag !== TAG.SEQUENCE) {
      throw new DerError("certificate: expected tbsCertificate, signatureAlgorithm, signature");
    }
    const f = children(tbsEl.content, "tbsCertificate");
    let i = 0;
    let version = 1;
    if (f[i]?.tag === 0xa0) {
      const v = parseOne(f[i].content, "version", TAG.INTEGER);
      version = Number(decodeInteger(v.content)) + 1;
      i++;
    }
    const serialEl = f[i++];
    const tbsSig = f[i++];
    const issuer = f[i++];
    const validity = f[i++];
    const subject = f[i++];
    const spki = f[i++];
    if (
      !spki || serialEl.tag !== TAG.INTEGER || issuer.tag !== TAG.SEQUENCE ||
      subject.tag !== TAG.SEQUENCE
    ) {
      throw new DerError("tbsCertificate: missing fields");
    }
    algOid(tbsSig, "tbsCertificate signature");
    const [nb, na] = children(validity.content, "validity");
    if (!nb || !na) throw new DerError("validity: missing times");
    const spkiKids = children(spki.content, "subjectPublicKeyInfo");
    const cert: ParsedCertificate = {
      der,
      tbs: tbsEl.raw,
      version,
      serial: decodeInteger(serialEl.content),
      sigAlgOid: algOid(sigAlgEl, "signatureAlgorithm"),
      issuerRaw: issuer.raw,
      subjectRaw: subject.raw,
      notBefore: decodeTime(nb, "notBefore"),
      notAfter: decodeTime(na, "notAfter"),
      spkiRaw: spki.raw,
      publicKeyAlgOid: algOid(spkiKids[0], "subjectPublicKeyInfo"),
      extensions: [],
      signature: bitStringBytes(sigEl, "signature"),
    };
    for (; i < f.length; i++) {
      if (f[i].tag === 0xa3) cert.extensions = parseExtensions(f[i], "extensions");
    }
    decodeCommonExtensions(cert);
    return cert;
  });
}

/** Parse a DER PKCS#10 certificate request. Throws {@link X509ParseError} if malformed. */
export function parseCsr(der: Uint8Array): ParsedCsr {
  return wrap("x509: malformed certificate request", () => {
    const top = parseOne(der, "request", TAG.SEQUENCE);
    const [info, sigAlg, sig] = children(top.content, "request");
    if (!info || !sigAlg || !sig || info.tag !== TAG.SEQUENCE) {
      throw new DerError("request: missing fields");
    }
    const f = children(info.content, "certificationRequestInfo");
    const [ver, subject, spki, attrs] = f;
    if (
      !spki || ver.tag !== TAG.INTEGER || subject.tag !== TAG.SEQUENCE || spki.tag !== TAG.SEQUENCE
    ) {
      throw new DerError("certificationRequestInfo: missing fields");
    }
    const extensions: ParsedExtension[] = [];
    if (attrs && attrs.tag === 0xa0) {
      for (const a of children(attrs.content, "attributes")) {
        const [oid, values] = children(a.content, "attribute");
        if (!oid || oid.tag !== TAG.OID || !values || values.tag !== TAG.SET) {
          throw new DerError("attribute: malformed");
        }
        if (decodeOid(oid.content) !== OID.extensionRequest) continue;
        for (const v of children(values.content, "extensionRequest")) {
          extensions.push(...parseExtensions({ ...v, content: v.raw }, "extensionRequest"));
        }
      }
    }
    return {
      der,
      info: info.raw,
      subjectRaw: subject.raw,
      spkiRaw: spki.raw,
      publicKeyAlgOid: algOid(
        children(spki.content, "subjectPublicKeyInfo")[0],
        "subjectPublicKeyInfo",
      ),
      extensions,
      sigAlgOid: algOid(sigAlg, "signatureAlgorithm"),
      signature: bitStringBytes(sig, "signature"),
    };
  });
}

/** DNS/IP/node-ID names of a parsed certificate or request (throws SanError if malformed). */
export function sanNamesOf(x: { extensions: ParsedExtension[] }): SanNames {
  return sanNamesFromExtensions(x.extensions);
}

const SHORT_NAMES: Record<string, string> = {
  "2.5.4.6": "C",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.3": "CN",
  "2.5.4.5": "SERIALNUMBER",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.17": "POSTALCODE",
};

const STRING_TAGS: ReadonlySet<number> = new Set([
  TAG.UTF8_STRING,
  TAG.PRINTABLE_STRING,
  TAG.IA5_STRING,
  TAG.T61_STRING,
  TAG.NUMERIC_STRING,
]);

function attrText(v: Tlv): string {
  if (v.tag === TAG.UTF8_STRING) return new TextDecoder().decode(v.content);
  return String.fromCharCode(...v.content);
}

function escapeRdn(s: string): string {
  let out = s.replace(/([,+"\\<>;])/g, "\\$1");
  if (out.startsWith(" ") || out.startsWith("#")) out = "\\" + out;
  if (out.endsWith(" ") && out.length > 1) out = out.slice(0, -1) + "\\ ";
  return out;
}

/** All attributes of a raw Name, in RDN order, as [oid, value element]. */
function nameAttributes(nameRaw: Uint8Array): { oid: string; value: Tlv }[][] {
  const n = parseOne(nameRaw, "name", TAG.SEQUENCE);
  return children(n.content, "name").map((rdn) =>
    children(rdn.content, "rdn").map((atv) => {
      const [oid, value] = children(atv.content, "attribute");
      if (!oid || !value || oid.tag !== TAG.OID) throw new DerError("name: malformed attribute");
      return { oid: decodeOid(oid.content), value };
    })
  );
}

/** Render a raw Name like Go's `pkix.Name.String()` (RFC 2253 order, e.g. `CN=hop1`). */
export function nameToString(nameRaw: Uint8Array): string {
  return wrap(
    "x509: malformed name",
    () =>
      nameAttributes(nameRaw).reverse().map((rdn) =>
        rdn.map(({ oid, value }) => {
          const short = SHORT_NAMES[oid];
          if (short && STRING_TAGS.has(value.tag)) return `${short}=${escapeRdn(attrText(value))}`;
          return `${oid}=#${toHex(value.raw)}`;
        }).join("+")
      ).join(","),
  );
}

/** The common name(s) in a raw Name, in order. */
export function commonNames(nameRaw: Uint8Array): string[] {
  return wrap(
    "x509: malformed name",
    () =>
      nameAttributes(nameRaw).flat().filter((a) => a.oid === OID.commonName).map((a) =>
        attrText(a.value)
      ),
  );
}
