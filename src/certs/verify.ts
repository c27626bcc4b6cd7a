/**
 * Synchronous certificate-chain verification for TLS handshakes (node:tls sockets and our own
 * QUIC TLS engine): `(chain) => null | reason`. Mirrors Go's `x509.Certificate.Verify` plus
 * receptor's ReceptorVerifyFunc (pinned fingerprints, node-ID SAN), with Go's error texts
 * where Go has one. Also the insecure-service check of wire.md §12.5 and fingerprint parsing.
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, X509Certificate } from "node:crypto";
import { bytesEqual } from "./der.ts";
import { formatIp, parseIp } from "./ip.ts";
import {
  commonNames,
  OID,
  parseCertificate,
  type ParsedCertificate,
  sanNamesOf,
} from "./x509_parse.ts";
import { errorText } from "../util/error_text.ts";

/** A handshake-time verifier: null when acceptable, else the reason. Never throws. */
export type ChainVerifier = (chain: Uint8Array[]) => string | null;

/** Options of {@link makeChainVerifier}. */
export interface ChainVerifierOptions {
  /** Trusted CA certificates (DER). */
  roots: Uint8Array[];
  /** Extended key usage the leaf (and chain) must allow. */
  requiredEku?: "serverAuth" | "clientAuth";
  /** Receptor node ID the leaf's otherName SANs must contain. */
  expectedNodeId?: string;
  /** DNS name or IP address the leaf's SANs must match. */
  expectedHost?: string;
  /** Pinned SHA-256 (32 bytes) / SHA-512 (64 bytes) leaf fingerprints; any match suffices. */
  pinnedSha256or512?: Uint8Array[];
  /** Clock for validity checks. */
  now?: () => Date;
  /** Accept anything (insecureskipverify; also disables pinning and name checks). */
  skipVerify?: boolean;
}

/** Common name of the self-signed certificate of insecure stream services. */
export const INSECURE_COMMON_NAME = "netceptor-insecure-common-name";

const HANDLED_CRITICAL: ReadonlySet<string> = new Set([
  OID.keyUsage,
  OID.basicConstraints,
  OID.subjectAltName,
  OID.nameConstraints,
  OID.certificatePolicies,
  OID.extKeyUsage,
  OID.subjectKeyId,
  OID.authorityKeyId,
  "2.5.29.33",
  "2.5.29.36",
  "2.5.29.54",
]);

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Go's validity error for `c` at `now`, or null. */
function validityError(c: ParsedCertificate, now: Date): string | null {
  if (now.getTime() < c.notBefore.getTime()) {
    return `x509: certificate has expired or is not yet valid: current time ${
      rfc3339(now)
    } is before ${rfc3339(c.notBefore)}`;
  }
  if (now.getTime() > c.notAfter.getTime()) {
    return `x509: certificate has expired or is not yet valid: current time ${
      rfc3339(now)
    } is after ${rfc3339(c.notAfter)}`;
  }
  return null;
}

function criticalError(c: ParsedCertificate): string | null {
  const bad = c.extensions.find((e) => e.critical && !HANDLED_CRITICAL.has(e.oid));
  return bad ? `x509: unhandled critical extension (${bad.oid})` : null;
}

/** True if the leaf's SHA-256 or SHA-512 fingerprint equals one of `pinned`. */
export function fingerprintMatches(certDer: Uint8Array, pinned: readonly Uint8Array[]): boolean {
  let s256: Uint8Array | undefined, s512: Uint8Array | undefined;
  for (const p of pinned) {
    if (p.length === 32) {
      s256 ??= new Uint8Array(createHash("sha256").update(certDer).digest());
      if (bytesEqual(p, s256)) return true;
    } else if (p.length === 64) {
      s512 ??= new Uint8Array(createHash("sha512").update(certDer).digest());
      if (bytesEqual(p, s512)) return true;
    }
  }
  return false;
}

/**
 * Parse `pinnedservercert` / `pinnedclientcert` values: hex, `:` optional, any case, 32 or 64
 * bytes. Throws `error decoding fingerprints: <reason>` (upstream text) otherwise.
 */
