import { Sim, sorted } from "./mesh_sim.ts";
import { ad, HostilePeer, update } from "./mesh_hostile_helpers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { DEFAULT_LIMITS, resolveLimits } from "../../src/mesh/limits.ts";
import { LIMIT_CONFIG_KEYS } from "../../src/mesh/limits.ts";
import { SECTIONS } from "../../src/config/schema.ts";
import { decodeMessage, MSG_ROUTE } from "../../src/mesh/messages.ts";

const logsOf = (sim: Sim, k: string) => sim.rec(k).logs.join("\n");
const hits = (sim: Sim, k: string, limit: string) => sim.r(k).limitLog.hits.get(limit) ?? 0;

Deno.test("limits: every limit is a node-section config key, defaults are positive", () => {
  const node = SECTIONS.find((s) => s.kind === "node")!;
  const keys = new Set(node.fields.map((f) => f.key));
  for (const k of Object.keys(LIMIT_CONFIG_KEYS)) assert(keys.has(k), `node section has ${k}`);
  assertEquals(Object.keys(LIMIT_CONFIG_KEYS).length, Object.keys(DEFAULT_LIMITS).length);
  let threw = false;
  try {
    resolveLimits({ maxKnownNodes: -1 });
  } catch (e) {
    threw = (e as Error).message.includes("maxKnownNodes");
  }
  assert(threw, "a bad limit is named");
});

Deno.test("limits: oversized IDs, UpdateIDs and connection lists are dropped, logged once", () => {
  const sim = new Sim();
  sim.addNode("v", { limits: { maxConnectionsPerUpdate: 4 } });
  const h = new HostilePeer(sim, "v", "evil");
  h.sendUpdate(update({ NodeID: "x".repeat(256) }));
  h.sendUpdate(update({ NodeID: "y".repeat(300) }));
  h.sendUpdate(update({ NodeID: "n1", UpdateID: "u".repeat(65) }));
  const conns: Record<string, number> = {};
  for (let i = 0; i < 5; i++) conns[`p${i}`] = 1;
  h.sendUpdate(update({ NodeID: "n2", Connections: conns }));
  h.sendUpdate(update({ NodeID: "n3", Connections: { ["z".repeat(256)]: 1 } }));
  sim.run(500);
  const known = Object.keys(sim.r("v").status().knownConnectionCosts).sort();
  assertEquals(known, ["evil", "v"]);
  assertEquals(hits(sim, "v", "maxNodeIdBytes"), 3);
  assertEquals(hits(sim, "v", "maxUpdateIdBytes"), 1);
  assertEquals(hits(sim, "v", "maxConnectionsPerUpdate"), 1);
  // rate-limited: one line for three hits
  assertEquals(logsOf(sim, "v").split("mesh limit maxNodeIdBytes reached").length - 1, 1);
});

Deno.test("limits: known nodes bounded; stale ones make room, live ones are never pushed out", () => {
  const sim = new Sim();
  sim.addNode("v", { limits: { maxKnownNodes: 10 } });
  const h = new HostilePeer(sim, "v", "evil");
  for (let i = 0; i < 50; i++) h.sendUpdate(update({ NodeID: `f${i}`, Connections: { evil: 1 } }));
  let st = sim.r("v").stats();
  assertEquals(st.knownNodes, 10);
  assertEquals(st.storedUpdates, 10);
  assert(hits(sim, "v", "maxKnownNodes") >= 40);
  // a minute later the fakes are stale: a new honest node gets in, evicting the oldest
  h.run(61_000);
  h.sendUpdate(update({ NodeID: "honest", Connections: { evil: 1 } }));
  assert(sim.r("v").status().knownConnectionCosts["honest"] !== undefined, "honest learned");
  st = sim.r("v").stats();
  assertEquals(st.knownNodes, 10);
});

Deno.test("limits: topology edges are bounded (fake nodes listing many fake peers)", () => {
  const sim = new Sim();
  sim.addNode("v", { limits: { maxEdges: 100 } });
  const h = new HostilePeer(sim, "v", "evil");
  for (let i = 0; i < 20; i++) {
    const conns: Record<string, number> = { evil: 1 };
    for (let j = 0; j < 20; j++) conns[`p${i}-${j}`] = 1;
    h.sendUpdate(update({ NodeID: `f${i}`, Connections: conns }));
  }
  const kcc = sim.r("v").status().knownConnectionCosts;
  const edges = Object.values(kcc).reduce((n, row) => n + Object.keys(row).length, 0);
  assert(edges <= 100, `${edges} edges`);
  assert(hits(sim, "v", "maxEdges") > 0);
});

