import { assert, assertEquals } from "../helpers/assert.ts";
import { BatchingWriter, type ChunkSink } from "../../src/work/batching_writer.ts";

/** A sink whose writes complete only when the test releases them. */
class SlowSink implements ChunkSink {
  writes: Uint8Array[] = [];
  #release: (() => void)[] = [];
  failNext = false;
  write(p: Uint8Array): Promise<number> {
    this.writes.push(p.slice());
    if (this.failNext) return Promise.reject(new Error("disk full"));
    // accept at most 100 000 bytes per call, like a short write
    const n = Math.min(p.length, 100_000);
    return new Promise((r) => this.#release.push(() => r(n)));
  }
  releaseAll(): void {
    for (const r of this.#release.splice(0)) r();
  }
  get pending(): number {
    return this.#release.length;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("batching writer: an idle writer writes at once, a busy one batches; bytes and order kept", async () => {
  const sink = new SlowSink();
  const w = new BatchingWriter(sink);
  const chunk = (v: number, n: number) => new Uint8Array(n).fill(v);
  await w.write(chunk(1, 10));
  assertEquals(sink.writes.length, 1, "first chunk goes out at once");
  // while that write is in flight, three chunks queue up (the caller reuses its array)
  const reused = chunk(2, 1000);
  await w.write(reused);
  reused.fill(9);
  await w.write(chunk(3, 1000));
  await w.write(chunk(4, 1000));
  assertEquals(sink.writes.length, 1);
  const flushed = w.flush();
  while (sink.pending) {
    sink.releaseAll();
    await tick();
  }
  await flushed;
  assertEquals(sink.writes.length, 2, "the three queued chunks went out in one write");
  assertEquals(sink.writes[1].length, 3000);
  assertEquals([sink.writes[1][0], sink.writes[1][1000], sink.writes[1][2999]], [2, 3, 4]);
});

Deno.test("batching writer: more than a batch waits for room, short writes are completed", async () => {
  const sink = new SlowSink();
  const w = new BatchingWriter(sink);
  const big = new Uint8Array(600 * 1024).map((_, i) => i & 0xff);
  let done = false;
  const p = w.write(big).then(() => done = true);
  await tick();
  assert(!done, "a write larger than the batch waits for the sink");
  const flushed = p.then(() => w.flush());
  while (sink.pending || !done) {
    sink.releaseAll();
    await tick();
  }
  await flushed;
  const all = new Uint8Array(big.length);
  let off = 0;
  for (const wr of sink.writes) {
    all.set(wr.subarray(0, Math.min(wr.length, 100_000, all.length - off)), off);
    off += Math.min(wr.length, 100_000);
  }
  assertEquals(off, big.length);
  assertEquals(all, big);
});

Deno.test("batching writer: a write error reaches flush and later writes", async () => {
  const sink = new SlowSink();
  sink.failNext = true;
  const w = new BatchingWriter(sink);
  await w.write(new Uint8Array(5));
  let err = "";
  await w.flush().catch((e) => err = (e as Error).message);
  assertEquals(err, "disk full");
  err = "";
  await w.write(new Uint8Array(5)).catch((e) => err = (e as Error).message);
  assertEquals(err, "disk full");
});
