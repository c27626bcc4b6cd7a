import { assert, assertEquals } from "../helpers/assert.ts";
import { RowPool } from "../../src/mesh/row_pool.ts";

/** Row `i` as [target, cost] pairs. */
const row = (p: RowPool, i: number) =>
  p.lenOf(i) < 0 ? undefined : Array.from(
    { length: p.lenOf(i) },
    (_, k) => [p.to[p.startOf(i) + k], p.cost[p.startOf(i) + k]],
  );

Deno.test("row pool: rows keep their edges as they grow, move and are compacted; slots stay bounded", () => {
  const p = new RowPool();
  const model = new Map<number, [number, number][]>();
  let s = 7;
  const rnd = (n: number) => (s = (s * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let i = 0; i < 300; i++) p.init(i);
  for (let step = 0; step < 20_000; step++) {
    const i = rnd(300);
    const kind = rnd(10);
    if (kind === 0) {
      p.free(i);
      model.delete(i);
    } else if (kind < 4) {
      // whole row replaced (exact block)
      const n = rnd(9);
      const edges: [number, number][] = Array.from({ length: n }, () => [rnd(1000), rnd(50) + 1]);
      const at = p.reserve(i, n, true);
      edges.forEach(([t, c], k) => {
        p.to[at + k] = t;
        p.cost[at + k] = c;
      });
      p.setLen(i, n);
      model.set(i, edges);
    } else {
      // one edge appended (doubling block)
      const n = Math.max(0, p.lenOf(i));
      const e: [number, number] = [rnd(1000), rnd(50) + 1];
      const at = p.reserve(i, n + 1, false);
      p.to[at + n] = e[0];
      p.cost[at + n] = e[1];
      p.setLen(i, n + 1);
      model.set(i, [...(model.get(i) ?? []), e]);
    }
    if (step % 997 === 0) {
      for (let j = 0; j < 300; j++) assertEquals(row(p, j), model.get(j), `row ${j} at ${step}`);
    }
  }
  for (let j = 0; j < 300; j++) assertEquals(row(p, j), model.get(j), `row ${j}`);
  let cap = 0;
  for (let j = 0; j < 300; j++) cap += p.capOf(j);
  assert(p.slots <= 4 * cap + 512, `${p.slots} slots for ${cap} held`);
});
