/**
 * Certificate tooling entry point: actions (`cert-init`/`cert-makereq`/`cert-signreq`),
 * node-ID SANs, PEM loading, chain verification, insecure-service certificates, TLS
 * configuration loading and node:tls / Deno.Conn TLS glue.
 * @module
 */

export {
  type CertActionSection,
  certInit,
  type CertInitParams,
  certMakeReq,
  type CertMakeReqParams,
  certSignReq,
  type CertSignReqParams,
  checkMakeReq,
  type PromptIo,
  runCertAction,
  stdioPrompt,
} from "./actions.ts";
export {
  decodeSubjectAltName,
  encodeNodeIdOtherName,
  encodeReceptorSan,
  RECEPTOR_NODE_ID_OID,
  type SanNames,
} from "./node_id_san.ts";
export {
  loadCertificateChainFile,
  loadCertificateFile,
  loadRequestFile,
  loadRsaPrivateKeyFile,
  pemDecodeAll,
  pemEncode,
} from "./pem.ts";
export { makeInsecureServiceCert, type SelfSignedCert } from "./self_signed.ts";
export {
  type ChainVerifier,
  type ChainVerifierOptions,
  fingerprintMatches,
  INSECURE_COMMON_NAME,
  insecureServiceVerifier,
  makeChainVerifier,
  parsePinnedFingerprints,
} from "./verify.ts";
export {
  clientChainVerifier,
  clientConnectOptions,
  type LoadedTlsClient,
  type LoadedTlsServer,
  loadTlsClient,
  loadTlsServer,
  peerCertificateChain,
  serverChainVerifier,
  serverSecureContextOptions,
  type TlsClientSection,
  type TlsLoadOptions,
  type TlsServerSection,
  verifyTlsSocket,
} from "./tls_config.ts";
export {
  type ConnLike,
  tlsClientOverConn,
  type TlsHandshakeResult,
  tlsServerOverConn,
} from "./tls_stream.ts";
export { parseCertificate, type ParsedCertificate, sanNamesOf } from "./x509_parse.ts";
