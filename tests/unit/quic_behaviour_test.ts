/** Connection behaviour: idle timeout, CONNECTION_CLOSE, RESET_STREAM/STOP_SENDING, flow control, hostile input. */
import { assert, assertEquals } from "../helpers/assert.ts";
import type { ConnectionEvent, QuicConnection } from "../../src/quic/connection.ts";
import type { TransportConfig } from "../../src/quic/config.ts";
import { makeEndpoints, Net, prng } from "./quic_harness.ts";

async function setup(
  transport: Partial<TransportConfig> = {},
  clientTransport: Partial<TransportConfig> = {},
) {
  const { client, server } = await makeEndpoints(transport, clientTransport);
  const net = new Net(client, server, 3, { delay: 5 });
  const cc = client.connect(net.now, "server:1", "localhost");
  const st: { sc?: QuicConnection } = {};
  const cev: ConnectionEvent[] = [], sev: ConnectionEvent[] = [];
  net.onStep = () => {
    for (let e = server.poll(); e; e = server.poll()) st.sc = e.conn;
    for (let e = cc.poll(); e; e = cc.poll()) cev.push(e);
    if (st.sc) { for (let e = st.sc.poll(); e; e = st.sc.poll()) sev.push(e); }
  };
  net.runUntil(() => cc.handshakeComplete && !!st.sc?.handshakeComplete);
  // let HANDSHAKE_DONE arrive
  net.runUntil(() => cc.state === "established" && net.queue.length === 0);
  return { net, client, server, cc, sc: st.sc!, cev, sev };
}

function readAll(c: QuicConnection, id: number): { data: number; fin: boolean } {
  let data = 0;
  for (;;) {
    const d = c.read(id);
    if (d === null) return { data, fin: true };
    if (!d.length) return { data, fin: false };
    data += d.length;
  }
}

Deno.test("quic: idle timeout closes both sides after 30 s of silence", async () => {
  const h = await setup();
  const start = h.net.now;
  h.net.up = false;
  h.net.runUntil(() => h.cc.isClosed && h.sc.isClosed, 120_000);
  const ce = h.cev.find((e) => e.type === "connectionClosed");
  assert(
    ce && ce.type === "connectionClosed" && ce.reason === "idle timeout",
    `client close ${JSON.stringify(ce)}`,
  );
  const elapsed = h.net.now - start;
  assert(elapsed >= 30_000 && elapsed < 32_000, `idle after ${elapsed} ms`);
});

Deno.test("quic: keep-alive PINGs hold an idle connection open", async () => {
  const h = await setup({}, { keepAliveInterval: 15_000 });
  const start = h.net.now;
  h.net.runUntil(() => h.net.now - start > 100_000 || h.cc.isClosed, 200_000);
  assertEquals(h.cc.state, "established");
  assertEquals(h.sc.state, "established");
});

Deno.test("quic: CONNECTION_CLOSE carries application code and reason", async () => {
  const h = await setup();
  h.cc.close(h.net.now, 42, "bye");
  h.net.runUntil(() => h.sev.some((e) => e.type === "connectionClosed"));
  const e = h.sev.find((e) => e.type === "connectionClosed")!;
  assertEquals(e, {
    type: "connectionClosed",
    code: 42,
    reason: "bye",
    byPeer: true,
    isApplication: true,
  });
  h.net.runUntil(() => h.cc.isClosed && h.sc.isClosed, 60_000);
  assertEquals(h.client.connections().length, 0);
  assertEquals(h.server.connections().length, 0);
});

