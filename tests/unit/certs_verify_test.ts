/**
 * Chain verifier: accepts a good chain (direct and via intermediate), rejects unknown CA,
 * expired / not-yet-valid, wrong node ID, missing EKU, pinned mismatch, wrong host, non-CA
 * issuer; pinned fingerprint parsing; insecure-CN verifier and the insecure service cert.
 * @module
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { createHash, generateKeyPairSync, type KeyObject, X509Certificate } from "node:crypto";
import {
  fingerprintMatches,
  insecureServiceVerifier,
  makeChainVerifier,
  parsePinnedFingerprints,
} from "../../src/certs/verify.ts";
import {
  basicConstraintsCaValue,
  buildCertificate,
  encodeNameCN,
  type ExtensionSpec,
  extKeyUsageValue,
  spkiOf,
  subjectKeyIdFor,
  subjectKeyIdValue,
} from "../../src/certs/x509_build.ts";
import { OID } from "../../src/certs/x509_parse.ts";
import { encodeReceptorSan } from "../../src/certs/node_id_san.ts";
import { parseIp } from "../../src/certs/ip.ts";
import { makeInsecureServiceCert } from "../../src/certs/self_signed.ts";
import { Buffer } from "node:buffer";

interface Made {
  der: Uint8Array;
  key: KeyObject;
  cn: string;
}

const DAY = 86400_000;
const NOW = new Date("2026-06-01T12:00:00Z");
let serial = 100n;

function make(p: {
  cn: string;
  issuer?: Made;
  ca?: boolean;
  eku?: string[];
  nodeIds?: string[];
  dns?: string[];
  ips?: string[];
  notBefore?: Date;
  notAfter?: Date;
  critical?: string;
}): Made {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const spki = spkiOf(key);
  const exts: ExtensionSpec[] = [];
  if (p.eku) exts.push({ oid: OID.extKeyUsage, critical: false, value: extKeyUsageValue(p.eku) });
  if (p.ca) {
    exts.push({ oid: OID.basicConstraints, critical: true, value: basicConstraintsCaValue() });
    exts.push({
      oid: OID.subjectKeyId,
      critical: false,
      value: subjectKeyIdValue(subjectKeyIdFor(spki)),
    });
  }
  if (p.nodeIds || p.dns || p.ips) {
    exts.push({
      oid: OID.subjectAltName,
      critical: false,
      value: encodeReceptorSan({
        dnsNames: p.dns,
        nodeIds: p.nodeIds,
        ipAddresses: p.ips?.map((s) => parseIp(s)!),
      }),
    });
  }
  if (p.critical) exts.push({ oid: p.critical, critical: true, value: Uint8Array.of(0x05, 0x00) });
  const der = buildCertificate({
    serial: serial++,
    issuerRaw: encodeNameCN(p.issuer?.cn ?? p.cn),
    subjectRaw: encodeNameCN(p.cn),
    notBefore: p.notBefore ?? new Date(NOW.getTime() - DAY),
    notAfter: p.notAfter ?? new Date(NOW.getTime() + 30 * DAY),
    spkiRaw: spki,
    extensions: exts,
    sigAlgOid: OID.ecdsaWithSHA256,
    signingKey: p.issuer?.key ?? key,
  });
  return { der, key, cn: p.cn };
}

const both = [OID.clientAuth, OID.serverAuth];
const ca = make({ cn: "Mesh CA", ca: true, eku: both });
const otherCa = make({ cn: "Mesh CA", ca: true, eku: both }); // same name, other key
const leaf = make({
  cn: "node1",
  issuer: ca,
  eku: both,
  nodeIds: ["node1"],
  dns: ["node1.example"],
  ips: ["127.0.0.1"],
});
const now = () => NOW;

Deno.test("good chain is accepted (EKU, node ID, host name)", () => {
  const v = makeChainVerifier({
    roots: [ca.der],
    requiredEku: "serverAuth",
    expectedNodeId: "node1",
    now,
  });
  assertEquals(v([leaf.der]), null);
  assertEquals(v([leaf.der, ca.der]), null);
  assertEquals(
    makeChainVerifier({ roots: [ca.der], expectedHost: "NODE1.example.", now })([leaf.der]),
    null,
  );
  assertEquals(
    makeChainVerifier({ roots: [ca.der], expectedHost: "127.0.0.1", now })([leaf.der]),
    null,
  );
  assertEquals(
    makeChainVerifier({ roots: [ca.der], requiredEku: "clientAuth", now })([leaf.der]),
    null,
  );
});

Deno.test("chain through an intermediate; non-CA intermediate rejected", () => {
  const inter = make({ cn: "Inter", issuer: ca, ca: true });
  const l2 = make({ cn: "n2", issuer: inter, eku: both, nodeIds: ["n2"] });
  const v = makeChainVerifier({
    roots: [ca.der],
    requiredEku: "clientAuth",
    expectedNodeId: "n2",
    now,
  });
  assertEquals(v([l2.der, inter.der]), null);
  assertEquals(v([l2.der]), "x509: certificate signed by unknown authority");
  const notCa = make({ cn: "Inter", issuer: ca });
  const l3 = make({ cn: "n3", issuer: notCa, nodeIds: ["n2"] });
  assertEquals(
    v([l3.der, notCa.der]),
    "x509: certificate is not authorized to sign other certificates",
  );
});

Deno.test("unknown CA is rejected, with a hint for a same-name wrong-key CA", () => {
  const v = makeChainVerifier({ roots: [otherCa.der], now });
  const r = v([leaf.der])!;
  assertStringIncludes(r, "x509: certificate signed by unknown authority");
  assertStringIncludes(r, 'candidate authority certificate "Mesh CA"');
  const stranger = make({ cn: "Elsewhere", ca: true });
  assertEquals(
    makeChainVerifier({ roots: [stranger.der], now })([leaf.der]),
    "x509: certificate signed by unknown authority",
  );
  assertEquals(
    makeChainVerifier({ roots: [], now })([leaf.der]),
    "x509: certificate signed by unknown authority",
  );
});

Deno.test("expired and not-yet-valid leaves and expired CAs are rejected", () => {
  const old = make({
    cn: "old",
    issuer: ca,
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2021-01-01T00:00:00Z"),
  });
  const v = makeChainVerifier({ roots: [ca.der], now });
  assertEquals(
    v([old.der]),
    "x509: certificate has expired or is not yet valid: current time 2026-06-01T12:00:00Z is after 2021-01-01T00:00:00Z",
  );
  const future = make({
    cn: "f",
    issuer: ca,
    notBefore: new Date("2030-01-01T00:00:00Z"),
    notAfter: new Date("2031-01-01T00:00:00Z"),
  });
  assertStringIncludes(v([future.der])!, "is before 2030-01-01T00:00:00Z");
  const oldCa = make({
    cn: "Old CA",
    ca: true,
    notAfter: new Date("2021-01-01T00:00:00Z"),
    notBefore: new Date("2020-01-01T00:00:00Z"),
  });
  const l = make({ cn: "x", issuer: oldCa });
  assertStringIncludes(
    makeChainVerifier({ roots: [oldCa.der], now })([l.der])!,
    "current time 2026-06-01T12:00:00Z is after",
  );
});

Deno.test("wrong or missing node ID is rejected with receptor's text", () => {
  const v = makeChainVerifier({ roots: [ca.der], expectedNodeId: "node2", now });
  assertEquals(v([leaf.der]), "x509: certificate is valid for Receptor node ID node1, not node2");
  const bare = make({ cn: "b", issuer: ca, dns: ["b"] });
  assertEquals(
    v([bare.der]),
    "x509: certificate is not valid for any Receptor node IDs, but wanted to match node2",
  );
});

Deno.test("missing EKU is rejected; no EKU extension allows any usage", () => {
  const serverOnly = make({ cn: "s", issuer: ca, eku: [OID.serverAuth], nodeIds: ["s"] });
  const v = makeChainVerifier({ roots: [ca.der], requiredEku: "clientAuth", now });
  assertEquals(
    v([serverOnly.der]),
    "x509: certificate specifies an incompatible key usage (missing clientAuth extended key usage)",
  );
  const noEku = make({ cn: "n", issuer: ca });
  assertEquals(v([noEku.der]), null);
  const caServerOnly = make({ cn: "CA2", ca: true, eku: [OID.serverAuth] });
  const l = make({ cn: "l", issuer: caServerOnly });
  assertStringIncludes(
    makeChainVerifier({ roots: [caServerOnly.der], requiredEku: "clientAuth", now })([l.der])!,
    "incompatible key usage",
  );
});

Deno.test("pinned fingerprints: match passes, mismatch fails, skipVerify skips all", () => {
  const s256 = new Uint8Array(createHash("sha256").update(leaf.der).digest());
  const s512 = new Uint8Array(createHash("sha512").update(leaf.der).digest());
  const wrong = new Uint8Array(32);
  assert(fingerprintMatches(leaf.der, [wrong, s512]));
  assert(!fingerprintMatches(leaf.der, [wrong]));
  assertEquals(
    makeChainVerifier({ roots: [ca.der], pinnedSha256or512: [wrong, s256], now })([leaf.der]),
    null,
  );
  assertEquals(
    makeChainVerifier({ roots: [ca.der], pinnedSha256or512: [wrong], now })([leaf.der]),
    "RVF failed: presented certificate does not match any pinned fingerprint",
  );
  assertEquals(
    makeChainVerifier({ roots: [], pinnedSha256or512: [wrong], skipVerify: true })([]),
    null,
  );
});

Deno.test("host name mismatch, empty chain, garbage and unhandled critical extensions", () => {
  assertEquals(
    makeChainVerifier({ roots: [ca.der], expectedHost: "other.example", now })([leaf.der]),
    "x509: certificate is valid for node1.example, not other.example",
  );
  assertEquals(
    makeChainVerifier({ roots: [ca.der], expectedHost: "10.0.0.9", now })([leaf.der]),
    "x509: certificate is valid for 127.0.0.1, not 10.0.0.9",
  );
  const wild = make({ cn: "w", issuer: ca, dns: ["*.example.com"] });
  const vw = (h: string) =>
    makeChainVerifier({ roots: [ca.der], expectedHost: h, now })([wild.der]);
  assertEquals(vw("a.example.com"), null);
  assert(vw("a.b.example.com") !== null, "wildcard covers one label only");
  const v = makeChainVerifier({ roots: [ca.der], now });
  assertEquals(v([]), "RVF failed: peer certificate missing");
  assertStringIncludes(v([Uint8Array.of(1, 2, 3)])!, "failed to parse certificate from server");
  const crit = make({ cn: "c", issuer: ca, critical: "1.2.3.4" });
  assertEquals(v([crit.der]), "x509: unhandled critical extension (1.2.3.4)");
});

Deno.test("a self-signed leaf listed among the roots is accepted", () => {
  const self = make({ cn: "self", nodeIds: ["self"] });
  assertEquals(
    makeChainVerifier({ roots: [self.der], expectedNodeId: "self", now })([self.der]),
    null,
  );
});

Deno.test("parsePinnedFingerprints: hex with or without colons, 32/64 bytes only", () => {
  const h = "AB:cd".padEnd(5, "0") + ":00".repeat(30);
  assertEquals(parsePinnedFingerprints([h])[0].length, 32);
  assertEquals(parsePinnedFingerprints(["00".repeat(64)])[0].length, 64);
  assertThrows(
    () => parsePinnedFingerprints(["00".repeat(20)]),
    "error decoding fingerprints: fingerprints must be 32 or 64 bytes",
  );
  assertThrows(
    () => parsePinnedFingerprints(["zz".repeat(32)]),
    "error decoding fingerprints: error decoding fingerprint",
  );
  assertThrows(() => parsePinnedFingerprints(["abc"]), "error decoding fingerprints");
  assertEquals(parsePinnedFingerprints([]), []);
});

Deno.test("insecure service cert and verifier (wire.md §12.5)", () => {
  const t = new Date("2026-01-01T00:00:00Z");
  const { certDer, privateKey } = makeInsecureServiceCert(t);
  const x = new X509Certificate(Buffer.from(certDer));
  assertEquals(x.subject, "CN=netceptor-insecure-common-name");
  assertEquals(x.serialNumber.replace(/^0+/, ""), "1");
  assertEquals(new Date(x.validFrom).getTime(), t.getTime() - 60_000);
  assertEquals(new Date(x.validTo).getTime(), t.getTime() + 24 * 3600_000);
  assertEquals(x.subjectAltName, undefined);
  assert(x.verify(x.publicKey), "self-signed");
  assertEquals(
    privateKey.asymmetricKeyType,
    "ed25519",
    "Ed25519: the cheapest CertificateVerify per stream dial",
  );
  const iv = insecureServiceVerifier();
  assertEquals(iv([certDer]), null, "expired or not, the CN is what matters");
  assertEquals(iv([leaf.der, certDer]), null);
  assertEquals(iv([leaf.der]), "insecure connection to secure service");
  assertEquals(iv([Uint8Array.of(0)]), "insecure connection to secure service");
  // and the secure verifier rejects it
  assert(makeChainVerifier({ roots: [ca.der], now })([certDer]) !== null);
});
