import { assert, assertEquals } from "../helpers/assert.ts";
import { ControlConnPool, MAX_IDLE_PER_NODE } from "../../src/work/remote_pool.ts";
import { RemoteControlClient } from "../../src/work/remote_control_client.ts";
import { abortAfterStop, delay } from "../../src/util/delay.ts";

/** A client over an in-memory stream whose banner names node `n1`. */
async function client(): Promise<{ c: RemoteControlClient; closed: () => boolean }> {
  let closed = false;
  const banner = new TextEncoder().encode("Receptor Control, node n1\n");
  const conn = {
    readable: new ReadableStream<Uint8Array>({ start: (ctl) => ctl.enqueue(banner) }),
    writable: new WritableStream<Uint8Array>(),
    close: () => {
      closed = true;
    },
  };
  return { c: await RemoteControlClient.open(conn, "n1"), closed: () => closed };
}

Deno.test("remote pool: a returned connection is taken again, per node and TLS config", async () => {
  const pool = new ControlConnPool(60_000);
  try {
    const a = await client();
    pool.put("n1", "", a.c);
    assertEquals(pool.size, 1);
    assertEquals(pool.take("n1", "tls1"), null, "another TLS config is another key");
    assertEquals(pool.take("n2", ""), null);
    assert(pool.take("n1", "") === a.c);
    assertEquals(pool.take("n1", ""), null, "taken connections leave the pool");
    assert(!a.closed());
    a.c.close();
    pool.put("n1", "", a.c);
    assertEquals(pool.size, 0, "a closed connection is not kept");
  } finally {
    pool.close();
  }
});

Deno.test("remote pool: bounded per node; extra, discarded and idle connections are closed", async () => {
  const pool = new ControlConnPool(50);
  const all = await Promise.all(Array.from({ length: MAX_IDLE_PER_NODE + 1 }, () => client()));
  for (const x of all) pool.put("n1", "", x.c);
  assertEquals(pool.size, MAX_IDLE_PER_NODE);
  assert(all[MAX_IDLE_PER_NODE].closed(), "the one over the limit is closed");
  pool.discard("n1", "");
  assertEquals(pool.size, 0);
  assert(all.every((x) => x.closed()));
  const idle = await client();
  pool.put("n1", "", idle.c);
  const deadline = Date.now() + 5000;
  while (!idle.closed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert(idle.closed(), "an idle connection is closed after the idle time");
  assertEquals(pool.size, 0);
  const late = await client();
  pool.close();
  pool.put("n1", "", late.c);
  assert(late.closed(), "a closed pool keeps nothing");
});

Deno.test("abortAfterStop: aborts only a bound after its stop signal, never without", async () => {
  const stop = new AbortController();
  const never = abortAfterStop(stop.signal, 10);
  await delay(30);
  assert(!never.signal.aborted, "aborted although stop did not");
  stop.abort();
  assert(!never.signal.aborted, "aborted at once, without the grace");
  const fired = new Promise((r) => never.signal.addEventListener("abort", r));
  const giveUp = new AbortController();
  await Promise.race([fired, delay(5000, giveUp.signal)]);
  giveUp.abort();
  assert(never.signal.aborted, "not aborted after the grace");
  never.dispose();
  const disposed = abortAfterStop(stop.signal, 10); // stop already aborted: timer starts now
  disposed.dispose();
  await delay(30);
  assert(!disposed.signal.aborted, "dispose did not clear the timer");
});
