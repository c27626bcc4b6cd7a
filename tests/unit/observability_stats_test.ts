/**
 * The counters the observability endpoint reads at scrape time: per-link traffic in MeshNode
 * (live, then folded per backend and peer when the link closes), the router's routing-update
 * and route-change counters, the mesh snapshot the page shows, and control command labels.
 */
import { MeshNode } from "../../src/mesh/mesh_node.ts";
import { memoryLinkPair } from "../../src/mesh/memory_link.ts";
import { silentLogger } from "../../src/log.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { meshSnapshot } from "../../src/node/http/sampler.ts";
import { commandLabel } from "../../src/control/control_stats.ts";

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("observability stats: link traffic, routing counters and the mesh snapshot", async () => {
  const ids = ["a", "b", "c"];
  const [a, b, c] = ids.map((id) => new MeshNode({ nodeId: id, logger: silentLogger() }));
  const [ab1, ab2] = memoryLinkPair({ description: "tcp-peer x" }, {
    description: "tcp-listener y",
  });
  a.attachLink(ab1);
  b.attachLink(ab2);
  const [bc1, bc2] = memoryLinkPair();
  b.attachLink(bc1);
  c.attachLink(bc2);
  try {
    await waitFor(() => Object.keys(a.status().routingTable).length === 2);
    const p = await a.ping("c");
    assert(!("error" in p));
    const t = a.linkTraffic();
    assertEquals(t.closed, []);
    assertEquals(t.open.length, 1);
    assertEquals(t.open[0].backend, "tcp-peer");
    assertEquals(t.open[0].peer, "b");
    assert(t.open[0].messagesIn >= 2 && t.open[0].messagesOut >= 2, JSON.stringify(t.open[0]));
    assert(t.open[0].bytesIn > 0 && t.open[0].bytesOut > 0);
    const rc = a.router.counters;
    assert(rc.routingUpdatesFromNeighbours >= 1, JSON.stringify(rc));
    assert(rc.routingUpdatesFromRemote >= 1, JSON.stringify(rc)); // c's update, relayed by b
    assertEquals(rc.routeChanges, 2); // b and c appeared

    const snap = meshSnapshot(a);
    assertEquals(snap.nodeId, "a");
    assertEquals(snap.nodes.map((n) => n.id), ["a", "b", "c"]);
    assertEquals(snap.links, [{ a: "a", b: "b", cost: 1 }, { a: "b", b: "c", cost: 1 }]);
    assertEquals(snap.routes, [{ node: "b", via: "b" }, { node: "c", via: "b" }]);
    assertEquals(snap.peers, [{ node: "b", cost: 1, rttMs: null }]);

    const before = t.open[0];
    ab1.close();
    await waitFor(() => a.linkTraffic().open.length === 0);
    await waitFor(() => Object.keys(a.status().routingTable).length === 0);
    const closed = a.linkTraffic().closed;
    assertEquals(closed.length, 1);
    assertEquals(closed[0].peer, "b");
    assert(closed[0].messagesIn >= before.messagesIn);
    assertEquals(a.router.counters.routeChanges, 4); // and both vanished
  } finally {
    for (const n of [a, b, c]) n.close();
  }
});

Deno.test("observability stats: control command labels are bounded", () => {
  assertEquals(commandLabel({ form: "text", command: "status", params: "" }), "status");
  assertEquals(commandLabel({ form: "text", command: "work", params: "submit x" }), "work_submit");
  assertEquals(
    commandLabel({ form: "json", command: "work", json: { subcommand: "force-release" } }),
    "work_force_release",
  );
  assertEquals(
    commandLabel({ form: "text", command: "work", params: "evil\u0000x" }),
    "work_other",
  );
});
