/**
 * Interop with quic-go v0.40.1 (the QUIC library Go receptor uses) over loopback UDP, through the
 * small Go program in tests/interop/quic_go_peer: our client ↔ quic-go echo server and quic-go
 * client ↔ our echo server, ALPN "netceptor", 16 MiB echo with sha256 checks. The peer is built
 * through the Go module proxy by scripts/peers/go_peers.ts; the tests fail with `missing …`
 * when it is not there. Run with --unstable-net.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { QuicDriver } from "../../src/quic/driver.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { UdpTransport } from "../../src/quic/udp_transport.ts";
import { clientTls, quicTestCert, serverTls } from "../unit/quic_certs.ts";
import { echoOver, lossyEcho } from "./quic_echo.ts";
import { quicGoPeer } from "../helpers/peers.ts";

const TOTAL = 16 * 1024 * 1024;
/** Reads lines from a child's stdout until `pred` matches one; returns it. */
async function readLine(
  reader: ReadableStreamDefaultReader<string>,
  pred: (l: string) => boolean,
  buf: { rest: string },
): Promise<string> {
  for (;;) {
    const nl = buf.rest.indexOf("\n");
    if (nl >= 0) {
      const line = buf.rest.slice(0, nl);
      buf.rest = buf.rest.slice(nl + 1);
      if (pred(line)) return line;
      continue;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`peer exited before a matching line (have: ${buf.rest})`);
    buf.rest += value;
  }
}

/** The quic-go peer as an echo server on a free UDP port, with our test certificate. */
async function startGoServer() {
  const cert = await quicTestCert();
  const dir = await Deno.makeTempDir({ prefix: "quic_go_cert_" });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
  const child = new Deno.Command(quicGoPeer(), {
    args: ["server", `${dir}/cert.pem`, `${dir}/key.pem`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const buf = { rest: "" };
  const stop = async () => {
    reader.releaseLock();
    try {
      child.kill();
    } catch { /* exited */ }
    await child.stdout.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    const port = Number((await readLine(reader, (l) => l.startsWith("LISTEN "), buf)).slice(7));
    return { reader, buf, port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

Deno.test({
  name: "quic interop: our client ↔ quic-go v0.40.1 server (16 MiB echo)",
  async fn() {
    const srv = await startGoServer();
    const { reader, buf, port } = srv;
    try {
      const t = UdpTransport.listen();
      const driver = new QuicDriver(
        new QuicEndpoint({
          role: "client",
          // several key updates during the transfer, checked by a real peer
          transport: { keepAliveInterval: 15_000, keyUpdateInterval: 3000 },
          tls: clientTls,
        }),
        t,
      );
      const conn = await driver.connect(`127.0.0.1:${port}`);
      assertEquals(conn.alpn, "netceptor");
      const s = await conn.openStream();
      const [a, b, mbps] = await echoOver(s, TOTAL);
      assertEquals(b, a);
      console.log(`our client → quic-go server echo: ${mbps.toFixed(1)} MiB/s each way`);
      const ku = conn.connection.stats.keyUpdates;
      assert(ku >= 2, `expected key updates, got ${ku}`);
      conn.close(0, "normal close");
      await conn.closed;
      const echoed = await readLine(reader, (l) => l.startsWith("ECHOED "), buf);
      assertEquals(Number(echoed.slice(7)), TOTAL);
      await driver.close();
    } finally {
      await srv.stop();
    }
  },
});

Deno.test({
  name: "quic interop: quic-go v0.40.1 client ↔ our server (16 MiB echo)",
  async fn() {
    const bin = quicGoPeer();
    const cert = await quicTestCert();
    const t = UdpTransport.listen();
    const driver = new QuicDriver(
      new QuicEndpoint({
        role: "server",
        transport: { keyUpdateInterval: 3000 },
        tls: serverTls(cert),
      }),
      t,
    );
    const serving = (async () => {
      const c = await driver.accept();
      assert(c, "accepted");
      const s = await c.acceptStream();
      assert(s, "stream");
      await s.readable.pipeTo(s.writable);
      const info = await c.closed;
      return { ...info, keyUpdates: c.connection.stats.keyUpdates };
    })();
    const out = await new Deno.Command(bin, {
      args: ["client", `127.0.0.1:${t.addr.port}`, String(TOTAL)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.success, `go client failed: ${new TextDecoder().decode(out.stderr)}`);
    const r = JSON.parse(text.trim().split("\n").pop()!);
    assertEquals(r.received, TOTAL);
    assertEquals(r.got, r.sent);
    console.log(`quic-go client → our server echo: ${r.mibps.toFixed(1)} MiB/s each way`);
    const info = await serving;
    assert(info.keyUpdates >= 2, `expected key updates, got ${info.keyUpdates}`);
    assertEquals(info.code, 0);
    assert(info.byPeer, "closed by the quic-go client");
    await driver.close();
  },
});

Deno.test({
  name: "quic interop: our client ↔ quic-go server with 5% loss each way (4 MiB echo)",
  async fn() {
    const srv = await startGoServer();
    const { port } = srv;
    try {
      const { conn, driver } = await lossyEcho(`127.0.0.1:${port}`, 1234);
      conn.close(0, "normal close");
      await conn.closed;
      await driver.close();
    } finally {
      await srv.stop();
    }
  },
});
