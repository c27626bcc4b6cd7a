/**
 * The throw-away certificate of insecure stream services (wire.md §12.5): self-signed, serial 1,
 * CN `netceptor-insecure-common-name`, valid from now − 1 min to now + 24 h, no extensions.
 * Go uses RSA-2048; we use Ed25519 (any key type Go accepts is allowed): every stream dial
 * signs and verifies one CertificateVerify with it, and through node:crypto an Ed25519
 * signature costs ~0.02 ms to make and ~0.04 ms to check where EC P-256 took ~0.7 ms each
 * (about 1.4 ms of CPU per remote work unit, submitter and executor together).
 * @module
 */

import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { buildCertificate, encodeNameCN, spkiOf } from "./x509_build.ts";
import { OID } from "./x509_parse.ts";
import { INSECURE_COMMON_NAME } from "./verify.ts";

/** A self-signed certificate and its private key. */
export interface SelfSignedCert {
  /** Certificate DER. */
  certDer: Uint8Array;
  /** Private key (Ed25519). */
  privateKey: KeyObject;
}

/** Make the insecure-service certificate for a listener created at `now`. */
export function makeInsecureServiceCert(now: Date = new Date()): SelfSignedCert {
  const { privateKey } = generateKeyPairSync("ed25519");
  const name = encodeNameCN(INSECURE_COMMON_NAME);
  const certDer = buildCertificate({
    serial: 1n,
    issuerRaw: name,
    subjectRaw: name,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 24 * 3600_000),
    spkiRaw: spkiOf(privateKey),
    extensions: [],
    sigAlgOid: OID.ed25519,
    signingKey: privateKey,
  });
  return { certDer, privateKey };
}