export function parsePinnedFingerprints(list: readonly string[]): Uint8Array[] {
  return list.map((s) => {
    const h = s.replaceAll(":", "");
    if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) {
      throw new Error("error decoding fingerprints: error decoding fingerprint");
    }
    const b = Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
    if (b.length !== 32 && b.length !== 64) {
      throw new Error(
        "error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512",
      );
    }
    return b;
  });
}

function matchDns(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, "");
  const h = host.toLowerCase().replace(/\.$/, "");
  if (p === h) return true;
  if (!p.startsWith("*.")) return false;
  const pl = p.split("."), hl = h.split(".");
  if (pl.length !== hl.length || hl[0] === "") return false;
  return pl.slice(1).join(".") === hl.slice(1).join(".");
}

/** IPv4-mapped IPv6 bytes become 4 bytes (as `parseIp` returns them) so both forms compare equal. */
function normIp(b: Uint8Array): Uint8Array {
  if (
    b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff
  ) {
    return b.subarray(12);
  }
  return b;
}

/** Go's VerifyHostname for DNS/IP SANs; null if `host` matches. */
export function hostnameError(c: ParsedCertificate, hostIn: string): string | null {
  const host = hostIn.startsWith("[") && hostIn.endsWith("]") ? hostIn.slice(1, -1) : hostIn;
  const names = sanNamesOf(c);
  const ip = parseIp(host);
  if (ip) {
    if (!names.ipAddresses.length) {
      return `x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`;
    }
    if (names.ipAddresses.some((a) => bytesEqual(normIp(a), ip))) return null;
    return `x509: certificate is valid for ${
      names.ipAddresses.map(formatIp).join(", ")
    }, not ${host}`;
  }
  if (names.dnsNames.some((d) => matchDns(d, host))) return null;
  if (!names.dnsNames.length) {
    return `x509: certificate is not valid for any names, but wanted to match ${host}`;
  }
  return `x509: certificate is valid for ${names.dnsNames.join(", ")}, not ${host}`;
}

/** Receptor's node-ID SAN check; null if `nodeId` is among the leaf's node IDs. */
export function nodeIdError(c: ParsedCertificate, nodeId: string): string | null {
  const ids = sanNamesOf(c).nodeIds;
  if (ids.includes(nodeId)) return null;
  if (!ids.length) {
    return `x509: certificate is not valid for any Receptor node IDs, but wanted to match ${nodeId}`;
  }
  return `x509: certificate is valid for Receptor node ID${ids.length > 1 ? "s" : ""} ${
    ids.join(", ")
  }, not ${nodeId}`;
}

interface Node {
  p: ParsedCertificate;
  x?: X509Certificate;
}

function x509Of(n: Node): X509Certificate {
  n.x ??= new X509Certificate(Buffer.from(n.p.der));
  return n.x;
}

function signedBy(child: Node, parent: Node): string | null {
  try {
    return x509Of(child).verify(x509Of(parent).publicKey) ? null : "crypto/rsa: verification error";
  } catch (e) {
    return errorText(e);
  }
}

function ekuAllows(c: ParsedCertificate, want: string): boolean {
  const eku = c.extKeyUsage;
  if (!eku || eku.length === 0) return true;
  return eku.includes(want) || eku.includes(OID.anyExtKeyUsage);
}

/** Chain builder state for one verification. */
class ChainBuilder {
  lastErr: string | null = null;
  hint: string | null = null;
  constructor(
    readonly roots: Node[],
    readonly intermediates: Node[],
    readonly now: Date,
  ) {}

