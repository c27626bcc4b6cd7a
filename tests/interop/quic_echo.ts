/** Shared echo client for QUIC interop tests. */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../helpers/assert.ts";
import { type DatagramTransport, QuicDriver, type QuicStream } from "../../src/quic/driver.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { UdpTransport } from "../../src/quic/udp_transport.ts";
import { clientTls } from "../unit/quic_certs.ts";

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

/** Wraps a transport and drops a seeded fraction of datagrams in both directions. */
export function lossy(t: DatagramTransport, rate: number, seed: number): DatagramTransport {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    send: (remote, data) => {
      if (rand() >= rate) t.send(remote, data);
    },
    receive: async () => {
      for (;;) {
        const d = await t.receive();
        if (!d || rand() >= rate) return d;
      }
    },
    close: () => t.close(),
  };
}

/**
 * Our client over loopback UDP dropping 5% of datagrams each way (seeded): a 4 MiB echo with the
 * server at `address` comes back intact and some losses were recovered. The caller closes the
 * returned connection and driver.
 */
export async function lossyEcho(address: string, seed: number, serverName?: string) {
  const driver = new QuicDriver(
    new QuicEndpoint({ role: "client", tls: clientTls }),
    lossy(UdpTransport.listen(), 0.05, seed),
  );
  const conn = await driver.connect(address, serverName ? { serverName } : undefined);
  const s = await conn.openStream();
  const [a, b] = await echoOver(s, 4 * 1024 * 1024);
  assertEquals(b, a);
  assert(conn.connection.stats.packetsLost > 0, "losses were recovered");
  return { conn, driver };
}
