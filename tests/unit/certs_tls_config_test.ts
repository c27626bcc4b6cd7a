/**
 * tls-server / tls-client loading: start-up errors (missing file, not a certificate, key
 * mismatch, expired, node ID missing unless skipreceptornamescheck, bad pins, CA files),
 * reload, verifiers built from loaded configs and node:tls option objects.
 * @module
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { makeOurCaAndNodes } from "../helpers/openssl.ts";
import {
  clientChainVerifier,
  clientConnectOptions,
  loadTlsClient,
  loadTlsServer,
  serverChainVerifier,
  serverSecureContextOptions,
} from "../../src/certs/tls_config.ts";

async function fixture() {
  const dir = Deno.makeTempDirSync();
  await makeOurCaAndNodes(dir, ["foo", "bar"], {
    bits: 1024,
    caName: "CA",
    dns: (n) => [`${n}.example`],
    ips: [],
  });
  return dir;
}

const dir = await fixture();
const srv = (extra: Record<string, unknown> = {}) => ({
  name: "srv",
  cert: `${dir}/foo.crt`,
  key: `${dir}/foo.key`,
  ...extra,
});
/** A tls-client section `name` with foo's certificate and key, plus `extra`. */
const cli = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  cert: `${dir}/foo.crt`,
  key: `${dir}/foo.key`,
  ...extra,
});

Deno.test("a good tls-server loads with PEM, DER, key and modes", () => {
  const l = loadTlsServer(srv({ requireclientcert: true, clientcas: `${dir}/ca.crt` }), "foo");
  assertEquals(l.kind, "server");
  assertEquals(l.clientAuth, "require");
  assertEquals(l.minVersion, "TLSv1.2");
  assertEquals(l.certChainDer.length, 1);
  assertEquals(l.clientCaDer.length, 1);
  assert(l.certPem.startsWith("-----BEGIN CERTIFICATE-----"));
  assert(l.keyPem.startsWith("-----BEGIN PRIVATE KEY-----"));
  assertEquals(l.privateKey.asymmetricKeyType, "rsa");
  assertEquals(l.files, [`${dir}/foo.crt`, `${dir}/foo.key`, `${dir}/ca.crt`]);
  assertEquals(
    loadTlsServer(srv({ clientcas: `${dir}/ca.crt` }), "foo").clientAuth,
    "verify-if-given",
  );
  assertEquals(loadTlsServer(srv({ mintls13: true }), "foo").clientAuth, "none");
  assertEquals(loadTlsServer(srv({ mintls13: true }), "foo").minVersion, "TLSv1.3");
});

Deno.test("missing files are named in one line", () => {
  assertThrows(
    () => loadTlsServer(srv({ cert: `${dir}/nope.crt` }), "foo"),
    `error preparing tls server config: open ${dir}/nope.crt: no such file or directory`,
  );
  assertThrows(
    () => loadTlsServer(srv({ key: `${dir}/nope.key` }), "foo"),
    `error preparing tls server config: open ${dir}/nope.key: no such file or directory`,
  );
  assertThrows(
    () => loadTlsServer(srv({ clientcas: `${dir}/nope.pem` }), "foo"),
    `error preparing tls server config: error reading client CAs file: open ${dir}/nope.pem: no such file or directory`,
  );
  assertThrows(
    () => loadTlsClient(cli("c", { rootcas: `${dir}/x` }), "foo"),
    `error preparing tls client config: error reading root CAs file: open ${dir}/x: no such file or directory`,
  );
});

Deno.test("not a certificate / not a key / key mismatch", () => {
  Deno.writeTextFileSync(`${dir}/junk.crt`, "hello\n");
  const e1 = assertThrows(() => loadTlsServer(srv({ cert: `${dir}/junk.crt` }), "foo"));
  assertEquals(
    e1.message,
    `error preparing tls server config: tls: failed to find any PEM data in certificate input; cert=${dir}/junk.crt`,
  );
  assert(!e1.message.includes("\n"), "one line");
  assertThrows(
    () => loadTlsServer(srv({ cert: `${dir}/foo.key` }), "foo"),
    `PEM inputs may have been switched; cert=${dir}/foo.key`,
  );
  assertThrows(
    () => loadTlsServer(srv({ key: `${dir}/foo.crt` }), "foo"),
    `tls: found a certificate rather than a key in the PEM for the private key; key=${dir}/foo.crt`,
  );
  assertThrows(
    () => loadTlsServer(srv({ key: `${dir}/bar.key` }), "foo"),
    `error preparing tls server config: tls: private key does not match public key; cert=${dir}/foo.crt; key=${dir}/bar.key`,
  );
});

Deno.test("expired own certificate is a start-up error", () => {
  const later = () => new Date(Date.now() + 3 * 365 * 86400_000);
  const e = assertThrows(() => loadTlsServer(srv(), "foo", { now: later }));
  assertStringIncludes(e.message, "error preparing tls server config: certificate has expired");
  assertStringIncludes(e.message, `cert=${dir}/foo.crt`);
  // explicitly allowed (Go accepts it)
  loadTlsServer(srv(), "foo", { now: later, rejectExpired: false });
});

