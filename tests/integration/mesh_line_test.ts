/**
 * A 4-node line mesh (a - b - c - d) of real node processes converges: every node's status
 * lists all four nodes in KnownConnectionCosts and routes to the other three; ping and
 * traceroute work across three hops.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ctlJson, startMesh } from "../helpers/mesh.ts";

Deno.test("mesh: 4-node line converges; ping and traceroute across 3 hops", async () => {
  const nodes = ["a", "b", "c", "d"];
  const mesh = await startMesh({ nodes, edges: [["b", "a"], ["c", "b"], ["d", "c"]] });
  try {
    try {
      await mesh.waitConverged(nodes, 30000);
    } catch (e) {
      throw new Error(`${e}\n${mesh.logs()}`);
    }
    const nextHop: Record<string, Record<string, string>> = {
      a: { b: "b", c: "b", d: "b" },
      b: { a: "a", c: "c", d: "c" },
      c: { a: "b", b: "b", d: "d" },
      d: { a: "c", b: "c", c: "c" },
    };
    for (const id of nodes) {
      const s = await mesh.status(id);
      assertEquals(s.NodeID, id);
      assertEquals(Object.keys(s.KnownConnectionCosts).sort(), nodes);
      assertEquals(s.RoutingTable, nextHop[id], `routing table of ${id}`);
      const neighbours = { a: ["b"], b: ["a", "c"], c: ["b", "d"], d: ["c"] }[id]!;
      assertEquals(s.Connections.map((c) => c.NodeID).sort(), neighbours);
      for (const c of s.Connections) assertEquals(c.Cost, 1);
      // Topology is symmetric and matches the line.
      assertEquals(s.KnownConnectionCosts.b, { a: 1, c: 1 });
      assertEquals(s.KnownConnectionCosts.a, { b: 1 });
    }

    const ping = await mesh.ping("a", "d");
    assert(ping.Success, `ping a->d failed: ${JSON.stringify(ping)}`);
    assertEquals(ping.From, "d");
    assert(typeof ping.Time === "number" && ping.Time > 0, "ping time");
    assert(typeof ping.TimeStr === "string" && ping.TimeStr.length > 0, "ping TimeStr");
    const back = await mesh.ping("d", "a");
    assert(back.Success && back.From === "a", `ping d->a: ${JSON.stringify(back)}`);
    const self = await mesh.ping("b", "localhost");
    assert(self.Success && self.From === "b", `ping localhost: ${JSON.stringify(self)}`);

    const tr = await ctlJson<Record<string, { From: string; Time: number; Error?: string }>>(
      mesh.node("a").socket,
      "traceroute d",
    );
    assertEquals(Object.keys(tr).sort(), ["0", "1", "2", "3"], JSON.stringify(tr));
    assertEquals([0, 1, 2, 3].map((i) => tr[String(i)].From), ["a", "b", "c", "d"]);
    for (const h of Object.values(tr)) {
      assertEquals(h.Error, undefined);
      assert(typeof h.Time === "number", "hop time");
    }
    const tr2 = await ctlJson<Record<string, { From: string }>>(
      mesh.node("d").socket,
      JSON.stringify({ command: "traceroute", target: "b" }),
    );
    assertEquals(Object.keys(tr2).map((k) => tr2[k].From), ["d", "c", "b"]);
  } finally {
    await mesh.stop();
  }
});
