/** The async driver over loopback UDP: echo with backpressure, between our client and server. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { QuicDriver, type QuicStream } from "../../src/quic/driver.ts";
import { echoOver } from "./quic_echo.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { UdpTransport } from "../../src/quic/udp_transport.ts";
import { clientTls, quicTestCert, serverTls } from "../unit/quic_certs.ts";

async function echo(s: QuicStream): Promise<void> {
  await s.readable.pipeTo(s.writable);
}

Deno.test("quic driver: 16 MiB echo over loopback UDP between our client and server", async () => {
  const cert = await quicTestCert();
  const st = UdpTransport.listen();
  const ct = UdpTransport.listen();
  const server = new QuicDriver(
    new QuicEndpoint({
      role: "server",
      tls: serverTls(cert),
    }),
    st,
  );
  const client = new QuicDriver(
    new QuicEndpoint({ role: "client", tls: clientTls }),
    ct,
  );
  const serving = (async () => {
    const conn = await server.accept();
    assert(conn, "accepted");
    const s = await conn.acceptStream();
    assert(s, "stream");
    await echo(s);
  })();
  const conn = await client.connect(st.local, { serverName: "localhost" });
  assertEquals(conn.alpn, "netceptor");
  const s = await conn.openStream();
  const [a, b, mbps] = await echoOver(s, 16 * 1024 * 1024);
  assertEquals(b, a);
  console.log(`echo throughput (each direction): ${mbps.toFixed(1)} MiB/s`);
  await serving;
  conn.close(0, "done");
  await conn.closed;
  await client.close();
  await server.close();
});
