/** The async driver over an in-memory datagram transport: streams, backpressure, resets, close. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type DatagramTransport, QuicDriver } from "../../src/quic/driver.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { QuicError } from "../../src/quic/errors.ts";
import { clientTls, quicTestCert, serverTls } from "./quic_certs.ts";

/** Two in-memory transports wired back to back. */
function memPair(): [DatagramTransport, DatagramTransport] {
  type Msg = { remote: string; data: Uint8Array };
  const make = (self: string) => {
    const queue: Msg[] = [];
    let waiter: ((m: Msg | null) => void) | undefined;
    let closed = false;
    let peer: { deliver(m: Msg): void } | undefined;
    const t = {
      deliver(m: Msg) {
        if (closed) return;
        if (waiter) {
          const w = waiter;
          waiter = undefined;
          w(m);
        } else queue.push(m);
      },
      send(_remote: string, data: Uint8Array) {
        if (!closed) setTimeout(() => peer?.deliver({ remote: self, data: data.slice() }), 0);
      },
      receive(): Promise<Msg | null> {
        const m = queue.shift();
        if (m) return Promise.resolve(m);
        if (closed) return Promise.resolve(null);
        return new Promise((r) => waiter = r);
      },
      close() {
        closed = true;
        waiter?.(null);
        waiter = undefined;
      },
      link(p: { deliver(m: Msg): void }) {
        peer = p;
      },
    };
    return t;
  };
  const a = make("a:1"), b = make("b:1");
  a.link(b);
  b.link(a);
  return [a, b];
}

async function pair(transport = {}) {
  const cert = await quicTestCert();
  const [ta, tb] = memPair();
  const server = new QuicDriver(
    new QuicEndpoint({
      role: "server",
      transport,
      tls: serverTls(cert),
    }),
    tb,
  );
  const client = new QuicDriver(
    new QuicEndpoint({
      role: "client",
      transport,
      tls: clientTls,
    }),
    ta,
  );
  const accepted = server.accept();
  const cconn = await client.connect("b:1");
  const sconn = (await accepted)!;
  return { client, server, cconn, sconn };
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const d of r) n += d.length;
  return n;
}

Deno.test("quic driver: half-close, EOF and the closed promise", async () => {
  const { client, server, cconn, sconn } = await pair();
  const s = await cconn.openStream();
  const w = s.writable.getWriter();
  await w.write(new Uint8Array([0]));
  await w.write(new Uint8Array(100_000));
  await w.close();
  const ss = (await sconn.acceptStream())!;
  assertEquals(await readAll(ss.readable), 100_001);
  // server answers and half-closes too
  const sw = ss.writable.getWriter();
  await sw.write(new TextEncoder().encode("ok"));
  await sw.close();
  assertEquals(await readAll(s.readable), 2);
  cconn.close(0, "normal close");
  const info = await sconn.closed;
  assertEquals(info.code, 0);
  assertEquals(info.reason, "normal close");
  assert(info.byPeer && info.isApplication, "peer application close");
  assertEquals(await sconn.acceptStream(), null);
  await client.close();
  await server.close();
});

Deno.test("quic driver: writes block under flow control until the reader reads", async () => {
  const win = 64 * 1024;
  const { client, server, cconn, sconn } = await pair({
    streamWindow: win,
    connectionWindow: win,
    maxStreamWindow: win,
    maxConnectionWindow: win,
    sendBufferSize: 64 * 1024,
  });
  const s = await cconn.openStream();
  const w = s.writable.getWriter();
  let written = 0;
  const writing = (async () => {
    for (let i = 0; i < 64; i++) {
      await w.write(new Uint8Array(16 * 1024));
      written += 16 * 1024;
    }
    await w.close();
  })();
  const ss = (await sconn.acceptStream())!;
  await new Promise((r) => setTimeout(r, 200));
  // at most: peer window + our send buffer + one chunk in the writable's queue
  assert(written <= win + 64 * 1024 + 16 * 1024, `writer ran ahead: ${written}`);
  assertEquals(await readAll(ss.readable), 64 * 16 * 1024);
  await writing;
  await client.close();
  await server.close();
});

Deno.test("quic driver: abort resets the stream and the peer's reader errors with the code", async () => {
  const { client, server, cconn, sconn } = await pair();
  const s = await cconn.openStream();
  const w = s.writable.getWriter();
  await w.write(new Uint8Array(10));
  const ss = (await sconn.acceptStream())!;
  await w.abort("stop");
  let err: unknown;
  try {
    await readAll(ss.readable);
  } catch (e) {
    err = e;
  }
  assert(err instanceof QuicError, `reader error ${err}`);
  await client.close();
  await server.close();
});

Deno.test("quic driver: connect to a silent peer fails after the handshake timeout", async () => {
  const [ta, tb] = memPair();
  const client = new QuicDriver(
    new QuicEndpoint({
      role: "client",
      transport: { handshakeTimeout: 300 },
      tls: clientTls,
    }),
    ta,
  );
  let err: unknown;
  try {
    await client.connect("b:1");
  } catch (e) {
    err = e;
  }
  assert(err instanceof QuicError && /handshake timeout/.test(err.message), `got ${err}`);
  await client.close();
  tb.close();
});

Deno.test("quic driver: stopSending(499) reaches the peer's writer", async () => {
  const { client, server, cconn, sconn } = await pair();
  const s = await cconn.openStream();
  const w = s.writable.getWriter();
  await w.write(new Uint8Array(10));
  const ss = (await sconn.acceptStream())!;
  ss.stopSending(499);
  let err: unknown;
  try {
    for (let i = 0; i < 1000; i++) await w.write(new Uint8Array(1000));
  } catch (e) {
    err = e;
  }
  assert(err instanceof QuicError && err.code === 499, `writer error ${err}`);
  await s.sendFinished;
  await client.close();
  await server.close();
});
