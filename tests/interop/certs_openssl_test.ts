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
import { certInit, certMakeReq, certSignReq } from "../../src/certs/actions.ts";
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

const OTHERNAME = "1.3.6.1.4.1.2312.19.1";

async function run(cmd: string, args: string[], stdin?: string, cwd?: string) {
  const p = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await p.output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

async function ours(dir: string) {
  await certInit({
    commonname: "Mesh CA",
    bits: 2048,
    outcert: `${dir}/ca.crt`,
    outkey: `${dir}/ca.key`,
  });
  for (const n of ["server-node", "client-node"]) {
    await certMakeReq({
      commonname: n,
      bits: 2048,
      dnsname: ["localhost"],
      ipaddress: ["127.0.0.1"],
      nodeid: [n],
      outreq: `${dir}/${n}.csr`,
      outkey: `${dir}/${n}.key`,
    });
    await certSignReq({
      req: `${dir}/${n}.csr`,
      cacert: `${dir}/ca.crt`,
      cakey: `${dir}/ca.key`,
      outcert: `${dir}/${n}.crt`,
      verify: true,
    });
  }
}

const dir = Deno.makeTempDirSync();
await ours(dir);

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
  const o = async (args: string[]) => {
    const r = await run("openssl", args, undefined, d);
    assertEquals(r.code, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  };
  await o(["genrsa", "-out", "ca.key", "2048"]);
  await o([
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-key",
    "ca.key",
    "-subj",
    "/OU=ReceptorTesting/CN=ca",
    "-sha256",
    "-out",
    "ca.crt",
  ]);
  Deno.writeTextFileSync(
    `${d}/node.ext`,
    `subjectAltName=DNS:localhost,otherName:${OTHERNAME};UTF8:node1`,
  );
  await o(["genrsa", "-out", "node.key", "2048"]);
  await o([
    "req",
    "-new",
    "-sha256",
    "-key",
    "node.key",
    "-subj",
    "/OU=ReceptorTesting/CN=node1",
    "-out",
    "node.csr",
  ]);
  await o([
    "x509",
    "-req",
    "-extfile",
    "node.ext",
    "-in",
    "node.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "node.crt",
    "-sha256",
  ]);
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

async function readAll(s: { read(b: Uint8Array): Promise<number | null> }, want: number) {
  const buf = new Uint8Array(64 * 1024);
  let out = "";
  while (out.length < want) {
    const n = await s.read(buf);
    if (n === null) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  return out;
}

Deno.test("TLS over Deno.Conn both ways: byte stream, peer node IDs, ALPN, refusal", async () => {
  const { tlsClientOverConn, tlsServerOverConn } = await import("../../src/certs/tls_stream.ts");
  const server = loadTlsServer({
    name: "s",
    cert: `${dir}/server-node.crt`,
    key: `${dir}/server-node.key`,
    requireclientcert: true,
    clientcas: `${dir}/ca.crt`,
  }, "server-node");
  const client = loadTlsClient({
    name: "c",
    cert: `${dir}/client-node.crt`,
    key: `${dir}/client-node.key`,
    rootcas: `${dir}/ca.crt`,
  }, "client-node");
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  try {
    const accepted = l.accept().then((c) => tlsServerOverConn(c, server, { alpn: ["netceptor"] }));
    const dialed = tlsClientOverConn(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      client,
      "localhost",
      {
        alpn: ["netceptor"],
      },
    );
    const [s, c] = await Promise.all([accepted, dialed]);
    assertEquals(s.peerNodeIds, ["client-node"]);
    assertEquals(c.peerNodeIds, ["server-node"]);
    assertEquals(c.alpn, "netceptor");
    const big = "x".repeat(200_000);
    const [, got] = await Promise.all([
      c.stream.write(new TextEncoder().encode(big)),
      readAll(s.stream, big.length),
    ]);
    assertEquals(got.length, big.length);
    await s.stream.write(new TextEncoder().encode("back"));
    assertEquals(await readAll(c.stream, 4), "back");
    c.stream.close();
    assertEquals(await s.stream.read(new Uint8Array(10)), null);
    s.stream.close();

    // a client whose chain the server does not trust is refused by our verifier
    const d = Deno.makeTempDirSync();
    await certInit({
      commonname: "Other CA",
      bits: 2048,
      outcert: `${d}/ca.crt`,
      outkey: `${d}/ca.key`,
    });
    await certMakeReq({
      commonname: "x",
      bits: 2048,
      dnsname: [],
      ipaddress: [],
      nodeid: ["client-node"],
      outreq: `${d}/x.csr`,
      outkey: `${d}/x.key`,
    });
    await certSignReq({
      req: `${d}/x.csr`,
      cacert: `${d}/ca.crt`,
      cakey: `${d}/ca.key`,
      outcert: `${d}/x.crt`,
      verify: true,
    });
    const rogue = loadTlsClient({
      name: "r",
      cert: `${d}/x.crt`,
      key: `${d}/x.key`,
      rootcas: `${dir}/ca.crt`,
    }, "client-node");
    const accepted2 = l.accept().then((c) => tlsServerOverConn(c, server)).then(
      () => null,
      (e: Error) => e.message,
    );
    const dialed2 = tlsClientOverConn(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      rogue,
      "localhost",
    );
    const serverErr = await accepted2;
    assertEquals(serverErr, "x509: certificate signed by unknown authority");
    // the rogue client completed its side; the server has closed the connection on it
    await dialed2.then(async (r) => {
      assertEquals(await r.stream.read(new Uint8Array(10)), null);
      r.stream.close();
    }, () => {});
    // and a client checking the wrong host name refuses the server
    const accepted3 = l.accept().then((c) => tlsServerOverConn(c, server)).then(
      (r) => r.stream.close(),
      () => {},
    );
    const wrongHost = await tlsClientOverConn(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      client,
      "elsewhere.example",
    )
      .then(() => null, (e: Error) => e.message);
    assertEquals(wrongHost, "x509: certificate is valid for localhost, not elsewhere.example");
    await accepted3;
  } finally {
    l.close();
  }
});

Deno.test("our TLS client over Deno.Conn verifies an openssl s_server (receptorctl-style certs)", async () => {
  const { tlsClientOverConn } = await import("../../src/certs/tls_stream.ts");
  const d = Deno.makeTempDirSync();
  const o = async (args: string[]) => {
    const r = await run("openssl", args, undefined, d);
    assertEquals(r.code, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  };
  await o(["genrsa", "-out", "ca.key", "2048"]);
  await o([
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-key",
    "ca.key",
    "-subj",
    "/CN=ca",
    "-sha256",
    "-out",
    "ca.crt",
  ]);
  Deno.writeTextFileSync(
    `${d}/s.ext`,
    `subjectAltName=DNS:localhost,otherName:${OTHERNAME};UTF8:node1`,
  );
  await o(["genrsa", "-out", "s.key", "2048"]);
  await o(["req", "-new", "-sha256", "-key", "s.key", "-subj", "/CN=node1", "-out", "s.csr"]);
  await o([
    "x509",
    "-req",
    "-extfile",
    "s.ext",
    "-in",
    "s.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "s.crt",
    "-sha256",
  ]);
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      "s.crt",
      "-key",
      "s.key",
      "-rev",
      "-naccept",
      "2",
    ],
    cwd: d,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!/ACCEPT .*:(\d+)/.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const port = Number(text.match(/ACCEPT .*:(\d+)/)![1]);
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    const client = loadTlsClient({ name: "c", rootcas: `${d}/ca.crt` }, "me");
    const r = await tlsClientOverConn(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      client,
      "localhost",
      {
        verifier: clientChainVerifier(client, {
          expectedHost: "localhost",
          expectedNodeId: "node1",
        }),
      },
    );
    assertEquals(r.peerNodeIds, ["node1"]);
    await r.stream.write(new TextEncoder().encode("ping\n"));
    assertEquals((await readAll(r.stream, 5)).trim(), "gnip");
    r.stream.close();
    const bad = await tlsClientOverConn(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      client,
      "localhost",
      {
        verifier: clientChainVerifier(client, { expectedNodeId: "node2" }),
      },
    ).then(() => null, (e: Error) => e.message);
    assertEquals(bad, "x509: certificate is valid for Receptor node ID node1, not node2");
  } finally {
    try {
      child.kill();
    } catch {
      // already exited
    }
    await child.status;
  }
});
