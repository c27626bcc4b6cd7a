/**
 * Interop of our TLS-over-connection layer (src/certs/tls_stream.ts) with OpenSSL: both of our
 * ends over Deno.Conn (byte stream, peer node IDs, ALPN, refusal of a foreign client), and our
 * client against an `openssl s_server` using receptorctl-style certificates.
 * @module
 */
import { assertEquals } from "../helpers/assert.ts";
import { clientChainVerifier, loadTlsClient, loadTlsServer } from "../../src/certs/tls_config.ts";
import { certInit, certMakeReq, certSignReq } from "../../src/certs/actions.ts";
import { makeOpensslCerts, makeOurCerts } from "../helpers/openssl.ts";

const dir = Deno.makeTempDirSync();
await makeOurCerts(dir);

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
  await makeOpensslCerts(d);
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      "node.crt",
      "-key",
      "node.key",
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
