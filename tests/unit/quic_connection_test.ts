/** Sans-IO QUIC connection tests over the deterministic in-memory network. */
import { assert, assertEquals } from "../helpers/assert.ts";
import type { ConnectionEvent, QuicConnection } from "../../src/quic/connection.ts";
import { makeEndpoints, Net } from "./quic_harness.ts";

function drain(conn: QuicConnection, into: ConnectionEvent[]): void {
  for (let e = conn.poll(); e; e = conn.poll()) into.push(e);
}

async function handshake(seed = 1, link = {}) {
  const { client, server } = await makeEndpoints();
  const net = new Net(client, server, seed, link);
  const cc = client.connect(net.now, "server:1", "localhost");
  let sc: QuicConnection | undefined;
  const cev: ConnectionEvent[] = [], sev: ConnectionEvent[] = [];
  net.onStep = () => {
    for (let e = server.poll(); e; e = server.poll()) sc = e.conn;
    drain(cc, cev);
    if (sc) drain(sc, sev);
  };
  return { net, client, server, cc, getSc: () => sc!, cev, sev };
}

Deno.test("quic: handshake completes and a stream echoes", async () => {
  const h = await handshake();
  h.net.runUntil(() => h.cc.handshakeComplete && !!h.getSc()?.handshakeComplete);
  assertEquals(h.cc.alpn, "netceptor");
  assertEquals(h.cc.peerCertificates.length, 1);
  const id = h.cc.openBidi()!;
  assertEquals(id, 0);
  const msg = new TextEncoder().encode("hello quic");
  assertEquals(h.cc.write(id, msg), msg.length);
  h.cc.finish(id);
  const got: number[] = [];
  let fin = false;
  h.net.runUntil(() => {
    const sc = h.getSc();
    if (sc.state !== "established") return false;
    for (;;) {
      let d: Uint8Array | null;
      try {
        d = sc.read(0);
      } catch {
        return false;
      }
      if (d === null) {
        fin = true;
        break;
      }
      if (d.length === 0) break;
      got.push(...d);
    }
    return fin;
  });
  assertEquals(new TextDecoder().decode(new Uint8Array(got)), "hello quic");
  assert(h.sev.some((e) => e.type === "streamOpened" && e.id === 0), "streamOpened event");
});
