/** Bulk transfer and handshake over a seeded lossy link (drop, duplicate, reorder, delay). */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../helpers/assert.ts";
import type { QuicConnection } from "../../src/quic/connection.ts";
import { type LinkOptions, makeEndpoints, Net, prng } from "./quic_harness.ts";

/** Transfers `total` bytes client→server on one stream; returns both sha256 digests. */
export async function bulk(total: number, seed: number, link: LinkOptions, maxSimMs = 3_600_000) {
  const { client, server } = await makeEndpoints();
  const net = new Net(client, server, seed, link);
  const cc = client.connect(net.now, "server:1", "localhost");
  let sc: QuicConnection | undefined;
  // 16 distinct 64 KiB blocks, cycled
  const r = prng(seed);
  const blocks = Array.from({ length: 16 }, () => {
    const b = new Uint8Array(65536);
    for (let i = 0; i < b.length; i += 4) {
      const v = (r() * 4294967296) >>> 0;
      b[i] = v;
      b[i + 1] = v >>> 8;
      b[i + 2] = v >>> 16;
      b[i + 3] = v >>> 24;
    }
    return b;
  });
  const hs = createHash("sha256"), hr = createHash("sha256");
  let written = 0, received = 0, fin = false, blk = 0, pending: Uint8Array | undefined;
  let id = -1;
  net.onStep = () => {
    for (let e = server.poll(); e; e = server.poll()) sc = e.conn;
    while (cc.poll());
    if (cc.handshakeComplete && id < 0) id = cc.openBidi()!;
    if (id >= 0 && written < total) {
      for (;;) {
        if (!pending) {
          if (written >= total) break;
          pending = blocks[blk++ % 16].subarray(0, Math.min(65536, total - written));
          hs.update(pending);
        }
        const n = cc.write(id, pending);
        written += n;
        pending = n === pending.length ? undefined : pending.subarray(n);
        if (n === 0 || pending) break;
      }
      if (written >= total && !pending) cc.finish(id);
    }
    if (sc && sc.state === "established") {
      while (sc.poll());
      for (;;) {
        let d: Uint8Array | null;
        try {
          d = sc.read(0);
        } catch {
          break;
        }
        if (d === null) {
          fin = true;
          break;
        }
        if (!d.length) break;
        received += d.length;
        hr.update(d);
      }
    }
  };
  const t0 = performance.now();
  net.runUntil(() => fin, maxSimMs);
  const ms = performance.now() - t0;
  return {
    sent: hs.digest("hex"),
    got: hr.digest("hex"),
    received,
    simMs: net.now,
    realMs: ms,
    cc,
    sc: sc!,
  };
}

Deno.test("quic: 64 MiB intact at 5% loss with duplication and reordering", async () => {
  const total = 64 * 1024 * 1024;
  const r = await bulk(total, 42, { loss: 0.05, dup: 0.02, reorder: 0.05, delay: 5 });
  assertEquals(r.received, total);
  assertEquals(r.got, r.sent);
  console.log(`64 MiB: ${r.realMs.toFixed(0)} ms real, ${(r.simMs / 1000).toFixed(1)} s simulated`);
});

Deno.test("quic: handshake completes at 20% loss", async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { client, server } = await makeEndpoints();
    const net = new Net(client, server, seed, { loss: 0.2, delay: 20, reorder: 0.1, dup: 0.05 });
    const cc = client.connect(net.now, "server:1", "localhost");
    let sc: QuicConnection | undefined;
    net.onStep = () => {
      for (let e = server.poll(); e; e = server.poll()) sc = e.conn;
    };
    net.runUntil(() => cc.handshakeComplete && !!sc?.handshakeComplete, 14_000);
    assert(cc.state === "established", `seed ${seed}: client state ${cc.state}`);
  }
});