Deno.test("limits: seen set, name table, stored update bytes are bounded", () => {
  const sim = new Sim();
  sim.addNode("v", { limits: { maxSeenIds: 100, maxNames: 20, maxStoredUpdateBytes: 4000 } });
  const h = new HostilePeer(sim, "v", "evil");
  for (let i = 0; i < 300; i++) h.sendUpdate(update({ NodeID: `f${i}`, Connections: { evil: 1 } }));
  const st = sim.r("v").stats();
  assert(st.seenIds <= 100, `seen ${st.seenIds}`);
  assert(st.names <= 20, `names ${st.names}`);
  assert(st.storedUpdateBytes <= 4000, `stored ${st.storedUpdateBytes}`);
  assert(hits(sim, "v", "maxSeenIds") > 0);
  assert(hits(sim, "v", "maxNames") > 0);
  assert(hits(sim, "v", "maxStoredUpdateBytes") > 0);
});

Deno.test("limits: ads — count per node, total, size; far-future time clamped", () => {
  const sim = new Sim();
  sim.addNode("v", { limits: { maxAdsPerNode: 3, maxAds: 5, maxAdBytes: 300 } });
  const h = new HostilePeer(sim, "v", "evil");
  const now = sim.clock.wallNow().getTime();
  for (let i = 0; i < 5; i++) h.send(ad("evil", `s${i}`, now));
  for (let i = 0; i < 5; i++) h.send(ad("other", `s${i}`, now));
  assertEquals(sim.r("v").stats().ads, 5);
  assert(hits(sim, "v", "maxAdsPerNode") >= 2);
  assert(hits(sim, "v", "maxAds") >= 1);
  h.send(ad("x".repeat(250), "big", now));
  assertEquals(hits(sim, "v", "maxAdBytes"), 1);
  // a year ahead: stored clamped to now + 5 min, so the node's real ads win again soon
  const sim2 = new Sim();
  sim2.addNode("v");
  const h2 = new HostilePeer(sim2, "v", "evil");
  const wall = sim2.clock.wallNow().getTime();
  h2.send(ad("n", "svc", wall + 365 * 86_400_000));
  const t = Date.parse(sim2.r("v").status().advertisements.find((a) => a.NodeID === "n")!.Time);
  assert(t <= wall + 5 * 60_000 + 1, "clamped");
  assertEquals(hits(sim2, "v", "maxAdFutureMs"), 1);
  h2.run(6 * 60_000);
  h2.send(ad("n", "svc", sim2.clock.wallNow().getTime()));
  const t2 = Date.parse(sim2.r("v").status().advertisements.find((a) => a.NodeID === "n")!.Time);
  assert(t2 > t, "a genuine later ad replaces the clamped one");
});

Deno.test("ads: a forged ad or cancel naming this node is dropped; its own ad stays", () => {
  const sim = new Sim();
  sim.addNode("v");
  sim.addNode("w");
  sim.connect("v", "w");
  sim.r("v").addAdvertisement(sim.clock.now(), "control", 1, { type: "Control Service" });
  sim.run(500);
  const h = new HostilePeer(sim, "v", "evil");
  const far = sim.clock.wallNow().getTime() + 1000;
  h.send(ad("v", "control", far, true));
  h.send(ad("v", "fake", far));
  const svcs = sim.r("v").status().advertisements.filter((a) => a.NodeID === "v");
  assertEquals(svcs.map((a) => a.Service), ["control"]);
  // and it was not passed on: w still has v's control ad, and no fake one
  const onW = sim.r("w").status().advertisements.filter((a) => a.NodeID === "v");
  assertEquals(onW.map((a) => a.Service), ["control"]);
  assertEquals(hits(sim, "v", "forgedOwnAd"), 2);
});

Deno.test("duplicate notice: one forged frame, one or two hops away, does not stop the node", () => {
  const sim = new Sim();
  // under the opt-in `exit` (the default `stay` never exits), so the credibility rule decides
  sim.addNode("v", { duplicateNotice: "exit" });
  sim.addNode("m");
  sim.connect("v", "m");
  sim.run(500);
  const h = new HostilePeer(sim, "m", "evil"); // two hops from v
  const direct = new HostilePeer(sim, "v", "evil2"); // one hop
  const e0 = sim.r("v").epoch;
  h.sendUpdate(update({ NodeID: "v", UpdateEpoch: e0 - 1n, SuspectedDuplicate: e0 }));
  sim.run(100);
  assertEquals(sim.rec("v").shutdown, undefined);
  const e1 = sim.r("v").epoch;
  assert(e1 > e0, "re-announced with a new epoch");
  assert(logsOf(sim, "v").includes("DUPLICATE NODE NOTICE"));
  // a forged notice with a huge epoch, over another link, after the re-announce back-off:
  // our new epoch is larger still, so nodes that adopted the forged one accept us again
  sim.run(1000);
  direct.sendUpdate(update({ NodeID: "v", UpdateEpoch: e1 + 1000n, SuspectedDuplicate: e1 }));
  sim.run(2000);
  assertEquals(sim.rec("v").shutdown, undefined);
  assert(sim.r("v").epoch > e1 + 1000n);
  assertEquals(sorted(sim.r("m").status().routingTable).v, "v");
});