Deno.test("quic: RESET_STREAM and STOP_SENDING", async () => {
  const h = await setup();
  const a = h.cc.openBidi()!;
  h.cc.write(a, new Uint8Array(5000));
  h.net.runUntil(() => h.sev.some((e) => e.type === "streamOpened" && e.id === a));
  h.cc.resetStream(a, 7);
  h.net.runUntil(() => h.sev.some((e) => e.type === "streamReset"));
  assertEquals(h.sev.find((e) => e.type === "streamReset"), {
    type: "streamReset",
    id: a,
    code: 7,
  });
  assertEquals(h.sc.read(a), null);

  const b = h.cc.openBidi()!;
  h.cc.write(b, new Uint8Array(100));
  h.net.runUntil(() => h.sev.some((e) => e.type === "streamOpened" && e.id === b));
  h.sc.stopSending(b, 9);
  h.net.runUntil(() => h.cev.some((e) => e.type === "streamStopped"));
  assertEquals(h.cev.find((e) => e.type === "streamStopped"), {
    type: "streamStopped",
    id: b,
    code: 9,
  });
  // the client answered with RESET_STREAM; writes now fail
  let threw = false;
  try {
    h.cc.write(b, new Uint8Array(1));
  } catch {
    threw = true;
  }
  assert(threw, "write after STOP_SENDING must fail");
  // the connection is still healthy
  const c = h.cc.openBidi()!;
  h.cc.write(c, new Uint8Array(10));
  h.cc.finish(c);
  h.net.runUntil(() => h.sev.some((e) => e.type === "streamOpened" && e.id === c));
  let got = { data: 0, fin: false };
  h.net.runUntil(() => {
    const r = readAll(h.sc, c);
    got = { data: got.data + r.data, fin: r.fin };
    return r.fin;
  });
  assertEquals(got.data, 10);
});

Deno.test("quic: flow control blocks the writer and resumes as the reader consumes", async () => {
  const h = await setup({
    streamWindow: 16384,
    connectionWindow: 32768,
    maxStreamWindow: 16384,
    maxConnectionWindow: 32768,
  });
  const id = h.cc.openBidi()!;
  const total = 200_000;
  let written = h.cc.write(id, new Uint8Array(total));
  assert(written <= 16384, `first write accepted ${written}`);
  h.net.runUntil(() => h.net.queue.length === 0 && h.sev.some((e) => e.type === "streamOpened"));
  // the reader has not read: still blocked
  assertEquals(h.cc.state, "established", JSON.stringify([h.cc.closeReason, h.sc.closeReason]));
  assertEquals(h.cc.write(id, new Uint8Array(1000)), 0);
  let received = 0;
  h.net.onStep = ((prev) => () => {
    prev();
    received += readAll(h.sc, id).data;
    if (written < total && h.cc.state === "established") {
      written += h.cc.write(id, new Uint8Array(Math.min(8192, total - written)));
      if (written === total) h.cc.finish(id);
    }
  })(h.net.onStep);
  h.net.runUntil(() => received === total || h.cc.state !== "established", 120_000);
  assertEquals(received, total, JSON.stringify([h.cc.closeReason, h.sc.closeReason]));
  assert(h.cev.some((e) => e.type === "streamWritable" && e.id === id), "streamWritable event");
});

Deno.test("quic: garbage and mutated datagrams are ignored without throwing", async () => {
  const h = await setup();
  const r = prng(99);
  const rnd = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  // capture a real datagram to mutate
  const id = h.cc.openBidi()!;
  h.cc.write(id, new Uint8Array(300));
  const real = h.client.pollTransmit(h.net.now)!.data;
  for (let i = 0; i < 3000; i++) {
    const kind = i % 4;
    let d: Uint8Array;
    if (kind === 0) d = rnd(Math.floor(r() * 1500));
    else if (kind === 1) {
      d = real.slice();
      d[Math.floor(r() * d.length)] ^= 1 + Math.floor(r() * 255);
    } else if (kind === 2) d = real.slice(0, Math.floor(r() * real.length));
    else {
      d = rnd(1250);
      d[0] = 0xc0;
      d.set([0, 0, 0, 1, 8], 1);
    }
    h.server.handle(h.net.now, "client:1", d);
    h.client.handle(h.net.now, "server:1", d);
    h.server.handle(h.net.now, "evil:1", d);
  }
  assertEquals(h.cc.state, "established");
  assertEquals(h.sc.state, "established");
  // still works afterwards
  h.server.handle(h.net.now, "client:1", real);
  h.cc.finish(id);
  let got = 0;
  h.net.runUntil(() => {
    const x = readAll(h.sc, id);
    got += x.data;
    return x.fin;
  });
  assertEquals(got, 300);
});

