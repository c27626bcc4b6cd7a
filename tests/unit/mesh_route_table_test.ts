import { assertEquals } from "../helpers/assert.ts";
import { Logger } from "../../src/log.ts";
import { RouteTable } from "../../src/mesh/route_table.ts";
import { Topology } from "../../src/mesh/topology.ts";
import type { RoutingUpdate } from "../../src/mesh/messages.ts";

const up = (node: string, seq: bigint, conns: Record<string, number>) =>
  ({
    NodeID: node,
    UpdateID: "x",
    UpdateEpoch: 5n,
    UpdateSequence: seq,
    Connections: conns,
    ForwardingNode: node,
    SuspectedDuplicate: 0n,
  }) satisfies RoutingUpdate;

function table() {
  const topology = new Topology("me");
  const counters = {
    routingUpdatesFromNeighbours: 0,
    routingUpdatesFromRemote: 0,
    routeChanges: 0,
  };
  const added: string[] = [], logs: string[] = [];
  let now = 0;
  const rt = new RouteTable({
    now: () => now,
    logger: new Logger({ level: "debug", sink: (l) => logs.push(l) }),
    topology,
    counters,
    routeAdded: (n) => added.push(n),
  });
  return { topology, counters, added, logs, rt, advance: (ms: number) => (now += ms) };
}

Deno.test("route table: changes counted and new routes announced by index, and by name once an index was reused", () => {
  const { topology: t, counters, added, logs, rt, advance } = table();
  t.addLocalEdge("p", 1);
  t.applyUpdate(up("p", 1n, { me: 1, q: 1, r: 1 }));
  t.applyUpdate(up("q", 1n, { p: 1 }));
  t.applyUpdate(up("r", 1n, { p: 1 }));
  rt.markDirty();
  assertEquals([...rt.current()], [["p", "p"], ["q", "p"], ["r", "p"]]);
  assertEquals([added, counters.routeChanges, rt.count()], [["p", "q", "r"], 3, 3]);
  assertEquals(logs.at(-1)!.includes("Routing table: p via p, q via p, r via p"), true);
  // q goes away (its row and index are freed) and s takes its index before the next computation
  const qIndex = t.indexOf("q");
  t.applyUpdate(up("p", 2n, { me: 1, r: 1 }));
  t.forget("q");
  t.applyUpdate(up("p", 3n, { me: 1, r: 1, s: 1 }));
  t.applyUpdate(up("s", 1n, { p: 1 }));
  assertEquals(t.indexOf("s"), qIndex, "the freed index is reused");
  // the old table still answers by name until the recomputation
  assertEquals([rt.nextHop("q"), rt.nextHop("s")], ["p", undefined]);
  advance(1000);
  rt.markDirty();
  rt.handleTimeout(1000 + 100);
  assertEquals([...rt.current()], [["p", "p"], ["r", "p"], ["s", "p"]]);
  // s new, q removed (2 changes); p and r kept
  assertEquals([added, counters.routeChanges], [["p", "q", "r", "s"], 5]);
  assertEquals([rt.nextHop("q"), rt.nextHop("s"), rt.nextHop("r")], [undefined, "p", "p"]);
  // no index freed since: compared by index; a changed next hop counts once
  t.addLocalEdge("r", 1);
  t.applyUpdate(up("r", 2n, { me: 1, p: 1 }));
  advance(1000);
  rt.markDirty();
  assertEquals([...rt.current()], [["p", "p"], ["r", "r"], ["s", "p"]]);
  assertEquals([added.length, counters.routeChanges, rt.count()], [4, 6, 3]);
  assertEquals([rt.nextHop("r"), rt.nextHop("nobody")], ["r", undefined]);
});
