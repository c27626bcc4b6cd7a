/**
 * Helpers for the service-proxy integration tests: in-test echo servers (TCP, Unix, UDP),
 * whole-stream reads, sha256, and a TCP client that uploads while it downloads.
 * @module
 */

/** Hex sha256 of `b` (the shared helper). */
export { sha256 } from "../helpers/data.ts";

/** Deterministic pseudo-random bytes. */
export function patternBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Read `conn` to end of stream (with a deadline). */
export async function readToEnd(conn: Deno.Conn, timeoutMs = 30000): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const deadline = Date.now() + timeoutMs;
  const buf = new Uint8Array(65536);
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`read timed out after ${total} bytes`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`read timed out after ${total} bytes`)), left);
      }),
    ]).finally(() => clearTimeout(timer));
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Write all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Send `data`, half-close, and read the reply to end of stream — concurrently. */
export async function roundTrip(conn: Deno.Conn, data: Uint8Array): Promise<Uint8Array> {
  const reply = readToEnd(conn);
  await writeAll(conn, data);
  await (conn as Deno.TcpConn).closeWrite();
  const r = await reply;
  conn.close();
  return r;
}

async function echoConn(conn: Deno.Conn): Promise<void> {
  try {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
    await (conn as Deno.TcpConn).closeWrite();
  } catch { /* peer went away */ }
  try {
    conn.close();
  } catch { /* closed */ }
}

/** A stream echo server (TCP on loopback, or Unix at `path`); echoes then half-closes. */
export function echoServer(path?: string): { port: number; path?: string; close(): void } {
  const l = path ? Deno.listen({ transport: "unix", path }) : Deno.listen({
    hostname: "127.0.0.1",
    port: 0,
  });
  (async () => {
    try {
      for await (const c of l) echoConn(c);
    } catch { /* closed */ }
  })();
  return {
    port: path ? 0 : (l.addr as Deno.NetAddr).port,
    path,
    close: () => {
      try {
        l.close();
      } catch { /* closed */ }
    },
  };
}

/** A UDP echo server on loopback. */
export function udpEchoServer(): { port: number; close(): void } {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  (async () => {
    try {
      for (;;) {
        const [d, a] = await s.receive();
        await s.send(d, a);
      }
    } catch { /* closed */ }
  })();
  return {
    port: (s.addr as Deno.NetAddr).port,
    close: () => {
      try {
        s.close();
      } catch { /* closed */ }
    },
  };
}

/**
 * A "speaks first" server: sends `greeting`, half-closes, then reads everything the client
 * sends; `received` resolves with it.
 */
export function greeterServer(greeting: Uint8Array): {
  port: number;
  received: Promise<Uint8Array>;
  close(): void;
} {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let resolve!: (b: Uint8Array) => void;
  let reject!: (e: unknown) => void;
  const received = new Promise<Uint8Array>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  received.catch(() => {}); // rejected only when closed unused; callers await it
  (async () => {
    try {
      const c = await l.accept();
      await writeAll(c, greeting);
      await c.closeWrite();
      resolve(await readToEnd(c));
      c.close();
    } catch (e) {
      reject(e);
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    received,
    close: () => {
      try {
        l.close();
      } catch { /* closed */ }
    },
  };
}
