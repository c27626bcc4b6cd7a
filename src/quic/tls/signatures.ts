/**
 * Signature schemes for CertificateVerify (RFC 8446 §4.2.3, §4.4.3): which schemes we offer,
 * choosing one for our key, and signing/verifying with node:crypto.
 * @module
 */
import { constants, type KeyObject, sign, verify } from "node:crypto";
import { Alert, fail } from "./errors.ts";
import { concatBytes } from "../../util/bytes.ts";

/** SignatureScheme code points. */
export const Scheme = {
  rsaPkcs1Sha256: 0x0401,
  rsaPkcs1Sha384: 0x0501,
  rsaPkcs1Sha512: 0x0601,
  ecdsaP256Sha256: 0x0403,
  ecdsaP384Sha384: 0x0503,
  ecdsaP521Sha512: 0x0603,
  rsaPssRsaeSha256: 0x0804,
  rsaPssRsaeSha384: 0x0805,
  rsaPssRsaeSha512: 0x0806,
  ed25519: 0x0807,
} as const;

/** Schemes we accept in CertificateVerify (offered in signature_algorithms). */
export const SUPPORTED_SCHEMES: number[] = [
  Scheme.ecdsaP256Sha256,
  Scheme.rsaPssRsaeSha256,
  Scheme.ecdsaP384Sha384,
  Scheme.rsaPssRsaeSha384,
  Scheme.rsaPssRsaeSha512,
  Scheme.ecdsaP521Sha512,
  Scheme.ed25519,
];

/** Schemes offered in signature_algorithms_cert (certificate signatures; not checked by us). */
export const CERT_SCHEMES: number[] = [
  ...SUPPORTED_SCHEMES,
  Scheme.rsaPkcs1Sha256,
  Scheme.rsaPkcs1Sha384,
  Scheme.rsaPkcs1Sha512,
];

interface SchemeSpec {
  keyType: "rsa" | "ec" | "ed25519";
  curve?: string;
  hash: string | null;
  pss: boolean;
}

const SPECS = new Map<number, SchemeSpec>([
  [Scheme.ecdsaP256Sha256, { keyType: "ec", curve: "prime256v1", hash: "sha256", pss: false }],
  [Scheme.ecdsaP384Sha384, { keyType: "ec", curve: "secp384r1", hash: "sha384", pss: false }],
  [Scheme.ecdsaP521Sha512, { keyType: "ec", curve: "secp521r1", hash: "sha512", pss: false }],
  [Scheme.rsaPssRsaeSha256, { keyType: "rsa", hash: "sha256", pss: true }],
  [Scheme.rsaPssRsaeSha384, { keyType: "rsa", hash: "sha384", pss: true }],
  [Scheme.rsaPssRsaeSha512, { keyType: "rsa", hash: "sha512", pss: true }],
  [Scheme.ed25519, { keyType: "ed25519", hash: null, pss: false }],
]);

function keyMatches(spec: SchemeSpec, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== spec.keyType) return false;
  if (spec.curve) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === spec.curve || (spec.curve === "prime256v1" && curve === "P-256") ||
      (spec.curve === "secp384r1" && curve === "P-384") ||
      (spec.curve === "secp521r1" && curve === "P-521");
  }
  return true;
}

/** The first scheme in our preference order usable with `key` and allowed by `peerSchemes`. */
export function chooseScheme(key: KeyObject, peerSchemes: number[]): number | undefined {
  for (const s of SUPPORTED_SCHEMES) {
    const spec = SPECS.get(s)!;
    if (peerSchemes.includes(s) && keyMatches(spec, key)) return s;
  }
  return undefined;
}

const CONTEXT_SERVER = "TLS 1.3, server CertificateVerify";
const CONTEXT_CLIENT = "TLS 1.3, client CertificateVerify";

/** The signed content: 64 spaces || context string || 0x00 || transcript hash (RFC 8446 §4.4.3). */
export function certificateVerifyContent(
  fromServer: boolean,
  transcriptHash: Uint8Array,
): Uint8Array {
  const pad = new Uint8Array(64).fill(0x20);
  const ctx = new TextEncoder().encode(fromServer ? CONTEXT_SERVER : CONTEXT_CLIENT);
  return concatBytes(pad, ctx, new Uint8Array([0]), transcriptHash);
}

function options(spec: SchemeSpec, key: KeyObject) {
  return spec.pss
    ? {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }
    : key;
}

/** Signs `content` with `scheme` (ECDSA signatures are DER as TLS requires). */
export function signContent(scheme: number, key: KeyObject, content: Uint8Array): Uint8Array {
  const spec = SPECS.get(scheme);
  if (!spec) throw new Error(`signContent: unsupported scheme 0x${scheme.toString(16)}`);
  return new Uint8Array(sign(spec.hash, content, options(spec, key)));
}

/**
 * Verifies a peer CertificateVerify: the scheme must be one we offered and fit the leaf's key
 * (else illegal_parameter); a bad signature is decrypt_error.
 */
export function verifyContent(
  scheme: number,
  publicKey: KeyObject,
  content: Uint8Array,
  signature: Uint8Array,
): void {
  const spec = SPECS.get(scheme);
  if (!spec) {
    fail(Alert.illegalParameter, `CertificateVerify: scheme 0x${scheme.toString(16)} not offered`);
  }
  if (!keyMatches(spec, publicKey)) {
    fail(
      Alert.illegalParameter,
      `CertificateVerify: scheme 0x${scheme.toString(16)} does not match the ${
        publicKey.asymmetricKeyType ?? "unknown"
      } certificate key`,
    );
  }
  let ok = false;
  try {
    ok = verify(spec.hash, content, options(spec, publicKey), signature);
  } catch {
    ok = false;
  }
  if (!ok) fail(Alert.decryptError, "CertificateVerify: signature does not verify");
}
