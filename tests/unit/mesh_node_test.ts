import { MeshNode } from "../../src/mesh/mesh_node.ts";
import { memoryLinkPair } from "../../src/mesh/memory_link.ts";
import { silentLogger } from "../../src/log.ts";
import { FakeClock } from "../../src/clock.ts";
import { compileFirewallRules } from "../../src/mesh/firewall.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";

function mesh(ids: string[]) {
  const nodes = ids.map((id) => new MeshNode({ nodeId: id, logger: silentLogger() }));
  for (let i = 0; i + 1 < nodes.length; i++) {
    const [x, y] = memoryLinkPair();
    nodes[i].attachLink(x);
    nodes[i + 1].attachLink(y);
  }
  return nodes;
}

Deno.test("mesh node: ping and traceroute over in-memory links with the real clock", async () => {
  const [a, b, c] = mesh(["a", "b", "c"]);
  try {
    await waitFor("a routes to b and c", () => Object.keys(a.status().routingTable).length === 2);
    assertEquals(Object.keys(a.status().routingTable).sort(), ["b", "c"]);
    const p = await a.ping("b");
    assert(
      "from" in p && !("error" in p),
      JSON.stringify(p, (_k, v) => typeof v === "bigint" ? String(v) : v),
    );
    assertEquals(p.from, "b");
    assert(p.timeNs >= 0n);
    const self = await a.ping("localhost");
    assertEquals("error" in self ? self.error : self.from, "a");
    const tr = await a.traceroute("c");
    assertEquals(tr.map((h) => h.from), ["a", "b", "c"]);
    assertEquals(tr.map((h) => h.error), [undefined, undefined, undefined]);
    const nr = await a.ping("nowhere");
    assert("error" in nr);
    assertEquals(nr.error, "no route to node");
    const tr2 = await a.traceroute("nowhere");
    assertEquals(tr2.length, 2);
    assertEquals(tr2[0].from, "a");
    assertEquals(tr2[1].error, "no route to node");
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

Deno.test("mesh node: datagram endpoints, unreachables, ping timeout", async () => {
  const [a, b] = mesh(["a", "b"]);
  try {
    await waitFor("a route to b", () => "b" in a.status().routingTable, 5000, 10);
    assert("b" in a.status().routingTable);
    const srv = b.listen("echo");
    const cli = a.listen();
    cli.send("b", "echo", new Uint8Array([1, 2, 3]));
    const got = await srv.receive();
    assertEquals(got?.fromNode, "a");
    assertEquals(got?.fromService, cli.service);
    assertEquals([...got!.payload], [1, 2, 3]);
    const un = new Promise((r) => cli.onUnreachable = r);
    cli.send("b", "nothere", new Uint8Array([1]));
    const n = await un as { Problem: string; ReceivedFromNode: string };
    assertEquals([n.Problem, n.ReceivedFromNode], ["service unknown", "b"]);
    let threw = "";
    try {
      cli.send("zzz", "echo", new Uint8Array(1));
    } catch (e) {
      threw = (e as Error).message;
    }
    assertEquals(threw, "no route to node");
    srv.close();
    assertEquals(await srv.receive(), null);
    const t = await a.ping("b", { timeoutMs: 50, htl: 30 });
    assert(!("error" in t), "ping works");
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("mesh node: injected fake clock is driven with tick()", () => {
  const clock = new FakeClock();
  const a = new MeshNode({ nodeId: "a", logger: silentLogger(), clock });
  const sent: Uint8Array[] = [];
  let closed = "";
  a.attachLink({
    options: { cost: 1, description: "fake" },
    send: (m) => sent.push(m),
    close: () => closed = "closed",
    onMessage: () => {},
    onClose: () => {},
  });
  assertEquals(sent.length, 1);
  for (let i = 0; i < 10; i++) {
    clock.advance(1000);
    a.tick();
  }
  assertEquals(sent.length, 11);
  assertEquals(closed, "closed");
  a.close();
});

Deno.test("mesh node: firewall reject is seen by the sender, drop times out", async () => {
  const a = new MeshNode({ nodeId: "a", logger: silentLogger() });
  const b = new MeshNode({
    nodeId: "b",
    logger: silentLogger(),
    firewall: compileFirewallRules([{ action: "reject", fromservice: "/rej.*/" }, {
      action: "drop",
      toservice: "ping",
    }]),
  });
  const [x, y] = memoryLinkPair();
  a.attachLink(x);
  b.attachLink(y);
  try {
    await waitFor("a route to b", () => "b" in a.status().routingTable, 5000, 10);
    assert("b" in a.status().routingTable);
    const dropped = await a.ping("b", { timeoutMs: 150 });
    assert("error" in dropped);
    assertEquals(dropped.error, "timeout");
    const ep = a.listen("rejector");
    const un = new Promise<{ Problem: string; ReceivedFromNode: string }>((r) =>
      ep.onUnreachable = r
    );
    ep.send("b", "ping", new Uint8Array(0));
    const n = await un;
    assertEquals([n.Problem, n.ReceivedFromNode], ["blocked by firewall", "b"]);
    ep.close();
  } finally {
    a.close();
    b.close();
  }
});
