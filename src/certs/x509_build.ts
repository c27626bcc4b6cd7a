/**
 * Building X.509 certificates and PKCS#10 requests the way Go's crypto/x509 lays them out for
 * receptor's certificate actions (extension order, critical flags, key-usage bit strings,
 * UTCTime/GeneralizedTime choice). Signing is done by node:crypto.
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createPublicKey, type KeyObject, sign as nodeSign } from "node:crypto";
import {
  bitString,
  children,
  encodeOid,
  encodeTime,
  encodeUnsignedInteger,
  parseOne,
  seq,
  set,
  TAG,
  tlv,
} from "./der.ts";
import { OID } from "./x509_parse.ts";

/** An extension to encode. */
export interface ExtensionSpec {
  /** Dotted OID. */
  oid: string;
  /** Critical flag (omitted from DER when false). */
  critical: boolean;
  /** extnValue content. */
  value: Uint8Array;
}

/** Fields of a certificate to build and sign. */
export interface CertificateSpec {
  /** Serial number (positive). */
  serial: bigint;
  /** Raw issuer Name DER. */
  issuerRaw: Uint8Array;
  /** Raw subject Name DER. */
  subjectRaw: Uint8Array;
  /** Validity start. */
  notBefore: Date;
  /** Validity end. */
  notAfter: Date;
  /** Raw SubjectPublicKeyInfo of the subject key. */
  spkiRaw: Uint8Array;
  /** Extensions in order. */
  extensions: ExtensionSpec[];
  /** Signature algorithm OID (must suit `signingKey`). */
  sigAlgOid: string;
  /** Issuer private key. */
  signingKey: KeyObject;
}

const SIG_HASH: Record<string, { hash: string | null; key: string; nullParams: boolean }> = {
  "1.2.840.113549.1.1.11": { hash: "sha256", key: "rsa", nullParams: true },
  "1.2.840.113549.1.1.12": { hash: "sha384", key: "rsa", nullParams: true },
  "1.2.840.113549.1.1.13": { hash: "sha512", key: "rsa", nullParams: true },
  "1.2.840.10045.4.3.2": { hash: "sha256", key: "ec", nullParams: false },
  "1.2.840.10045.4.3.3": { hash: "sha384", key: "ec", nullParams: false },
  "1.2.840.10045.4.3.4": { hash: "sha512", key: "ec", nullParams: false },
  // Ed25519 (RFC 8410): no parameters, signs the message itself
  "1.3.101.112": { hash: null, key: "ed25519", nullParams: false },
};

/** Default signature algorithm OID for a private key (SHA-256 with RSA or ECDSA). */
export function defaultSigAlgFor(key: KeyObject): string {
  return key.asymmetricKeyType === "ec" ? OID.ecdsaWithSHA256 : OID.sha256WithRSA;
}

/** AlgorithmIdentifier DER for a supported signature algorithm. */
export function sigAlgIdentifier(oid: string): Uint8Array {
  const s = SIG_HASH[oid];
  if (!s) throw new Error(`x509: cannot sign with signature algorithm ${oid}`);
  return s.nullParams ? seq(encodeOid(oid), tlv(TAG.NULL)) : seq(encodeOid(oid));
}

/** Sign `data` with `key` using the signature algorithm `oid`. */
export function signWith(oid: string, key: KeyObject, data: Uint8Array): Uint8Array {
  const s = SIG_HASH[oid];
  if (!s) throw new Error(`x509: cannot sign with signature algorithm ${oid}`);
  if (key.asymmetricKeyType !== s.key) {
    throw new Error("x509: requested SignatureAlgorithm does not match private key type");
  }
  return new Uint8Array(nodeSign(s.hash, Buffer.from(data), key));
}

