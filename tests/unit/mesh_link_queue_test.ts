import { assert, assertEquals } from "../helpers/assert.ts";
import { LinkQueue, PACE_MS, SLICE_BYTES } from "../../src/mesh/link_queue.ts";

const msg = (tag: number, n = 100) => {
  const b = new Uint8Array(n);
  b[0] = 1;
  b.fill(tag & 0xff, 1);
  return b;
};

/** Everything the queue hands out at `now`, as the first byte after the type of each message. */
function drain(q: LinkQueue, now: number): number[] {
  const out: number[] = [];
  q.release(now, 0, (_id, b) => out.push(b[1]), 7);
  return out;
}

Deno.test("link queue: FIFO by key, a newer message for a key replaces the queued one in place", () => {
  const q = new LinkQueue();
  q.put(5, msg(1));
  q.put("ad:x", msg(2));
  q.put(9, msg(3));
  q.put(5, msg(4)); // same origin index: replaces 1 where it stood
  q.put("ad:x", msg(5));
  assertEquals(q.size, 3);
  assertEquals(q.bytes, 300);
  assertEquals(drain(q, 0), [4, 5, 3]);
  assertEquals([q.size, q.bytes], [0, 0]);
  // after a release the same keys queue again as new messages
  q.put(9, msg(6));
  q.put(5, msg(7));
  assertEquals(drain(q, 100), [6, 7]);
});

Deno.test("link queue: a copy the peer sent first is dropped only when its head matches", () => {
  const q = new LinkQueue();
  const a = msg(1), b = msg(1), c = msg(2);
  q.put(3, a);
  q.dropCopy(3, c, 10); // differs within the head: kept
  assertEquals(q.size, 1);
  q.dropCopy(4, b, 10); // another key: kept
  assertEquals(q.size, 1);
  q.dropCopy(3, b, -1); // no head read: kept
  assertEquals(q.size, 1);
  q.dropCopy(3, b, 10);
  assertEquals([q.size, q.bytes], [0, 0]);
  assertEquals(drain(q, 0), []);
});

Deno.test("link queue: paced slices; holes and released slots do not grow it without bound", () => {
  const q = new LinkQueue();
  const per = 1000;
  for (let k = 0; k < 200; k++) q.put(k, msg(k, per));
  const first = drain(q, 0);
  assertEquals(first.length, Math.ceil(SLICE_BYTES / per));
  assertEquals(q.release(0, 0, () => {}, 7), PACE_MS, "the rest waits for the next window");
  // a link that never empties: keys keep coming, some dropped as copies, most released
  let now = 0;
  for (let round = 0; round < 2000; round++) {
    now += PACE_MS;
    // 70 KB a round, 64 KB released: it never empties (bounded by the 5,000 keys)
    for (let k = 0; k < 70; k++) q.put(1000 + ((round * 70 + k) % 5000), msg(k, per));
    q.dropCopy(1000 + ((round * 70) % 5000), msg(0, per), 5);
    assert(q.slots <= 2 * q.size + 65, `${q.slots} slots for ${q.size} queued`);
    drain(q, now);
    assert(q.size > 0 && q.size <= 5000, `${q.size} queued`);
  }
  while (q.size > 0) drain(q, now += PACE_MS);
  assertEquals([q.slots, q.bytes], [0, 0]);
});