Deno.test("duplicate notice: a third node does not adopt a newer epoch from a notice", () => {
  const sim = new Sim();
  for (const id of ["a", "b"]) sim.addNode(id);
  sim.connect("a", "b");
  sim.run(500);
  const h = new HostilePeer(sim, "b", "evil");
  const ea = sim.r("a").epoch;
  // would make b ignore a's real updates (older epoch) if adopted
  h.sendUpdate(update({ NodeID: "a", UpdateEpoch: ea + 99n, SuspectedDuplicate: ea }));
  h.run(25_000); // a's periodic updates still accepted; the link is never idle
  assertEquals(sim.r("b").status().connections.map((c) => c.NodeID).sort(), ["a", "evil"]);
  assertEquals(sorted(sim.r("b").status().routingTable).a, "a");
});

Deno.test("routes: a cheap edge claimed by one end only is not used (no interception)", () => {
  const sim = new Sim();
  // s - x - v (cost 1 each); liar L connected to s claims L-v at cost 0.001
  for (const id of ["s", "x", "v"]) sim.addNode(id);
  sim.connect("s", "x");
  sim.connect("x", "v");
  sim.run(500);
  const liar = new HostilePeer(sim, "s", "liar");
  liar.announce({ v: 0.001 });
  sim.run(500);
  assertEquals(sorted(sim.r("s").status().routingTable).v, "x");
  // if v really announced the edge, it would be used (at the larger of the two costs)
});

Deno.test("queues: flood messages coalesce per origin while a link is blocked; then drain", () => {
  let blocked = true;
  const sim = new Sim();
  sim.addNode("v", { linkBacklog: () => blocked ? 1 << 30 : 0 });
  sim.addNode("w");
  sim.connect("v", "w");
  const h = new HostilePeer(sim, "v", "evil");
  for (let seq = 1n; seq <= 200n; seq++) {
    h.sendUpdate(update({ NodeID: "churn", UpdateSequence: seq, Connections: { evil: 1 } }));
  }
  for (let i = 0; i < 50; i++) h.sendUpdate(update({ NodeID: `n${i}`, Connections: { evil: 1 } }));
  // one entry per origin: churn + n0..n49 + evil's own update (+ nothing else)
  assert(sim.r("v").stats().largestLinkQueue <= 52, `${sim.r("v").stats().largestLinkQueue}`);
  blocked = false;
  sim.run(1000);
  assertEquals(sim.r("v").stats().largestLinkQueue, 0);
  assert(sim.r("w").status().knownConnectionCosts["churn"] !== undefined);
  assert(sim.r("w").status().knownConnectionCosts["n49"] !== undefined);
});

Deno.test("queues: a link that cannot keep up is closed after maxLinkStallMs, and logged", () => {
  const sim = new Sim();
  sim.addNode("v", { linkBacklog: () => 1 << 30, limits: { maxLinkStallMs: 5000 } });
  sim.addNode("w");
  const [lv] = sim.connect("v", "w");
  const h = new HostilePeer(sim, "v", "evil");
  h.sendUpdate(update({ NodeID: "n1", Connections: { evil: 1 } }));
  sim.run(6000);
  assert(!sim.isOpen(lv), "the slow link was closed");
  assert(logsOf(sim, "v").includes("mesh limit maxLinkStallMs reached"));
});

Deno.test("replay: a new neighbour gets the state in paced slices; keepalives keep flowing", () => {
  const sim = new Sim();
  sim.addNode("v");
  const h = new HostilePeer(sim, "v", "evil");
  for (let i = 0; i < 2000; i++) {
    h.sendUpdate(update({ NodeID: `n${i}`, Connections: { evil: 1 } }));
  }
  sim.addNode("w");
  const seen = new Set<string>();
  let firstSlice = -1;
  sim.tap = (from, to, bytes) => {
    if (from === "v" && to === "w" && bytes[0] === MSG_ROUTE) {
      const d = decodeMessage(bytes);
      if (d.ok && d.value.type === MSG_ROUTE) seen.add(d.value.update.NodeID);
    }
    return true;
  };
  sim.connect("v", "w");
  firstSlice = seen.size;
  assert(firstSlice < 2000, `not all at once (${firstSlice})`);
  sim.run(1000);
  assert(seen.size >= 2000, `all replayed within 1 s (${seen.size})`);
  assertEquals(sim.r("w").stats().knownNodes, 2002); // n0..n1999, evil, v
  assert(seen.has("v"), "v's own update went out among the replay");
});