  /** All chains from `chain`'s last element up to a root (depth-limited). */
  build(chain: Node[], out: Node[][]): void {
    const cur = chain[chain.length - 1];
    if (chain.length > 10) return;
    const tryParent = (cand: Node, isRoot: boolean) => {
      if (chain.some((c) => bytesEqual(c.p.der, cand.p.der))) return;
      if (
        cur.p.authorityKeyId && cand.p.subjectKeyId &&
        !bytesEqual(cur.p.authorityKeyId, cand.p.subjectKeyId)
      ) return;
      const sigErr = signedBy(cur, cand);
      if (sigErr) {
        this.hint = `possibly because of ${JSON.stringify(sigErr)} while trying to verify ` +
          `candidate authority certificate ${
            JSON.stringify(commonNames(cand.p.subjectRaw)[0] ?? "")
          }`;
        return;
      }
      const v = validityError(cand.p, this.now) ?? criticalError(cand.p);
      if (v) {
        this.lastErr = v;
        return;
      }
      if (!isRoot && !(cand.p.basicConstraints?.ca)) {
        this.lastErr = "x509: certificate is not authorized to sign other certificates";
        return;
      }
      const pathLen = cand.p.basicConstraints?.pathLen;
      if (pathLen !== undefined && pathLen >= 0 && chain.length - 1 > pathLen) {
        this.lastErr = "x509: too many intermediates for path length constraint";
        return;
      }
      if (isRoot) out.push([...chain, cand]);
      else this.build([...chain, cand], out);
    };
    for (const r of this.roots) if (bytesEqual(r.p.subjectRaw, cur.p.issuerRaw)) tryParent(r, true);
    for (const i of this.intermediates) {
      if (bytesEqual(i.p.subjectRaw, cur.p.issuerRaw)) tryParent(i, false);
    }
  }
}

/**
 * Build a verifier: pinned fingerprints first (as receptor does), then Go's chain verification
 * (leaf validity, host name, chain to `roots` with signatures, CA flags, path lengths, dates,
 * critical extensions, EKU), then the node-ID SAN.
 */
export function makeChainVerifier(opts: ChainVerifierOptions): ChainVerifier {
  const roots: Node[] = [];
  for (const r of opts.roots) {
    try {
      roots.push({ p: parseCertificate(r) });
    } catch {
      // unparsable roots are skipped, like Go's AppendCertsFromPEM
    }
  }
  const pinned = opts.pinnedSha256or512 ?? [];
  const clock = opts.now ?? (() => new Date());
  return (chain: Uint8Array[]): string | null => {
    if (opts.skipVerify) return null;
    try {
      if (chain.length === 0) return "RVF failed: peer certificate missing";
      const nodes: Node[] = [];
      for (const der of chain) {
        try {
          nodes.push({ p: parseCertificate(der) });
        } catch (e) {
          return `failed to parse certificate from server: ${errorText(e)}`;
        }
      }
      const leaf = nodes[0];
      if (pinned.length && !fingerprintMatches(leaf.p.der, pinned)) {
        return "RVF failed: presented certificate does not match any pinned fingerprint";
      }
      const now = clock();
      const lv = validityError(leaf.p, now) ?? criticalError(leaf.p);
      if (lv) return lv;
      if (opts.expectedHost) {
        const h = hostnameError(leaf.p, opts.expectedHost);
        if (h) return h;
      }
      let chains: Node[][];
      if (roots.some((r) => bytesEqual(r.p.der, leaf.p.der))) {
        chains = [[leaf]];
      } else {
        const b = new ChainBuilder(roots, nodes.slice(1), now);
        chains = [];
        b.build([leaf], chains);
        if (!chains.length) {
          if (b.lastErr) return b.lastErr;
          return "x509: certificate signed by unknown authority" + (b.hint ? ` (${b.hint})` : "");
        }
      }
      if (opts.requiredEku) {
        const want = opts.requiredEku === "serverAuth" ? OID.serverAuth : OID.clientAuth;
        if (!chains.some((ch) => ch.every((n) => ekuAllows(n.p, want)))) {
          return `x509: certificate specifies an incompatible key usage (missing ${opts.requiredEku} extended key usage)`;
        }
      }
      if (opts.expectedNodeId !== undefined) {
        const n = nodeIdError(leaf.p, opts.expectedNodeId);
        if (n) return n;
      }
      return null;
    } catch (e) {
      return `certificate verification failed: ${errorText(e)}`;
    }
  };
}

/**
 * The Go client's check for insecure stream services (wire.md §12.5): accept iff some
 * certificate in the chain has CN exactly `netceptor-insecure-common-name`; dates and
 * signatures are ignored.
 */
export function insecureServiceVerifier(): ChainVerifier {
  return (chain: Uint8Array[]): string | null => {
    for (const der of chain) {
      try {
        // Go keeps the last CN attribute as Subject.CommonName.
        if (commonNames(parseCertificate(der).subjectRaw).at(-1) === INSECURE_COMMON_NAME) {
          return null;
        }
      } catch {
        // unparsable certificates are skipped, as Go does
      }
    }
    return "insecure connection to secure service";
  };
}
