/**
 * Loading `tls-server` / `tls-client` sections (config.md §3.5–3.6, upstream
 * `pkg/netceptor/tlsconfig.go`) for a node: reads and checks the files once (Prepare phase),
 * keeps PEM text for node:tls and DER + KeyObject for our QUIC TLS engine, parsed roots and
 * pinned fingerprints, and runs the start-up node-ID self-check. Every start-up error is one
 * line naming the file and the problem. `reload()` re-reads the files for hot reload.
 * @module
 */

import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { bytesEqual } from "./der.ts";
import { osErrorText, pemDecodeAllLenient, pemEncode } from "./pem.ts";
import { type ChainVerifier, makeChainVerifier, parsePinnedFingerprints } from "./verify.ts";
import { parseCertificate, type ParsedCertificate, sanNamesOf } from "./x509_parse.ts";
import { errorText } from "../util/error_text.ts";

/** A `tls-server` section (lower-case keys, defaults applied by the config layer or here). */
export interface TlsServerSection {
  /** Configuration name. */
  name: string;
  /** Certificate (chain) PEM file. */
  cert: string;
  /** Private key PEM file. */
  key: string;
  /** Demand and verify a client certificate. */
  requireclientcert?: boolean;
  /** CA bundle file for client certificates. */
  clientcas?: string;
  /** Pinned client certificate fingerprints (hex). */
  pinnedclientcert?: string[];
  /** Skip the start-up node-ID check of `cert`. */
  skipreceptornamescheck?: boolean;
  /** Minimum TLS 1.3. */
  mintls13?: boolean;
}

/** A `tls-client` section. */
export interface TlsClientSection {
  /** Configuration name. */
  name: string;
  /** Client certificate file (may be empty together with `key`). */
  cert?: string;
  /** Client key file. */
  key?: string;
  /** CA bundle file; system roots when unset. */
  rootcas?: string;
  /** Accept any server certificate. */
  insecureskipverify?: boolean;
  /** Pinned server certificate fingerprints (hex). */
  pinnedservercert?: string[];
  /** Skip the start-up node-ID check of `cert`. */
  skipreceptornamescheck?: boolean;
  /** Minimum TLS 1.3. */
  mintls13?: boolean;
}

/** Load-time options. */
export interface TlsLoadOptions {
  /** Clock for the expiry check (default: real time). */
  now?: () => Date;
  /** Reject an expired own certificate at start-up (default true; Go does not check). */
  rejectExpired?: boolean;
}

/** Our own certificate and key, in both forms. */
export interface OwnIdentity {
  /** Chain as PEM (leaf first), for node:tls `cert`. */
  certPem: string;
  /** Private key as PKCS#8 PEM, for node:tls `key`. */
  keyPem: string;
  /** Chain as DER (leaf first), for the QUIC TLS engine. */
  certChainDer: Uint8Array[];
  /** Private key object. */
  privateKey: KeyObject;
  /** Parsed leaf. */
  leaf: ParsedCertificate;
}

/** A loaded `tls-server` configuration. */
export interface LoadedTlsServer extends OwnIdentity {
  /** Discriminator. */
  kind: "server";
  /** The section it came from. */
  section: TlsServerSection;
  /** Node ID it was checked against. */
  nodeId: string;
  /** Client-certificate mode (Go's ClientAuth). */
  clientAuth: "none" | "verify-if-given" | "require";
  /** Client CA bundle as PEM (empty when unset), for node:tls `ca`. */
  caPem: string;
  /** Client CA certificates (DER). */
  clientCaDer: Uint8Array[];
  /** Pinned client fingerprints. */
  pinned: Uint8Array[];
  /** Minimum TLS version. */
  minVersion: "TLSv1.2" | "TLSv1.3";
  /** Files to watch for hot reload. */
  files: string[];
  /** Re-read the files; returns a fresh object or throws like the first load. */
  reload(): LoadedTlsServer;
}

/** A loaded `tls-client` configuration. */
export interface LoadedTlsClient {
  /** Discriminator. */
  kind: "client";
  /** The section it came from. */
  section: TlsClientSection;
  /** Node ID it was checked against. */
  nodeId: string;
  /** Own certificate and key, if configured. */
  identity?: OwnIdentity;
  /** Root CA bundle as PEM (system roots when `rootcas` is unset). */
  caPem: string;
  /** Root CA certificates (DER). */
  rootDer: Uint8Array[];
  /** Accept any server certificate. */
  insecureSkipVerify: boolean;
  /** Pinned server fingerprints. */
  pinned: Uint8Array[];
  /** Minimum TLS version. */
  minVersion: "TLSv1.2" | "TLSv1.3";
  /** Files to watch for hot reload. */
  files: string[];
  /** Re-read the files; returns a fresh object or throws like the first load. */
  reload(): LoadedTlsClient;
}