/** Encode one Extension. */
export function encodeExtension(e: ExtensionSpec): Uint8Array {
  return seq(
    encodeOid(e.oid),
    e.critical ? tlv(TAG.BOOLEAN, Uint8Array.of(0xff)) : new Uint8Array(0),
    tlv(TAG.OCTET_STRING, e.value),
  );
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** A Name holding only `CN=<cn>` (PrintableString when possible, else UTF8String, like Go). */
export function encodeNameCN(cn: string): Uint8Array {
  const tag = PRINTABLE.test(cn) ? TAG.PRINTABLE_STRING : TAG.UTF8_STRING;
  return seq(set(seq(encodeOid(OID.commonName), tlv(tag, new TextEncoder().encode(cn)))));
}

/** KeyUsage bit numbers (RFC 5280). */
export const KU = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** keyUsage extension value with Go's minimal bit-string length. */
export function keyUsageValue(bits: number[]): Uint8Array {
  const bytes = [0, 0];
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  const len = bytes[1] ? 2 : 1;
  const used = bytes.slice(0, len);
  const last = used[len - 1];
  let unused = 0;
  if (last) { while (!(last & (1 << unused))) unused++; }
  return tlv(TAG.BIT_STRING, Uint8Array.of(last ? unused : 0, ...used));
}

/** extendedKeyUsage extension value. */
export function extKeyUsageValue(oids: string[]): Uint8Array {
  return seq(...oids.map(encodeOid));
}

/** basicConstraints value `CA:TRUE` without a path length. */
export function basicConstraintsCaValue(): Uint8Array {
  return seq(tlv(TAG.BOOLEAN, Uint8Array.of(0xff)));
}

/** SHA-1 of the subjectPublicKey bits, as Go computes a subjectKeyIdentifier. */
export function subjectKeyIdFor(spkiRaw: Uint8Array): Uint8Array {
  const spki = parseOne(spkiRaw, "subjectPublicKeyInfo", TAG.SEQUENCE);
  const bits = children(spki.content, "subjectPublicKeyInfo")[1];
  return new Uint8Array(createHash("sha1").update(bits.content.subarray(1)).digest());
}

/** subjectKeyIdentifier extension value. */
export function subjectKeyIdValue(keyId: Uint8Array): Uint8Array {
  return tlv(TAG.OCTET_STRING, keyId);
}

/** authorityKeyIdentifier extension value holding only a keyIdentifier. */
export function authorityKeyIdValue(keyId: Uint8Array): Uint8Array {
  return seq(tlv(0x80, keyId));
}

/** Raw SubjectPublicKeyInfo DER of a public or private key. */
export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: "spki", format: "der" }) as Uint8Array);
}

/** Build and sign a v3 certificate. Returns DER. */
export function buildCertificate(c: CertificateSpec): Uint8Array {
  const algId = sigAlgIdentifier(c.sigAlgOid);
  const tbs = seq(
    tlv(0xa0, encodeUnsignedInteger(2n)),
    encodeUnsignedInteger(c.serial),
    algId,
    c.issuerRaw,
    seq(encodeTime(c.notBefore), encodeTime(c.notAfter)),
    c.subjectRaw,
    c.spkiRaw,
    c.extensions.length ? tlv(0xa3, seq(...c.extensions.map(encodeExtension))) : new Uint8Array(0),
  );
  const sig = signWith(c.sigAlgOid, c.signingKey, tbs);
  return seq(tbs, algId, bitString(sig));
}

/** Build and sign a PKCS#10 request with the given subject and extensions. Returns DER. */
export function buildCsr(p: {
  subjectRaw: Uint8Array;
  key: KeyObject;
  extensions: ExtensionSpec[];
  sigAlgOid?: string;
}): Uint8Array {
  const sigAlgOid = p.sigAlgOid ?? defaultSigAlgFor(p.key);
  const algId = sigAlgIdentifier(sigAlgOid);
  const attrs = p.extensions.length
    ? tlv(
      0xa0,
      seq(encodeOid(OID.extensionRequest), set(seq(...p.extensions.map(encodeExtension)))),
    )
    : tlv(0xa0);
  const info = seq(encodeUnsignedInteger(0n), p.subjectRaw, spkiOf(p.key), attrs);
  const sig = signWith(sigAlgOid, p.key, info);
  return seq(info, algId, bitString(sig));
}
