/**
 * Interop with Deno's built-in QUIC (quinn) over loopback UDP: our client ↔ Deno server and
 * Deno client ↔ our server, ALPN "netceptor", 16 MiB echo on one bidirectional stream.
 * Run with --unstable-net.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../helpers/assert.ts";
import { type QuicConnHandle, QuicDriver } from "../../src/quic/driver.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { UdpTransport } from "../../src/quic/udp_transport.ts";
import { clientTls, quicTestCert, serverTls } from "../unit/quic_certs.ts";
import { echoOver, lossyEcho } from "./quic_echo.ts";

const TOTAL = 16 * 1024 * 1024;

/** Deno's QUIC server (ALPN "netceptor") echoing the first stream of its first connection. */
async function denoEchoServer() {
  const cert = await quicTestCert();
  const ep = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = ep.listen({
    cert: cert.certPem,
    key: cert.keyPem,
    alpnProtocols: ["netceptor"],
  });
  const serving = (async () => {
    const conn = await listener.accept();
    assertEquals(conn.protocol, "netceptor");
    const reader = conn.incomingBidirectionalStreams.getReader();
    const { value: bidi } = await reader.read();
    reader.releaseLock();
    assert(bidi, "deno server got a stream");
    await bidi.readable.pipeTo(bidi.writable);
    await conn.closed.catch(() => {});
  })();
  return { ep, listener, serving };
}

/** Close our client connection and driver, then Deno's server, in that order. */
async function closeAll(
  conn: QuicConnHandle,
  driver: QuicDriver,
  server: Awaited<ReturnType<typeof denoEchoServer>>,
): Promise<void> {
  conn.close(0, "normal close");
  await conn.closed;
  await server.serving;
  await driver.close();
  server.listener.stop();
  server.ep.close();
}

Deno.test("quic interop: our client ↔ Deno's QUIC server (16 MiB echo)", async () => {
  const server = await denoEchoServer();
  const t = UdpTransport.listen();
  const driver = new QuicDriver(
    new QuicEndpoint({ role: "client", tls: clientTls }),
    t,
  );
  const conn = await driver.connect(`127.0.0.1:${server.ep.addr.port}`, {
    serverName: "localhost",
  });
  assertEquals(conn.alpn, "netceptor");
  assertEquals(conn.peerCertificates.length, 1);
  const s = await conn.openStream();
  const [a, b, mbps] = await echoOver(s, TOTAL);
  assertEquals(b, a);
  console.log(`our client → Deno server echo: ${mbps.toFixed(1)} MiB/s each way`);
  await closeAll(conn, driver, server);
});

Deno.test("quic interop: Deno's QUIC client ↔ our server (16 MiB echo)", async () => {
  const cert = await quicTestCert();
  const t = UdpTransport.listen();
  const driver = new QuicDriver(
    new QuicEndpoint({
      role: "server",
      tls: serverTls(cert),
    }),
    t,
  );
  const serving = (async () => {
    const c = await driver.accept();
    assert(c, "accepted");
    assertEquals(c.alpn, "netceptor");
    const s = await c.acceptStream();
    assert(s, "stream");
    await s.readable.pipeTo(s.writable);
    return await c.closed;
  })();
  const conn = await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: t.addr.port,
    serverName: "localhost",
    alpnProtocols: ["netceptor"],
    caCerts: [cert.caPem],
  });
  assertEquals(conn.protocol, "netceptor");
  const bidi = await conn.createBidirectionalStream();
  const hs = createHash("sha256"), hr = createHash("sha256");
  const t0 = performance.now();
  const writing = (async () => {
    const w = bidi.writable.getWriter();
    const chunk = new Uint8Array(64 * 1024);
    for (let off = 0; off < TOTAL; off += chunk.length) {
      chunk.fill(off / 65536 & 0xff);
      chunk[7] = off & 0xff;
      hs.update(chunk);
      await w.write(chunk.slice());
    }
    await w.close();
  })();
  let got = 0;
  for await (const d of bidi.readable) {
    hr.update(d);
    got += d.length;
  }
  await writing;
  const ms = performance.now() - t0;
  assertEquals(got, TOTAL);
  assertEquals(hr.digest("hex"), hs.digest("hex"));
  console.log(
    `Deno client → our server echo: ${(TOTAL / 1048576 / (ms / 1000)).toFixed(1)} MiB/s each way`,
  );
  conn.close({ closeCode: 0, reason: "normal close" });
  const info = await serving;
  assertEquals(info.code, 0);
  assert(info.byPeer, "closed by Deno client");
  await driver.close();
  conn.endpoint.close();
});

Deno.test("quic interop: our client ↔ Deno's QUIC server with 5% loss each way (4 MiB echo)", async () => {
  const server = await denoEchoServer();
  const { conn, driver } = await lossyEcho(`127.0.0.1:${server.ep.addr.port}`, 99, "localhost");
  await closeAll(conn, driver, server);
});
