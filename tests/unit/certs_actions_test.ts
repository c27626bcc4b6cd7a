/**
 * cert-init / cert-makereq / cert-signreq: files, modes, PEM types, extensions (parsed back with
 * asn1-x509 / asn1-csr), serials, validity and every upstream error message (config.md §5,
 * checklist 8–14).
 * @module
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import {
  certInit,
  certMakeReq,
  certSignReq,
  parseRfc3339,
  runCertAction,
  scanlnWord,
} from "../../src/certs/actions.ts";
import { decodeSubjectAltName, RECEPTOR_NODE_ID_OID } from "../../src/certs/node_id_san.ts";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  GeneralNames,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
} from "@peculiar/asn1-x509";
import { CertificationRequest } from "@peculiar/asn1-csr";
import { X509Certificate } from "node:crypto";
import { generateKeyPairSync } from "node:crypto";

function pemBody(text: string): Uint8Array {
  const b64 = text.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function readCert(path: string): Certificate {
  return AsnConvert.parse(pemBody(Deno.readTextFileSync(path)), Certificate);
}

function ext(c: Certificate, oid: string) {
  return c.tbsCertificate.extensions?.find((e) => e.extnID === oid);
}

function serialNumber(c: Certificate): number {
  return new Uint8Array(c.tbsCertificate.serialNumber).reduce((a, b) => a * 256 + b, 0);
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

const yes = { prompt: () => Promise.resolve("yes") };

async function makeCa(dir: string, extra: Partial<Parameters<typeof certInit>[0]> = {}) {
  await certInit({
    commonname: "Mesh CA",
    bits: 1024,
    outcert: `${dir}/ca.crt`,
    outkey: `${dir}/ca.key`,
    ...extra,
  });
}

Deno.test("cert-init writes a CA cert and PKCS#1 key, mode 0600, Go's extensions", async () => {
  const dir = Deno.makeTempDirSync();
  const before = Math.floor(Date.now() / 1000);
  await makeCa(dir);
  const after = Math.floor(Date.now() / 1000);
  assertEquals(mode(`${dir}/ca.crt`), 0o600);
  assertEquals(mode(`${dir}/ca.key`), 0o600);
  const keyText = Deno.readTextFileSync(`${dir}/ca.key`);
  assert(keyText.startsWith("-----BEGIN RSA PRIVATE KEY-----\n"), "PKCS#1 key expected");
  const c = readCert(`${dir}/ca.crt`);
  assertEquals(c.tbsCertificate.version, 2); // v3
  const serial = serialNumber(c);
  assert(serial >= before && serial <= after, `serial ${serial} is the Unix time`);
  const nb = c.tbsCertificate.validity.notBefore.getTime().getTime();
  const na = c.tbsCertificate.validity.notAfter.getTime().getTime();
  assert(Math.abs(nb - Date.now()) < 10_000, "notBefore is now");
  const years = (na - nb) / (365.25 * 86400_000);
  assert(years > 9.99 && years < 10.01, `10 years validity, got ${years}`);
  const ku = ext(c, id_ce_keyUsage)!;
  assertEquals(ku.critical, true);
  const kuv = AsnConvert.parse(ku.extnValue, KeyUsage);
  assertEquals(kuv.toNumber(), KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign);
  const eku = ext(c, id_ce_extKeyUsage)!;
  assertEquals(eku.critical, false);
  assertEquals([...AsnConvert.parse(eku.extnValue, ExtendedKeyUsage)], [
    id_kp_clientAuth,
    id_kp_serverAuth,
  ]);
  const bc = ext(c, id_ce_basicConstraints)!;
  assertEquals(bc.critical, true);
  const bcv = AsnConvert.parse(bc.extnValue, BasicConstraints);
  assertEquals(bcv.cA, true);
  assertEquals(bcv.pathLenConstraint, undefined);
  const ski = ext(c, id_ce_subjectKeyIdentifier)!;
  assertEquals(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).byteLength, 20);
  assertEquals(ext(c, id_ce_subjectAltName), undefined);
  const x = new X509Certificate(Deno.readTextFileSync(`${dir}/ca.crt`));
  assertEquals(x.subject, "CN=Mesh CA");
  assertEquals(x.issuer, "CN=Mesh CA");
  assert(x.verify(x.publicKey), "self-signature verifies");
  assertEquals(x.publicKey.asymmetricKeyDetails?.modulusLength, 1024);
});

Deno.test("cert-init honours notbefore/notafter, bits 0 means 2048, rejects bad input", async () => {
  const dir = Deno.makeTempDirSync();
  await makeCa(dir, {
    bits: 0,
    notbefore: "2025-01-01T00:00:00Z",
    notafter: "2060-06-30T12:00:00+02:00",
  });
  const x = new X509Certificate(Deno.readTextFileSync(`${dir}/ca.crt`));
  assertEquals(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const c = readCert(`${dir}/ca.crt`);
  assertEquals(
    c.tbsCertificate.validity.notBefore.getTime().toISOString(),
    "2025-01-01T00:00:00.000Z",
  );
  assertEquals(
    c.tbsCertificate.validity.notAfter.getTime().toISOString(),
    "2060-06-30T10:00:00.000Z",
  );
  assert(c.tbsCertificate.validity.notAfter.generalTime, "year 2060 uses GeneralizedTime like Go");
  await assertRejects(() => makeCa(dir, { notbefore: "yesterday" }), 'parsing time "yesterday"');
  await assertRejects(() => makeCa(dir, { notafter: "2025-02-30T00:00:00Z" }), "day out of range");
  await assertRejects(() => makeCa(dir, { commonname: "" }), "must provide CommonName");
  await assertRejects(
    () => makeCa(dir, { outcert: `${dir}/missing/ca.crt` }),
    `open ${dir}/missing/ca.crt: no such file or directory`,
  );
});

Deno.test("RFC 3339 parsing", () => {
  assertEquals(parseRfc3339("2024-02-29T23:59:59.5Z").toISOString(), "2024-02-29T23:59:59.500Z");
  assertEquals(parseRfc3339("2024-01-01T00:00:00-05:30").toISOString(), "2024-01-01T05:30:00.000Z");
  for (const bad of ["2024-01-01", "2024-01-01 00:00:00Z", "2024-13-01T00:00:00Z", "x"]) {
    let threw = false;
    try {
      parseRfc3339(bad);
    } catch {
      threw = true;
    }
    assert(threw, `${bad} must be rejected`);
  }
});

Deno.test("cert-makereq checks (upstream order and texts)", async () => {
  const dir = Deno.makeTempDirSync();
  const base = { commonname: "n", dnsname: [], ipaddress: [], nodeid: [], outreq: `${dir}/r.csr` };
  await assertRejects(() => certMakeReq({ ...base }), "must provide either InKey or OutKey");
  await assertRejects(
    () => certMakeReq({ ...base, inkey: "a", outkey: "b" }),
    "cannot use both InKey and OutKey",
  );
  await assertRejects(
    () => certMakeReq({ ...base, inkey: "a", bits: 2048 }),
    "cannot specify key bits when reading an already-existing key",
  );
  await assertRejects(
    () => certMakeReq({ ...base, outkey: "b" }),
    "must specify key bits when creating a new key",
  );
  await assertRejects(
    () =>
      certMakeReq({ ...base, outkey: `${dir}/k`, bits: 1024, ipaddress: ["1.2.3.4", "300.1.1.1"] }),
    "invalid IP address: 300.1.1.1",
  );
  await assertRejects(
    () => certMakeReq({ ...base, inkey: `${dir}/nope.key` }),
    `open ${dir}/nope.key: no such file or directory`,
  );
  await assertRejects(
    () => certMakeReq({ ...base, commonname: "", outkey: `${dir}/k`, bits: 1024 }),
    "must provide CommonName",
  );
});

Deno.test("cert-makereq inkey: PKCS#8 ok, other blocks ignored, EC/multiple/none fail", async () => {
  const dir = Deno.makeTempDirSync();
  const base = {
    commonname: "n",
    dnsname: [],
    ipaddress: [],
    nodeid: ["n"],
    outreq: `${dir}/r.csr`,
  };
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const pk8 = String(rsa.privateKey.export({ type: "pkcs8", format: "pem" }));
  const pub = String(rsa.publicKey.export({ type: "spki", format: "pem" }));
  Deno.writeTextFileSync(`${dir}/k8.pem`, pub + pk8);
  await certMakeReq({ ...base, inkey: `${dir}/k8.pem` });
  assertEquals(mode(`${dir}/r.csr`), 0o600);
  const csr = AsnConvert.parse(
    pemBody(Deno.readTextFileSync(`${dir}/r.csr`)),
    CertificationRequest,
  );
  const spki = new Uint8Array(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
  const want = new Uint8Array(rsa.publicKey.export({ type: "spki", format: "der" }));
  assertEquals(spki, want);

  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  Deno.writeTextFileSync(
    `${dir}/ec.pem`,
    String(ec.privateKey.export({ type: "sec1", format: "pem" })),
  );
  await assertRejects(
    () => certMakeReq({ ...base, inkey: `${dir}/ec.pem` }),
    "unknown block type EC PRIVATE KEY",
  );
  Deno.writeTextFileSync(
    `${dir}/ec8.pem`,
    String(ec.privateKey.export({ type: "pkcs8", format: "pem" })),
  );
  await assertRejects(
    () => certMakeReq({ ...base, inkey: `${dir}/ec8.pem` }),
    `no private keys in file ${dir}/ec8.pem`,
  );
  Deno.writeTextFileSync(`${dir}/two.pem`, pk8 + pk8);
  await assertRejects(
    () => certMakeReq({ ...base, inkey: `${dir}/two.pem` }),
    `multiple private keys in file ${dir}/two.pem`,
  );
  Deno.writeTextFileSync(`${dir}/junk.pem`, pk8 + "garbage");
  await assertRejects(
    () => certMakeReq({ ...base, inkey: `${dir}/junk.pem` }),
    "failed to decode PEM block",
  );
});

Deno.test("cert-makereq writes CSR with SAN (dns, ip, node IDs) and a PKCS#1 key", async () => {
  const dir = Deno.makeTempDirSync();
  await certMakeReq({
    commonname: "hop1",
    bits: 1024,
    dnsname: ["hop1.example.net"],
    ipaddress: ["127.0.0.1", "::1"],
    nodeid: ["foo"],
    outreq: `${dir}/hop1.csr`,
    outkey: `${dir}/hop1.key`,
  });
  assertEquals(mode(`${dir}/hop1.csr`), 0o600);
  assertEquals(mode(`${dir}/hop1.key`), 0o600);
  assert(Deno.readTextFileSync(`${dir}/hop1.key`).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
  const text = Deno.readTextFileSync(`${dir}/hop1.csr`);
  assert(text.startsWith("-----BEGIN CERTIFICATE REQUEST-----\n"));
  const csr = AsnConvert.parse(pemBody(text), CertificationRequest);
  const attrs = csr.certificationRequestInfo.attributes;
  assertEquals(attrs.length, 1);
  assertEquals(attrs[0].type, "1.2.840.113549.1.9.14");
  const der = new Uint8Array(attrs[0].values[0]);
  // Extensions ::= SEQUENCE OF Extension; one SAN, non-critical
  const { Extensions } = await import("@peculiar/asn1-x509");
  const exts = AsnConvert.parse(der, Extensions);
  assertEquals(exts.length, 1);
  assertEquals(exts[0].extnID, id_ce_subjectAltName);
  assertEquals(exts[0].critical, false);
  const gn = AsnConvert.parse(exts[0].extnValue, GeneralNames);
  assertEquals(gn.map((g) => g.dNSName ?? g.iPAddress ?? g.otherName?.typeId), [
    "hop1.example.net",
    "127.0.0.1",
    "::1",
    RECEPTOR_NODE_ID_OID,
  ]);
  assertEquals(decodeSubjectAltName(new Uint8Array(exts[0].extnValue.buffer)).nodeIds, ["foo"]);
});

Deno.test("cert-makereq writes an (empty) SAN even with no names; signreq then refuses", async () => {
  const dir = Deno.makeTempDirSync();
  await makeCa(dir);
  await certMakeReq({
    commonname: "x",
    bits: 1024,
    dnsname: [],
    ipaddress: [],
    nodeid: [],
    outreq: `${dir}/x.csr`,
    outkey: `${dir}/x.key`,
  });
  await assertRejects(
    () =>
      certSignReq({
        req: `${dir}/x.csr`,
        cacert: `${dir}/ca.crt`,
        cakey: `${dir}/ca.key`,
        outcert: `${dir}/x.crt`,
        verify: true,
      }),
    "cannot sign: no names found in certificate",
  );
});

async function makeSignedSetup(dir: string, nodeid: string[] = ["foo"]) {
  await makeCa(dir);
  await certMakeReq({
    commonname: "node",
    bits: 1024,
    dnsname: ["node.example"],
    ipaddress: ["10.0.0.1"],
    nodeid,
    outreq: `${dir}/n.csr`,
    outkey: `${dir}/n.key`,
  });
  return {
    req: `${dir}/n.csr`,
    cacert: `${dir}/ca.crt`,
    cakey: `${dir}/ca.key`,
    outcert: `${dir}/n.crt`,
  };
}

Deno.test("cert-signreq produces a leaf with copied SAN, AKI, KU, EKU, 1-year validity", async () => {
  const dir = Deno.makeTempDirSync();
  const long = "L".repeat(200);
  const p = await makeSignedSetup(dir, ["foo", long]);
  const before = Math.floor(Date.now() / 1000);
  await certSignReq({ ...p, verify: true });
  assertEquals(mode(p.outcert), 0o600);
  const c = readCert(p.outcert);
  const ca = readCert(p.cacert);
  assert(serialNumber(c) >= before, "serial is the Unix time");
  assertEquals(ext(c, id_ce_basicConstraints), undefined);
  const ku = ext(c, id_ce_keyUsage)!;
  assertEquals(ku.critical, true);
  assertEquals(AsnConvert.parse(ku.extnValue, KeyUsage).toNumber(), KeyUsageFlags.digitalSignature);
  assertEquals([...AsnConvert.parse(ext(c, id_ce_extKeyUsage)!.extnValue, ExtendedKeyUsage)], [
    id_kp_clientAuth,
    id_kp_serverAuth,
  ]);
  const aki = AsnConvert.parse(
    ext(c, id_ce_authorityKeyIdentifier)!.extnValue,
    AuthorityKeyIdentifier,
  );
  const ski = AsnConvert.parse(
    ext(ca, id_ce_subjectKeyIdentifier)!.extnValue,
    SubjectKeyIdentifier,
  );
  assertEquals(new Uint8Array(aki.keyIdentifier!.buffer), new Uint8Array(ski.buffer));
  const csr = AsnConvert.parse(pemBody(Deno.readTextFileSync(p.req)), CertificationRequest);
  const { Extensions } = await import("@peculiar/asn1-x509");
  const csrSan =
    AsnConvert.parse(csr.certificationRequestInfo.attributes[0].values[0], Extensions)[0];
  const san = ext(c, id_ce_subjectAltName)!;
  assertEquals(
    new Uint8Array(san.extnValue.buffer),
    new Uint8Array(csrSan.extnValue.buffer),
    "SAN copied verbatim",
  );
  assertEquals(decodeSubjectAltName(new Uint8Array(san.extnValue.buffer)).nodeIds, ["foo", long]);
  const v = c.tbsCertificate.validity;
  const years = (v.notAfter.getTime().getTime() - v.notBefore.getTime().getTime()) /
    (365.25 * 86400_000);
  assert(years > 0.99 && years < 1.01, `one year validity, got ${years}`);
  const x = new X509Certificate(Deno.readTextFileSync(p.outcert));
  const xca = new X509Certificate(Deno.readTextFileSync(p.cacert));
  assert(x.verify(xca.publicKey), "signed by the CA");
  assertEquals(x.issuer, "CN=Mesh CA");
  assertEquals(x.subject, "CN=node");
});

Deno.test("cert-signreq prompt: summary, yes/y proceed, others decline, EOF/empty fail", async () => {
  const dir = Deno.makeTempDirSync();
  const p = await makeSignedSetup(dir);
  let shown = "";
  const answer = (a: string | null) => ({
    prompt: (t: string) => {
      shown = t;
      return Promise.resolve(a);
    },
  });
  await certSignReq({ ...p, verify: false }, answer("YES"));
  assertEquals(
    shown,
    "Requested certificate:\n  Subject: CN=node\n  Encryption Algorithm: RSA (1024 bits)\n" +
      "  Signature Algorithm: SHA256-RSA\n  Names:\n    DNS Name: node.example\n" +
      "    IP Address: 10.0.0.1\n    Receptor Node ID: foo\nSign certificate (yes/no)? ",
  );
  Deno.removeSync(p.outcert);
  await certSignReq({ ...p, verify: false }, answer("y"));
  assert(Deno.statSync(p.outcert).isFile);
  Deno.removeSync(p.outcert);
  await assertRejects(() => certSignReq({ ...p, verify: false }, answer("no")), "user declined");
  await assertRejects(() => certSignReq({ ...p, verify: false }, answer("yess")), "user declined");
  await assertRejects(() => certSignReq({ ...p, verify: false }, answer(null)), "EOF");
  await assertRejects(() => certSignReq({ ...p, verify: false }, answer("")), "unexpected newline");
  let threw = false;
  try {
    Deno.statSync(p.outcert);
  } catch {
    threw = true;
  }
  assert(threw, "declined signing writes nothing");
  assertEquals(scanlnWord("  yes \n"), "yes");
});

Deno.test("cert-signreq file errors use upstream texts", async () => {
  const dir = Deno.makeTempDirSync();
  const p = await makeSignedSetup(dir);
  const caText = Deno.readTextFileSync(p.cacert);
  const keyText = Deno.readTextFileSync(p.cakey);
  Deno.writeTextFileSync(`${dir}/two.crt`, caText + caText);
  await assertRejects(
    () => certSignReq({ ...p, cacert: `${dir}/two.crt`, verify: true }),
    "certificate file should contain exactly one item",
  );
  await assertRejects(
    () => certSignReq({ ...p, cacert: p.cakey, verify: true }),
    "certificate file does not contain certificate data",
  );
  await assertRejects(
    () => certSignReq({ ...p, cakey: p.cacert, verify: true }),
    "private key file does not contain private key data",
  );
  Deno.writeTextFileSync(`${dir}/two.key`, keyText + keyText);
  await assertRejects(
    () => certSignReq({ ...p, cakey: `${dir}/two.key`, verify: true }),
    "private key file should contain exactly one item",
  );
  await assertRejects(
    () => certSignReq({ ...p, req: p.cacert, verify: true }),
    "certificate request file does not contain certificate request data",
  );
  await assertRejects(
    () => certSignReq({ ...p, req: `${dir}/none.csr`, verify: true }),
    `open ${dir}/none.csr: no such file or directory`,
  );
  await assertRejects(
    () => certSignReq({ ...p, cakey: `${dir}/n.key`, verify: true }),
    "x509: provided PrivateKey doesn't match parent's PublicKey",
  );
  await assertRejects(() => certSignReq({ ...p, notafter: "soon", verify: true }), "parsing time");
});

Deno.test("runCertAction dispatches all three kinds", async () => {
  const dir = Deno.makeTempDirSync();
  await runCertAction({
    kind: "cert-init",
    commonname: "CA",
    bits: 1024,
    outcert: `${dir}/ca.crt`,
    outkey: `${dir}/ca.key`,
  });
  await runCertAction({
    kind: "cert-makereq",
    commonname: "n1",
    bits: 1024,
    dnsname: [],
    ipaddress: [],
    nodeid: ["n1"],
    outreq: `${dir}/n1.csr`,
    outkey: `${dir}/n1.key`,
  });
  await runCertAction({
    kind: "cert-signreq",
    req: `${dir}/n1.csr`,
    cacert: `${dir}/ca.crt`,
    cakey: `${dir}/ca.key`,
    outcert: `${dir}/n1.crt`,
    verify: false,
  }, yes);
  const x = new X509Certificate(Deno.readTextFileSync(`${dir}/n1.crt`));
  assertStringIncludes(x.subject, "CN=n1");
});
