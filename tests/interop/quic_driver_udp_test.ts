/** The async driver over loopback UDP: echo with backpressure, between our client and server. */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../helpers/assert.ts";
import { QuicDriver, type QuicStream } from "../../src/quic/driver.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { UdpTransport } from "../../src/quic/udp_transport.ts";
import { quicTestCert } from "../unit/quic_certs.ts";

async function echo(s: QuicStream): Promise<void> {
  await s.readable.pipeTo(s.writable);
}

/** Sends `total` bytes and returns [sent sha, echoed sha, MB/s]. */
export async function echoOver(s: QuicStream, total: number): Promise<[string, string, number]> {
  const hs = createHash("sha256"), hr = createHash("sha256");
  const t0 = performance.now();
  const writer = (async () => {
    const w = s.writable.getWriter();
    const chunk = new Uint8Array(64 * 1024);
    for (let off = 0; off < total; off += chunk.length) {
      for (let i = 0; i < chunk.length; i += 997) chunk[i] = (off / 1024 + i) & 0xff;
      const c = chunk.subarray(0, Math.min(chunk.length, total - off));
      hs.update(c);
      await w.write(c);
    }
    await w.close();
  })();
  let got = 0;
  for await (const d of s.readable) {
    hr.update(d);
    got += d.length;
  }
  await writer;
  const ms = performance.now() - t0;
  assertEquals(got, total);
  return [hs.digest("hex"), hr.digest("hex"), total / 1048576 / (ms / 1000)];
}

Deno.test("quic driver: 16 MiB echo over loopback UDP between our client and server", async () => {
  const cert = await quicTestCert();
  const st = UdpTransport.listen();
  const ct = UdpTransport.listen();
  const server = new QuicDriver(
    new QuicEndpoint({
      role: "server",
      tls: () => ({
        role: "server",
        alpn: ["netceptor"],
        certificateChain: cert.chain,
        privateKey: cert.key,
      }),
    }),
    st,
  );
  const client = new QuicDriver(
    new QuicEndpoint({ role: "client", tls: () => ({ role: "client", alpn: ["netceptor"] }) }),
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