Deno.test("quic: key updates initiated by either side keep the data flowing", async () => {
  const h = await setup({}, {});
  const id = h.cc.openBidi()!;
  let sent = 0, got = 0;
  const total = 400_000;
  h.net.onStep = ((prev) => () => {
    prev();
    if (sent < total) sent += h.cc.write(id, new Uint8Array(Math.min(20_000, total - sent)));
    if (h.sev.some((e) => e.type === "streamOpened")) got += readAll(h.sc, id).data;
  })(h.net.onStep);
  h.net.runUntil(() => got > 50_000);
  assert(h.cc.initiateKeyUpdate(), "client starts a key update");
  assertEquals(h.cc.keyPhase, 1);
  assert(!h.cc.initiateKeyUpdate(), "a second update waits for the peer");
  h.net.runUntil(() => got > 150_000);
  assertEquals(h.sc.keyPhase, 1);
  assert(h.sc.initiateKeyUpdate(), "server starts the next update");
  h.net.runUntil(() => got >= total);
  assertEquals(h.cc.keyPhase, 0);
  assertEquals(h.sc.keyPhase, 0);
  assertEquals(h.cc.state, "established");
});

Deno.test("quic: automatic key update after keyUpdateInterval packets", async () => {
  const h = await setup({ keyUpdateInterval: 50 });
  const id = h.cc.openBidi()!;
  let sent = 0, got = 0;
  const total = 300_000;
  const phases = new Set<number>();
  h.net.onStep = ((prev) => () => {
    prev();
    phases.add(h.cc.keyPhase);
    if (sent < total) sent += h.cc.write(id, new Uint8Array(Math.min(20_000, total - sent)));
    if (h.sev.some((e) => e.type === "streamOpened")) got += readAll(h.sc, id).data;
  })(h.net.onStep);
  h.net.runUntil(() => got >= total);
  assertEquals(phases.size, 2, "the key phase changed");
  assertEquals(h.cc.state, "established");
  assertEquals(h.sc.state, "established");
});

Deno.test("quic: keep-alive towards a dead peer sends a few PINGs, not a storm, then idles out", async () => {
  const h = await setup({}, { keepAliveInterval: 15_000 });
  const id = h.cc.openBidi()!;
  h.net.up = false;
  h.cc.write(id, new Uint8Array(100)); // ack-eliciting data after the last receive
  const before = h.cc.stats.packetsSent;
  h.net.runUntil(() => h.cc.isClosed, 60_000);
  const sent = h.cc.stats.packetsSent - before;
  assert(sent < 40, `sent ${sent} packets to a dead peer`);
  assertEquals(h.cc.closeReason?.reason, "idle timeout");
});

Deno.test("quic: MAX_STREAMS replenishes the stream limit as streams close (250 streams, limit 100)", async () => {
  const h = await setup();
  const done = new Set<number>();
  let opened = 0;
  h.net.onStep = ((prev) => () => {
    prev();
    // client: keep opening while the peer's limit allows
    for (;;) {
      if (opened >= 250) break;
      const id = h.cc.openBidi();
      if (id === null) break;
      opened++;
      h.cc.write(id, new Uint8Array([opened & 0xff]));
      h.cc.finish(id);
    }
    // both sides: drain every stream and finish the reply direction
    for (const e of h.sev.splice(0)) {
      if (e.type === "streamOpened") h.sc.finish(e.id);
    }
    for (let id = 0; id < opened * 4; id += 4) {
      if (done.has(id)) continue;
      try {
        if (h.sc.read(id) === null && h.cc.read(id) === null) done.add(id);
      } catch { /* not yet known on the server */ }
    }
  })(h.net.onStep);
  h.net.runUntil(() => done.size === 250, 120_000);
  assertEquals(opened, 250);
});
