import { Sim, sorted } from "./mesh_sim.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

function line(sim: Sim, ids: string[]) {
  for (const id of ids) sim.addNode(id);
  const links: (readonly [number, number])[] = [];
  for (let i = 0; i + 1 < ids.length; i++) links.push(sim.connect(ids[i], ids[i + 1]));
  return links;
}

Deno.test("router: 4-node line converges (routing tables, KnownConnectionCosts)", () => {
  const sim = new Sim();
  line(sim, ["a", "b", "c", "d"]);
  sim.run(1000);
  const sa = sim.r("a").status();
  assertEquals(sorted(sa.routingTable), { b: "b", c: "b", d: "b" });
  assertEquals(sorted(sim.r("d").status().routingTable), { a: "c", b: "c", c: "c" });
  assertEquals(sorted(sim.r("b").status().routingTable), { a: "a", c: "c", d: "c" });
  const kcc = sa.knownConnectionCosts;
  assertEquals(sorted(kcc), {
    a: { b: 1 },
    b: { a: 1, c: 1 },
    c: { b: 1, d: 1 },
    d: { c: 1 },
  });
  assertEquals(sa.connections, [{ NodeID: "b", Cost: 1 }]);
  // Stays converged through periodic updates; no link is dropped.
  sim.run(60_000);
  assertEquals(sorted(sim.r("a").status().routingTable), { b: "b", c: "b", d: "b" });
  assertEquals(sim.r("b").status().connections.length, 2);
});

Deno.test("router: 5-node mesh with a cycle converges; removing a middle node re-routes", () => {
  const sim = new Sim();
  for (const id of ["a", "b", "c", "d", "e"]) sim.addNode(id);
  // a-b-c-d ring plus e hanging off c; ring edge a-d is expensive
  sim.connect("a", "b");
  sim.connect("b", "c");
  sim.connect("c", "d");
  sim.connect("a", "d", { cost: 5 }, { cost: 5 });
  sim.connect("c", "e");
  sim.run(2000);
  assertEquals(sorted(sim.r("a").status().routingTable), {
    b: "b",
    c: "b",
    d: "b",
    e: "b",
  });
  assertEquals(sim.r("a").status().knownConnectionCosts["d"], { c: 1, a: 5 });
  sim.removeNode("b");
  sim.run(2000);
  assertEquals(sorted(sim.r("a").status().routingTable), { c: "d", d: "d", e: "d" });
  // b's old row stays known (Go never expires nodes) but has no route
  const st = sim.r("e").status();
  assert(!("b" in st.routingTable));
  assertEquals(st.knownConnectionCosts["c"]["b"], undefined);
});

Deno.test("router: removing the only bridge withdraws routes; restarted node rejoins with new epoch", () => {
  const sim = new Sim();
  line(sim, ["a", "b", "c"]);
  sim.run(1000);
  assertEquals(sorted(sim.r("a").status().routingTable), { b: "b", c: "b" });
  const oldEpoch = sim.r("b").epoch;
  sim.removeNode("b");
  sim.run(1000);
  assertEquals(sim.r("a").status().routingTable, {});
  assertEquals(sim.r("c").status().routingTable, {});
  // b restarts later (larger epoch) and reconnects to both
  sim.clock.advance(5000);
  sim.addNode("b");
  assert(sim.r("b").epoch > oldEpoch, "new epoch is larger");
  sim.connect("a", "b");
  sim.connect("b", "c");
  sim.run(1000);
  assertEquals(sorted(sim.r("a").status().routingTable), { b: "b", c: "b" });
  assertEquals(sorted(sim.r("c").status().routingTable), { a: "b", b: "b" });
  // ...and both report that b restarted (so stream connections to its old incarnation end)
  assertEquals(sim.rec("a").restarts, ["b"]);
  assertEquals(sim.rec("c").restarts, ["b"]);
});

Deno.test("router: 200-node random mesh converges in one process", () => {
  const sim = new Sim();
  const n = 200;
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  for (const id of ids) sim.addNode(id);
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const edges = new Set<string>();
  for (let i = 1; i < n; i++) {
    const j = Math.floor(rnd() * i); // spanning tree keeps it connected
    edges.add(`${j},${i}`);
  }
  while (edges.size < n * 2) {
    const i = Math.floor(rnd() * n), j = Math.floor(rnd() * n);
    if (i !== j && !edges.has(`${i},${j}`) && !edges.has(`${j},${i}`)) edges.add(`${i},${j}`);
  }
  for (const e of edges) {
    const [i, j] = e.split(",").map(Number);
    sim.connect(ids[i], ids[j]);
  }
  sim.run(3000);
  for (const id of [ids[0], ids[57], ids[199]]) {
    const rt = sim.r(id).status().routingTable;
    assertEquals(Object.keys(rt).length, n - 1, `${id} routes to all others`);
  }
  // a datagram crosses the mesh
  const svc = sim.r(ids[199]).bindService("echo");
  assertEquals(
    sim.r(ids[0]).sendDatagram(sim.clock.now(), "x", ids[199], svc, new Uint8Array([1])),
    undefined,
  );
  sim.drain();
  assertEquals(sim.nodes.get(ids[199])!.datagrams.length, 1);
});

Deno.test("router: a lossy network (seeded 15% loss) still converges via periodic updates", () => {
  const sim = new Sim();
  let s = 7;
  const lossy = () => (s = (s * 48271) % 0x7fffffff) / 0x7fffffff < 0.15;
  const ids = ["a", "b", "c", "d", "e"];
  for (const id of ids) sim.addNode(id);
  // handshakes on a clean network, then loss starts
  sim.connect("a", "b");
  sim.connect("b", "c");
  sim.connect("c", "d");
  sim.connect("d", "e");
  sim.connect("e", "a");
  sim.tap = () => !lossy();
  sim.run(120_000);
  for (const id of ids) {
    assertEquals(Object.keys(sim.r(id).status().routingTable).length, 4, `${id} knows all`);
    assertEquals(sim.r(id).status().connections.length, 2, `${id} kept its links`);
  }
});

Deno.test("router: a node joining a converged line can route to its far end at once", () => {
  const sim = new Sim();
  line(sim, ["a", "b", "c", "d"]);
  sim.run(12_000); // past the first periodic round: nothing new is in flight
  sim.addNode("e");
  sim.connect("d", "e");
  sim.run(500); // well under the 10 s periodic update period
  assertEquals(sorted(sim.r("e").status().routingTable), { a: "d", b: "d", c: "d", d: "d" });
  assertEquals(sim.r("a").status().routingTable.e, "b");
});