/** Where Go looks for the system trust store on Linux (after `SSL_CERT_FILE`). */
export const SYSTEM_ROOT_FILES: readonly string[] = Object.freeze([
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
]);

/** Load the system trust store (first readable bundle), as DER certificates. */
export function loadSystemRoots(): Uint8Array[] {
  let env: string | undefined;
  try {
    env = Deno.env.get("SSL_CERT_FILE");
  } catch {
    // no permission to read the environment: use the system root files
    env = undefined;
  }
  for (const f of env ? [env] : SYSTEM_ROOT_FILES) {
    try {
      return bundleDer(Deno.readTextFileSync(f));
    } catch {
      // try the next location
    }
  }
  return [];
}

function bundleDer(text: string): Uint8Array[] {
  return pemDecodeAllLenient(text).filter((b) => b.type === "CERTIFICATE" && !b.hasHeaders).map((
    b,
  ) => b.der);
}

function readFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(osErrorText(path, e));
  }
}

/** Go's tls.X509KeyPair checks, with the file names appended to each message. */
function loadIdentity(certFile: string, keyFile: string, o: TlsLoadOptions): OwnIdentity {
  const certText = readFile(certFile);
  const keyText = readFile(keyFile);
  const where = `cert=${certFile}`;
  const certBlocks = pemDecodeAllLenient(certText);
  const certDers = certBlocks.filter((b) => b.type === "CERTIFICATE").map((b) => b.der);
  if (!certDers.length) {
    if (!certBlocks.length) {
      throw new Error(`tls: failed to find any PEM data in certificate input; ${where}`);
    }
    if (certBlocks.some((b) => b.type.endsWith("PRIVATE KEY"))) {
      throw new Error(
        `tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched; ${where}`,
      );
    }
    throw new Error(
      `tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${
        certBlocks.map((b) => b.type).join(" ")
      }]; ${where}`,
    );
  }
  const keyWhere = `key=${keyFile}`;
  const keyBlocks = pemDecodeAllLenient(keyText);
  const kb = keyBlocks.find((b) => b.type === "PRIVATE KEY" || b.type.endsWith(" PRIVATE KEY"));
  if (!kb) {
    if (!keyBlocks.length) {
      throw new Error(`tls: failed to find any PEM data in key input; ${keyWhere}`);
    }
    if (keyBlocks.some((b) => b.type === "CERTIFICATE")) {
      throw new Error(
        `tls: found a certificate rather than a key in the PEM for the private key; ${keyWhere}`,
      );
    }
    throw new Error(
      `tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${
        keyBlocks.map((b) => b.type).join(" ")
      }]; ${keyWhere}`,
    );
  }
  let leaf: ParsedCertificate;
  try {
    leaf = parseCertificate(certDers[0]);
  } catch (e) {
    throw new Error(`${errorText(e)}; ${where}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pemEncode(kb.type, kb.der));
  } catch {
    throw new Error(`tls: failed to parse private key; ${keyWhere}`);
  }
  const pubDer = new Uint8Array(
    createPublicKey(privateKey).export({ type: "spki", format: "der" }) as Uint8Array,
  );
  if (!bytesEqual(pubDer, leaf.spkiRaw)) {
    const leafType =
      createPublicKey({ key: Buffer.from(leaf.spkiRaw), format: "der", type: "spki" })
        .asymmetricKeyType;
    const msg = leafType === privateKey.asymmetricKeyType
      ? "tls: private key does not match public key"
      : "tls: private key type does not match public key type";
    throw new Error(`${msg}; ${where}; ${keyWhere}`);
  }
  const now = (o.now ?? (() => new Date()))();
  if ((o.rejectExpired ?? true) && now.getTime() > leaf.notAfter.getTime()) {
    throw new Error(
      `certificate has expired: current time ${now.toISOString()} is after ${leaf.notAfter.toISOString()}; ${where}`,
    );
  }
  return {
    certPem: certDers.map((d) => pemEncode("CERTIFICATE", d)).join(""),
    keyPem: String(privateKey.export({ type: "pkcs8", format: "pem" })),
    certChainDer: certDers,
    privateKey,
    leaf,
  };
}

function namesCheck(id: OwnIdentity, nodeId: string, section: string, certFile: string): void {
  let names: string[];
  try {
    names = sanNamesOf(id.leaf).nodeIds;
  } catch (e) {
    throw new Error(`${errorText(e)}; cfg section=${section}; server cert=${certFile}`);
  }
  if (!names.includes(nodeId)) {
    throw new Error(
      `nodeID=${nodeId} not found in certificate name(s); names found=[${
        names.join(" ")
      }]; cfg section=${section}; server cert=${certFile}`,
    );
  }
}

function loadBundle(path: string, what: string): { der: Uint8Array[]; pem: string } {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`error reading ${what} file: ${osErrorText(path, e)}`);
  }
  const der = bundleDer(text);
  return { der, pem: der.map((d) => pemEncode("CERTIFICATE", d)).join("") };
}

/** Load a `tls-server` section for node `nodeId`. Throws `error preparing tls server config: ...`. */
export function loadTlsServer(
  section: TlsServerSection,
  nodeId: string,
  opts: TlsLoadOptions = {},
): LoadedTlsServer {
  try {
    const id = loadIdentity(section.cert, section.key, opts);
    if (!section.skipreceptornamescheck) namesCheck(id, nodeId, section.name, section.cert);
    const ca = section.clientcas
      ? loadBundle(section.clientcas, "client CAs")
      : { der: [], pem: "" };
    const pinned = parsePinnedFingerprints(section.pinnedclientcert ?? []);
    const files = [section.cert, section.key, ...(section.clientcas ? [section.clientcas] : [])];
    return {
      kind: "server",
      section,
      nodeId,
      ...id,
      clientAuth: section.requireclientcert
        ? "require"
        : section.clientcas
        ? "verify-if-given"
        : "none",
      caPem: ca.pem,
      clientCaDer: ca.der,
      pinned,
      minVersion: section.mintls13 ? "TLSv1.3" : "TLSv1.2",
      files,
      reload: () => loadTlsServer(section, nodeId, opts),
    };
  } catch (e) {
    throw new Error(`error preparing tls server config: ${errorText(e)}`);
  }
}

/** Load a `tls-client` section for node `nodeId`. Throws `error preparing tls client config: ...`. */
export function loadTlsClient(
  section: TlsClientSection,
  nodeId: string,
  opts: TlsLoadOptions = {},
): LoadedTlsClient {
  try {
    let identity: OwnIdentity | undefined;
    if (section.cert || section.key) {
      if (!section.cert || !section.key) {
        throw new Error("cert and key must both be supplied or neither");
      }
      identity = loadIdentity(section.cert, section.key, opts);
      if (!section.skipreceptornamescheck) namesCheck(identity, nodeId, section.name, section.cert);
    }
    let roots: { der: Uint8Array[]; pem: string };
    if (section.rootcas) roots = loadBundle(section.rootcas, "root CAs");
    else {
      const der = loadSystemRoots();
      roots = { der, pem: der.map((d) => pemEncode("CERTIFICATE", d)).join("") };
    }
    const pinned = parsePinnedFingerprints(section.pinnedservercert ?? []);
    const files = [section.cert, section.key, section.rootcas].filter((f): f is string => !!f);
    return {
      kind: "client",
      section,
      nodeId,
      identity,
      caPem: roots.pem,
      rootDer: roots.der,
      insecureSkipVerify: !!section.insecureskipverify,
      pinned,
      minVersion: section.mintls13 ? "TLSv1.3" : "TLSv1.2",
      files,
      reload: () => loadTlsClient(section, nodeId, opts),
    };
  } catch (e) {
    throw new Error(`error preparing tls client config: ${errorText(e)}`);
  }
}

/**
 * Verifier a server applies to client certificates: chain to `clientcas`, clientAuth EKU,
 * pinned fingerprints, and (our extension, upstream issue #417) an optional node ID. With
 * client certificates not requested it accepts anything.
 */
export function serverChainVerifier(
  loaded: LoadedTlsServer,
  opts: { expectedNodeId?: string; now?: () => Date } = {},
): ChainVerifier {
  if (loaded.clientAuth === "none") return () => null;
  return makeChainVerifier({
    roots: loaded.clientCaDer,
    requiredEku: "clientAuth",
    pinnedSha256or512: loaded.pinned,
    expectedNodeId: opts.expectedNodeId,
    now: opts.now,
  });
}

/**
 * Verifier a client applies to the server: chain to `rootcas`, serverAuth EKU, pinned
 * fingerprints, DNS/IP name (`expectedHost`) and/or node ID; nothing with insecureskipverify.
 */
export function clientChainVerifier(
  loaded: LoadedTlsClient,
  opts: { expectedHost?: string; expectedNodeId?: string; now?: () => Date } = {},
): ChainVerifier {
  return makeChainVerifier({
    roots: loaded.rootDer,
    requiredEku: "serverAuth",
    pinnedSha256or512: loaded.pinned,
    expectedHost: opts.expectedHost,
    expectedNodeId: opts.expectedNodeId,
    skipVerify: loaded.insecureSkipVerify,
    now: opts.now,
  });
}

export {
  clientConnectOptions,
  peerCertificateChain,
  serverSecureContextOptions,
  verifyTlsSocket,
} from "./tls_node.ts";
