import { assert, assertEquals } from "../helpers/assert.ts";
import { SLAB_BYTES, UpdateStore } from "../../src/mesh/update_store.ts";

const msg = (s: UpdateStore, node: number, version: number, n = 150 + (node % 50)) => {
  const b = s.alloc(n);
  b.fill((node * 31 + version) & 0xff);
  return b;
};

Deno.test("update store: slab memory stays within 2 × the stored bytes + 2 slabs; bytes intact", () => {
  const s = new UpdateStore();
  const kept = new Map<number, number>();
  for (let round = 0; round < 40; round++) {
    for (let node = 0; node < 500; node++) {
      // a third of the nodes go quiet early: their old updates pin nothing after compaction
      if (round > 3 && node % 3 === 0) continue;
      const b = msg(s, node, round);
      s.set(node, b);
      kept.set(node, round);
      assert(
        s.allocatedBytes <= 2 * s.bytes + 2 * SLAB_BYTES + b.length,
        `allocated ${s.allocatedBytes} for ${s.bytes} stored`,
      );
    }
  }
  assertEquals(s.size, 500);
  let total = 0;
  for (const [node, round] of kept) {
    const b = s.get(node)!;
    total += b.length;
    assertEquals(b.length, 150 + (node % 50));
    assert(b.every((x) => x === ((node * 31 + round) & 0xff)), `update of n${node} intact`);
  }
  assertEquals(s.bytes, total);
  s.delete(1);
  assertEquals(s.size, 499);
  assertEquals(s.bytes, total - 151);
  // a message too big for a slab gets its own buffer
  const big = s.alloc(SLAB_BYTES);
  assertEquals(big.byteOffset, 0);
  assertEquals(big.buffer.byteLength, SLAB_BYTES);
});
