/**
 * Interop with OpenSSL and node:tls: OpenSSL reads and verifies our CA, CSR and signed certs
 * (including the node-ID otherName); certificates made by OpenSSL the way receptorctl's test
 * helper does are parsed by our SAN reader and accepted by our verifier; our signreq signs an
 * OpenSSL CSR; mutual TLS over loopback (node:tls both ends, and `openssl s_client`) with our
 * verifiers deciding; the interactive signreq prompt reading a real stdin.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { certMakeReq, certSignReq } from "../../src/certs/actions.ts";
import { makeOpensslCerts, makeOurCerts, opensslIn, OTHERNAME, run } from "../helpers/openssl.ts";
import { loadCertificateFile } from "../../src/certs/pem.ts";
import { sanNamesOf } from "../../src/certs/x509_parse.ts";
import { makeChainVerifier } from "../../src/certs/verify.ts";
import {
  clientChainVerifier,
  clientConnectOptions,
  loadTlsClient,
  loadTlsServer,
  serverChainVerifier,
  serverSecureContextOptions,
  verifyTlsSocket,
} from "../../src/certs/tls_config.ts";

const dir = Deno.makeTempDirSync();
await makeOurCerts(dir);

Deno.test("openssl reads our CA, CSR and signed certificate and shows the node-ID otherName", async () => {
  const ca = await run("openssl", ["x509", "-in", `${dir}/ca.crt`, "-noout", "-text"]);
  assertEquals(ca.code, 0, ca.stderr);
  assertStringIncludes(ca.stdout, "CA:TRUE");
  assertStringIncludes(ca.stdout, "Digital Signature, Certificate Sign");
  assertStringIncludes(ca.stdout, "TLS Web Client Authentication, TLS Web Server Authentication");
  const req = await run("openssl", [
    "req",
    "-in",
    `${dir}/server-node.csr`,
    "-noout",
    "-text",
    "-verify",
  ]);
  assertEquals(req.code, 0, req.stderr);
  assertStringIncludes(req.stdout, `othername: ${OTHERNAME}::server-node`);
  const leaf = await run("openssl", ["x509", "-in", `${dir}/server-node.crt`, "-noout", "-text"]);
  assertEquals(leaf.code, 0, leaf.stderr);
  // OpenSSL 3.0 spelling: "othername: <oid>::<value>"
  assertStringIncludes(
    leaf.stdout,
    `DNS:localhost, IP Address:127.0.0.1, othername: ${OTHERNAME}::server-node`,
  );
  assert(!leaf.stdout.includes("CA:TRUE"), "leaf is not a CA");
});

Deno.test("openssl verify accepts our chain for server and client purposes", async () => {
  for (const purpose of ["sslserver", "sslclient"]) {
    const v = await run("openssl", [
      "verify",
      "-purpose",
      purpose,
      "-CAfile",
      `${dir}/ca.crt`,
      `${dir}/server-node.crt`,
    ]);
    assertEquals(v.code, 0, v.stdout + v.stderr);
    assertStringIncludes(v.stdout, "server-node.crt: OK");
  }
});

Deno.test("openssl-made certificates (receptorctl test-helper style) are read and accepted", async () => {
  const d = Deno.makeTempDirSync();
  const o = opensslIn(d);
  await makeOpensslCerts(d);
  const leaf = loadCertificateFile(`${d}/node.crt`);
  const ca = loadCertificateFile(`${d}/ca.crt`);
  const names = sanNamesOf(leaf);
  assertEquals(names.nodeIds, ["node1"]);
  assertEquals(names.dnsNames, ["localhost"]);
  const v = makeChainVerifier({
    roots: [ca.der],
    requiredEku: "serverAuth",
    expectedNodeId: "node1",
    expectedHost: "localhost",
  });
  assertEquals(v([leaf.der]), null);
  assertStringIncludes(
    makeChainVerifier({ roots: [ca.der], expectedNodeId: "node2" })([leaf.der])!,
    "not node2",
  );
  // and our tls-server loader takes the openssl files (PKCS#8 key) for node1
  const l = loadTlsServer({ name: "s", cert: `${d}/node.crt`, key: `${d}/node.key` }, "node1");
  assertEquals(l.certChainDer[0], leaf.der);
  // our signreq signs an openssl CSR carrying a SAN; our makereq uses an openssl key
  await o([
    "req",
    "-new",
    "-sha256",
    "-key",
    "node.key",
    "-subj",
    "/CN=n2",
    "-addext",
    `subjectAltName=otherName:${OTHERNAME};UTF8:n2`,
    "-out",
    "n2.csr",
  ]);
  await certSignReq({
    req: `${d}/n2.csr`,
    cacert: `${dir}/ca.crt`,
    cakey: `${dir}/ca.key`,
    outcert: `${d}/n2.crt`,
    verify: true,
  });
  const vv = await run("openssl", ["verify", "-CAfile", `${dir}/ca.crt`, `${d}/n2.crt`]);
  assertEquals(vv.code, 0, vv.stdout + vv.stderr);
  assertEquals(sanNamesOf(loadCertificateFile(`${d}/n2.crt`)).nodeIds, ["n2"]);
  await certMakeReq({
    commonname: "n3",
    inkey: `${d}/node.key`,
    dnsname: [],
    ipaddress: [],
    nodeid: ["n3"],
    outreq: `${d}/n3.csr`,
  });
  const rq = await run("openssl", ["req", "-in", `${d}/n3.csr`, "-noout", "-verify", "-text"]);
  assertEquals(rq.code, 0, rq.stderr);
  assertStringIncludes(rq.stdout, `othername: ${OTHERNAME}::n3`);
});

interface Server {
  port: number;
  verdicts: (string | null)[];
  close(): Promise<void>;
}

function startServer(expectedClientNode: string): Promise<Server> {
  const loaded = loadTlsServer({
    name: "srv",
    cert: `${dir}/server-node.crt`,
    key: `${dir}/server-node.key`,
    requireclientcert: true,
    clientcas: `${dir}/ca.crt`,
  }, "server-node");
  const verifier = serverChainVerifier(loaded, { expectedNodeId: expectedClientNode });
  const verdicts: (string | null)[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const srv = tls.createServer(serverSecureContextOptions(loaded, { alpn: ["netceptor"] }), (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    const why = verifyTlsSocket(s, verifier);
    verdicts.push(why);
    if (why) {
      s.destroy();
      return;
    }
    s.on("data", (d) => s.end(`pong:${String(d).trim()}\n`));
  });
  return new Promise((resolve) => {
    srv.listen(0, "127.0.0.1", () => {
      resolve({
        port: (srv.address() as AddressInfo).port,
        verdicts,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            srv.close(() => r());
          }),
      });
    });
  });
}

function dial(port: number, clientCert: string, clientKey: string, expectNode: string) {
  const loaded = loadTlsClient({
    name: "cl",
    cert: clientCert,
    key: clientKey,
    rootcas: `${dir}/ca.crt`,
    skipreceptornamescheck: true,
  }, "client-node");
  const verifier = clientChainVerifier(loaded, {
    expectedHost: "localhost",
    expectedNodeId: expectNode,
  });
  return new Promise<{ verdict: string | null; reply: string; alpn: string | false | null }>(
    (resolve, reject) => {
      const c = tls.connect({
        ...clientConnectOptions(loaded, { host: "localhost", alpn: ["netceptor"] }),
        host: "127.0.0.1",
        port,
      });
      let verdict: string | null = null;
      let reply = "";
      let alpn: string | false | null = null;
      const timer = setTimeout(() => {
        c.destroy();
        reject(new Error("dial timed out"));
      }, 10_000);
      c.on("secureConnect", () => {
        verdict = verifyTlsSocket(c, verifier);
        alpn = c.alpnProtocol ?? null;
        if (verdict) c.destroy();
        else c.write("ping\n");
      });
      c.on("data", (d) => (reply += String(d)));
      c.on("error", () => {});
      c.on("close", () => {
        clearTimeout(timer);
        resolve({ verdict, reply, alpn });
      });
    },
  );
}

Deno.test("node:tls mutual TLS over loopback with our verifiers on both ends", async () => {
  const srv = await startServer("client-node");
  try {
    const ok = await dial(
      srv.port,
      `${dir}/client-node.crt`,
      `${dir}/client-node.key`,
      "server-node",
    );
    assertEquals(ok.verdict, null);
    assertEquals(ok.reply, "pong:ping\n");
    assertEquals(ok.alpn, "netceptor");
    assertEquals(srv.verdicts, [null]);
    // client expecting another node ID refuses the server
    const wrong = await dial(
      srv.port,
      `${dir}/client-node.crt`,
      `${dir}/client-node.key`,
      "other-node",
    );
    assertEquals(
      wrong.verdict,
      "x509: certificate is valid for Receptor node ID server-node, not other-node",
    );
    // server refuses a client whose certificate names another node (node IDs checked both ways)
    const imp = await dial(
      srv.port,
      `${dir}/server-node.crt`,
      `${dir}/server-node.key`,
      "server-node",
    );
    assertEquals(imp.reply, "");
    const refusal = "x509: certificate is valid for Receptor node ID server-node, not client-node";
    const deadline = Date.now() + 5000;
    while (!srv.verdicts.includes(refusal) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(srv.verdicts.includes(refusal), `server verdicts: ${JSON.stringify(srv.verdicts)}`);
    assertEquals(srv.verdicts.filter((v) => v !== null), [refusal]);
  } finally {
    await srv.close();
  }
});

Deno.test("openssl s_client completes mutual TLS with our server and trusts our chain", async () => {
  const srv = await startServer("client-node");
  try {
    const r = await run("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${srv.port}`,
      "-servername",
      "localhost",
      "-CAfile",
      `${dir}/ca.crt`,
      "-cert",
      `${dir}/client-node.crt`,
      "-key",
      `${dir}/client-node.key`,
      "-verify_return_error",
      "-verify_hostname",
      "localhost",
      "-alpn",
      "netceptor",
      "-ign_eof",
    ], "hello\n");
    assertStringIncludes(r.stdout, "Verify return code: 0 (ok)");
    assertStringIncludes(r.stdout, "pong:hello");
    assertEquals(srv.verdicts, [null]);
  } finally {
    await srv.close();
  }
});

Deno.test("cert signreq prompt reads one word from a real stdin", async () => {
  const d = Deno.makeTempDirSync();
  const cli = new URL("../../src/cli/cert_cli.ts", import.meta.url).href;
  const code = `import { runCertCli } from ${
    JSON.stringify(cli)
  }; Deno.exit(await runCertCli(Deno.args));`;
  const deno = Deno.execPath();
  const args = (out: string) => [
    "eval",
    "--no-check",
    code,
    "signreq",
    "--req",
    `${dir}/server-node.csr`,
    "--cacert",
    `${dir}/ca.crt`,
    "--cakey",
    `${dir}/ca.key`,
    "--outcert",
    `${d}/${out}`,
  ];
  const yes = await run(deno, args("a.crt"), "yes\n");
  assertEquals(yes.code, 0, yes.stdout + yes.stderr);
  assertStringIncludes(yes.stdout, "Requested certificate:\n  Subject: CN=server-node\n");
  assert(yes.stdout.endsWith("Sign certificate (yes/no)? "), JSON.stringify(yes.stdout));
  const no = await run(deno, args("b.crt"), "nope\n");
  assertEquals(no.code, 1);
  assert(
    no.stdout.endsWith("Sign certificate (yes/no)? Error: user declined\n"),
    JSON.stringify(no.stdout),
  );
  const eof = await run(deno, args("c.crt"), "");
  assertEquals(eof.code, 1);
  assertStringIncludes(eof.stdout, "Error: EOF");
});
