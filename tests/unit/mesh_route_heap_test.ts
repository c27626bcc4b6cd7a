import { assertEquals } from "../helpers/assert.ts";
import { RouteHeap } from "../../src/mesh/route_heap.ts";

Deno.test("route heap: pops by cost, equal costs in insertion order, across growth and reuse", () => {
  const h = new RouteHeap();
  let s = 11;
  const rnd = (n: number) => (s = (s * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let round = 0; round < 3; round++) {
    h.clear();
    // reference: (cost, insertion number, node) sorted by cost then insertion
    const ref: [number, number, number][] = [];
    let seq = 0;
    const popped: number[] = [], expected: number[] = [];
    for (let step = 0; step < 3000; step++) {
      if (ref.length > 0 && rnd(3) === 0) {
        ref.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        const [c, , node] = ref.shift()!;
        expected.push(node);
        assertEquals(h.topCost, c);
        popped.push(h.pop());
      } else {
        const c = rnd(20) / 2, node = rnd(1000);
        ref.push([c, seq++, node]);
        h.push(c, node);
      }
      assertEquals(h.size, ref.length);
    }
    assertEquals(popped, expected);
  }
});
