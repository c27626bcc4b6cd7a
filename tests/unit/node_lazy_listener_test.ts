import { assert, assertEquals } from "../helpers/assert.ts";
import { MeshNode } from "../../src/mesh/mesh_node.ts";
import { memoryLinkPair } from "../../src/mesh/memory_link.ts";
import { dialStream, StreamListener } from "../../src/streams/stream_service.ts";
import { Logger, silentLogger } from "../../src/log.ts";
import { LazyStreamListener, PENDING_LIMITS } from "../../src/node/lazy_listener.ts";
import type { MeshStreamConn } from "../../src/streams/stream_service.ts";
import type { DatagramEndpoint } from "../../src/mesh/mesh_node.ts";
import { waitFor } from "../helpers/net.ts";

const logger = silentLogger();

async function pair(): Promise<[MeshNode, MeshNode]> {
  const a = new MeshNode({ nodeId: "a", logger });
  const b = new MeshNode({ nodeId: "b", logger });
  const [la, lb] = memoryLinkPair();
  a.attachLink(la);
  b.attachLink(lb);
  await waitFor("route", () => b.status().routingTable["a"] !== undefined, 10000, 20);
  return [a, b];
}

Deno.test("lazy listener: advertised at once; QUIC starts on the first datagram; held datagrams replayed", async () => {
  const [a, b] = await pair();
  let calls = 0;
  const lines: string[] = [];
  const debug = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  const gate = Promise.withResolvers<void>();
  const conns: MeshStreamConn[] = [];
  const lazy = new LazyStreamListener(a, "echo", {
    logger: debug,
    connType: 1,
    tags: { type: "test" },
    onConnection: (c) => conns.push(c),
    factory: async (endpoint: DatagramEndpoint) => {
      calls++;
      await gate.promise; // the "import" takes a while: datagrams arrive meanwhile
      return StreamListener.listen(a, "echo", { logger, advertise: null, endpoint });
    },
  });
  try {
    assert(a.status().advertisements.some((ad) => ad.Service === "echo"), "advertised");
    assertEquals(lazy.loaded, false);
    assertEquals(calls, 0, "nothing loads before a datagram arrives");
    const dialing = dialStream(b, "a", "echo", { logger });
    await waitFor("factory called", () => calls === 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 50)); // let more client datagrams be held
    gate.resolve();
    const conn = await dialing;
    await waitFor("accepted", () => conns.length === 1, 5000, 10);
    assert(lazy.loaded);
    assertEquals(calls, 1);
    assertEquals(conns[0].remoteNode, "b");
    const up = lines.find((l) => /QUIC up, (\d+) held/.test(l)) ?? "";
    assert(Number(/QUIC up, (\d+) held/.exec(up)?.[1] ?? 0) >= 1, `replayed: ${lines}`);
    const w = conn.writable.getWriter();
    await w.write(new Uint8Array([1, 2, 3]));
    const r = conns[0].readable.getReader();
    const got = await r.read();
    assertEquals(Array.from(got.value ?? []), [1, 2, 3]);
    r.releaseLock();
    w.releaseLock();
    conn.close();
    conns[0].close();
  } finally {
    lazy.close();
    a.close();
    b.close();
  }
});

Deno.test("lazy listener: held datagrams are bounded and the drop is logged once", async () => {
  const [a, b] = await pair();
  const lines: string[] = [];
  const log = new Logger({ level: "warning", sink: (l) => lines.push(l) });
  const lazy = new LazyStreamListener(a, "svc", {
    logger: log,
    connType: 1,
    tags: null,
    onConnection: () => {},
    factory: () => new Promise(() => {}), // never loads
  });
  const ep = b.listen();
  try {
    for (let i = 0; i < PENDING_LIMITS.datagrams + 20; i++) {
      ep.send("a", "svc", new Uint8Array(100));
    }
    await waitFor("drop logged", () => lines.length > 0, 5000, 10);
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(lines.length, 1, lines.join("\n"));
    assert(lines[0].includes("dropping"), lines[0]);
  } finally {
    ep.close();
    lazy.close();
    assert(!a.status().advertisements.some((ad) => ad.Service === "svc"), "withdrawn");
    a.close();
    b.close();
  }
});