Deno.test("node ID self-check, skipped with skipreceptornamescheck", () => {
  assertThrows(
    () => loadTlsServer(srv(), "bar"),
    `error preparing tls server config: nodeID=bar not found in certificate name(s); names found=[foo]; cfg section=srv; server cert=${dir}/foo.crt`,
  );
  loadTlsServer(srv({ skipreceptornamescheck: true }), "bar");
  assertThrows(
    () => loadTlsClient(cli("cl", { rootcas: `${dir}/ca.crt` }), "bar"),
    `error preparing tls client config: nodeID=bar not found in certificate name(s); names found=[foo]; cfg section=cl; server cert=${dir}/foo.crt`,
  );
  loadTlsClient(cli("cl", { rootcas: `${dir}/ca.crt`, skipreceptornamescheck: true }), "bar");
  // CA certificate (no SAN): names found=[]
  assertThrows(
    () => loadTlsServer(srv({ cert: `${dir}/ca.crt`, key: `${dir}/ca.key` }), "foo"),
    "names found=[]; cfg section=srv",
  );
});

Deno.test("pinned fingerprints are validated at load time", () => {
  assertThrows(
    () => loadTlsServer(srv({ pinnedclientcert: ["ab:cd"] }), "foo"),
    "error preparing tls server config: error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512",
  );
  assertThrows(
    () => loadTlsClient(cli("c", { pinnedservercert: ["xyz"] }), "foo"),
    "error preparing tls client config: error decoding fingerprints: error decoding fingerprint",
  );
  const ok = loadTlsServer(
    srv({ pinnedclientcert: ["AA".repeat(32), "bb:".repeat(63) + "bb"] }),
    "foo",
  );
  assertEquals(ok.pinned.map((p) => p.length), [32, 64]);
});

Deno.test("tls-client: cert and key both or neither; system roots by default", () => {
  assertThrows(
    () => loadTlsClient({ name: "c", cert: `${dir}/foo.crt` }, "foo"),
    "error preparing tls client config: cert and key must both be supplied or neither",
  );
  const c = loadTlsClient({ name: "c" }, "foo");
  assertEquals(c.identity, undefined);
  assertEquals(c.insecureSkipVerify, false);
});

Deno.test("reload re-reads the files", async () => {
  const d2 = Deno.makeTempDirSync();
  for (const f of ["foo.crt", "foo.key", "bar.crt", "bar.key"]) {
    Deno.copyFileSync(`${dir}/${f}`, `${d2}/${f}`);
  }
  const l = loadTlsServer({
    name: "s",
    cert: `${d2}/foo.crt`,
    key: `${d2}/foo.key`,
    skipreceptornamescheck: true,
  }, "x");
  Deno.copyFileSync(`${d2}/bar.crt`, `${d2}/foo.crt`);
  Deno.copyFileSync(`${d2}/bar.key`, `${d2}/foo.key`);
  const r = l.reload();
  assert(r.certPem !== l.certPem, "new certificate after reload");
  Deno.writeTextFileSync(`${d2}/foo.key`, "");
  assertThrows(() => l.reload(), "tls: failed to find any PEM data in key input");
  await Promise.resolve();
});

Deno.test("verifiers from loaded configs and node:tls option objects", () => {
  const s = loadTlsServer(srv({ requireclientcert: true, clientcas: `${dir}/ca.crt` }), "foo");
  const c = loadTlsClient({
    name: "c",
    cert: `${dir}/bar.crt`,
    key: `${dir}/bar.key`,
    rootcas: `${dir}/ca.crt`,
  }, "bar");
  const barDer = c.identity!.certChainDer;
  assertEquals(serverChainVerifier(s)(barDer), null);
  assertEquals(serverChainVerifier(s, { expectedNodeId: "bar" })(barDer), null);
  assertStringIncludes(serverChainVerifier(s, { expectedNodeId: "baz" })(barDer)!, "not baz");
  assertEquals(serverChainVerifier(s)([]), "RVF failed: peer certificate missing");
  assertEquals(
    clientChainVerifier(c, { expectedHost: "foo.example", expectedNodeId: "foo" })(s.certChainDer),
    null,
  );
  assertStringIncludes(
    clientChainVerifier(c, { expectedHost: "x.example" })(s.certChainDer)!,
    "not x.example",
  );
  const insecure = loadTlsClient({ name: "i", insecureskipverify: true }, "x");
  assertEquals(clientChainVerifier(insecure, { expectedNodeId: "zzz" })([]), null);
  const none = loadTlsServer(srv(), "foo");
  assertEquals(serverChainVerifier(none)([]), null);

  const so = serverSecureContextOptions(s, { alpn: ["netceptor"] });
  assertEquals(so.requestCert, true);
  assertEquals(so.rejectUnauthorized, false);
  assertEquals(so.minVersion, "TLSv1.2");
  assertEquals(so.ALPNProtocols, ["netceptor"]);
  assertEquals(serverSecureContextOptions(none).requestCert, false);
  const co = clientConnectOptions(c, { host: "foo.example" });
  assertEquals(co.servername, "foo.example");
  assertEquals(co.rejectUnauthorized, false);
  assert(co.cert && co.key, "client identity passed");
  assertEquals(clientConnectOptions(c, { host: "127.0.0.1" }).servername, undefined);
  assertEquals(clientConnectOptions(c, { host: "h", noSni: true }).servername, undefined);
});
