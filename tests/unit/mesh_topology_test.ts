import { Topology } from "../../src/mesh/topology.ts";
import { SeenSet } from "../../src/mesh/seen_set.ts";
import type { RoutingUpdate } from "../../src/mesh/messages.ts";
import { randomString, seededRandom } from "../../src/mesh/random.ts";
import { checkNewPeer, checkPeerUpdate } from "../../src/mesh/handshake.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

const up = (node: string, seq: bigint, conns: Record<string, number> | null, epoch = 5n) =>
  ({
    NodeID: node,
    UpdateID: "x",
    UpdateEpoch: epoch,
    UpdateSequence: seq,
    Connections: conns,
    ForwardingNode: node,
    SuspectedDuplicate: 0n,
  }) satisfies RoutingUpdate;

Deno.test("topology: (epoch, sequence) ordering and row replacement", () => {
  const t = new Topology("me");
  t.addLocalEdge("p", 1);
  assertEquals(t.applyUpdate(up("p", 2n, { me: 1, q: 2 })), {
    accepted: true,
    newNode: true,
    changed: true,
    restarted: false,
  });
  assertEquals(t.applyUpdate(up("p", 2n, { me: 1 })), { accepted: false });
  assertEquals(t.applyUpdate(up("p", 1n, { me: 1 })), { accepted: false });
  assertEquals(t.applyUpdate(up("p", 3n, { me: 1, q: 2 })), {
    accepted: true,
    newNode: false,
    changed: false,
    restarted: false,
  });
  // older epoch rejected even with a larger sequence; newer epoch accepted with sequence 1
  assertEquals(t.applyUpdate(up("p", 99n, { me: 1 }, 4n)), { accepted: false });
  assertEquals(t.applyUpdate(up("p", 1n, { me: 1, q: 2 }, 6n)), {
    accepted: true,
    newNode: false,
    changed: false,
    restarted: true,
  });
  // q reports; then p stops listing q → edge q→p removed
  t.applyUpdate(up("q", 1n, { p: 2 }));
  assertEquals(t.snapshot()["q"], { p: 2 });
  t.applyUpdate(up("p", 2n, { me: 1 }, 6n));
  assertEquals(t.snapshot()["q"], {});
  assertEquals([...t.computeRoutes().nextHop], [["p", "p"]]);
});

Deno.test("topology: shortest paths, unroutable names, hostile costs ignored", () => {
  const t = new Topology("a");
  t.addLocalEdge("b", 1);
  t.addLocalEdge("c", 10);
  t.applyUpdate(up("b", 1n, { a: 1, c: 2, ghost: 1 }));
  t.applyUpdate(up("c", 1n, { a: 10, b: 2, d: -5 }));
  t.applyUpdate(up("d", 1n, { c: -5 }));
  const r = t.computeRoutes();
  assertEquals(Object.fromEntries(r.nextHop), { b: "b", c: "b" });
  assertEquals(r.pathCost.get("c"), 3);
  assert(!r.nextHop.has("ghost"), "names only inside Connections are not routable");
  assert(!r.nextHop.has("d"), "non-positive costs are ignored");
});

Deno.test("seen set: remembers IDs for an hour", () => {
  const s = new SeenSet();
  assert(s.add("x", 0));
  assert(!s.add("x", 10));
  s.sweep(3_600_000);
  assert(!s.add("x", 3_600_000));
  s.sweep(3_600_001);
  assertEquals(s.size, 0);
  assert(s.add("x", 3_600_002));
});

Deno.test("random: 8 alphanumerics, uniform-ish", () => {
  const rnd = seededRandom(42);
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const s = randomString(rnd);
    assert(/^[0-9a-zA-Z]{8}$/.test(s), s);
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  assertEquals(counts.size, 62);
});

Deno.test("handshake: acceptance checks and per-update checks", () => {
  const opts = { cost: 1, description: "t" };
  const u = (fwd: string) => ({ ...up(fwd, 1n, {}), ForwardingNode: fwd });
  const none = () => false;
  assertEquals(checkNewPeer("me", opts, 1, u("p"), none), { accept: true, peer: "p", cost: 1 });
  assertEquals(checkNewPeer("me", { ...opts, nodeCost: { p: 3 } }, 1, u("p"), none), {
    accept: true,
    peer: "p",
    cost: 3,
  });
  assertEquals(checkNewPeer("me", { ...opts, allowedPeers: [] }, 1, u("p"), none).accept, false);
  assertEquals(checkNewPeer("me", opts, 1, u("me"), none).accept, false);
  assertEquals(checkNewPeer("me", opts, 1, u("p"), () => true).accept, false);
  assertEquals(
    checkNewPeer("me", { ...opts, verifiedNodeIds: ["p"] }, 1, u("p"), none).accept,
    true,
  );
  assertEquals(checkPeerUpdate("me", "p", 1, false, up("p", 1n, {})), { action: "ignore" });
  assertEquals(checkPeerUpdate("me", "p", 1, false, up("p", 1n, { me: 1 })), {
    action: "process",
    remoteEstablished: true,
  });
  assertEquals(checkPeerUpdate("me", "p", 1, true, up("p", 1n, { me: 2 })).action, "reject");
  assertEquals(checkPeerUpdate("me", "p", 1, true, up("p", 1n, null)).action, "reject");
  assertEquals(checkPeerUpdate("me", "p", 1, true, up("q", 1n, {})).action, "reject");
  assertEquals(
    checkPeerUpdate("me", "p", 1, true, { ...up("q", 1n, {}), ForwardingNode: "p" }).action,
    "process",
  );
});

Deno.test("topology: seeded random updates and forgets agree with a plain model (rows, edge count, versions, oldest)", () => {
  const rnd = seededRandom(4242);
  const pick = (n: number) => rnd(1)[0] % n;
  const t = new Topology("me");
  // model: rows as records; a row replacement drops edges into its node from nodes it no longer lists
  const rows = new Map<string, Record<string, number>>();
  const seq = new Map<string, bigint>();
  const order: string[] = [];
  const names = Array.from({ length: 12 }, (_, i) => `n${i}`);
  for (let step = 0; step < 3000; step++) {
    const node = names[pick(names.length)];
    if (pick(10) === 0) {
      t.forget(node);
      rows.delete(node);
      seq.delete(node);
      order.splice(order.indexOf(node), order.includes(node) ? 1 : 0);
    } else {
      const conns: Record<string, number> = {};
      for (const p of names) if (p !== node && pick(3) === 0) conns[p] = 1 + pick(3);
      const s = (seq.get(node) ?? 0n) + 1n;
      const r = t.applyUpdate(up(node, s, conns), step);
      assert(r.accepted);
      seq.set(node, s);
      if (order.includes(node)) order.splice(order.indexOf(node), 1);
      order.push(node);
      // as Go: only a changed row drops edges into its node
      const old = rows.get(node);
      const same = old !== undefined &&
        JSON.stringify(sortedRow(old)) === JSON.stringify(sortedRow(conns));
      for (const [other, row] of rows) {
        if (!same && other !== node && node in row && !(other in conns)) delete row[node];
      }
      rows.set(node, { ...conns });
    }
    if (step % 25 !== 0) continue;
    const snap = t.snapshot();
    const want: Record<string, Record<string, number>> = {};
    for (const [n, row] of rows) want[n] = row;
    assertEquals(sorted(snap), sorted(want), `table at step ${step}`);
    const edges = [...rows.values()].reduce((a, r) => a + Object.keys(r).length, 0);
    assertEquals(t.edgeCount, edges, `edge count at step ${step}`);
    assertEquals(t.knownNodes, seq.size);
    assertEquals(t.oldest()?.[0], order[0]);
    for (const n of names) assertEquals(t.version(n)?.sequence, seq.get(n));
  }
});

function sortedRow(r: Record<string, number>) {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a < b ? -1 : 1));
}

function sorted(o: Record<string, Record<string, number>>) {
  const out: Record<string, Record<string, number>> = {};
  for (const k of Object.keys(o).sort()) out[k] = sortedRow(o[k]);
  return out;
}

Deno.test("seen set: seeded random adds, evictions and sweeps agree with a plain model (numeric and string IDs)", () => {
  const rnd = seededRandom(777);
  const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const id = () => {
    const b = rnd(3);
    // a small alphabet so IDs repeat; every 7th a string key (too long for a number)
    const s = ALNUM[b[0] % 6] + ALNUM[b[1] % 62] + ALNUM[b[2] % 62];
    return b[0] % 7 === 0 ? `${s}-long-id` : s;
  };
  const s = new SeenSet(1000, 3000);
  const model = new Map<string, number>(); // insertion order = time order
  let evicted = 0;
  s.onEvict = () => evicted++;
  let now = 0, want = 0;
  for (let step = 0; step < 60_000; step++) {
    now += rnd(1)[0] % 3;
    const x = id();
    const fresh = !model.has(x);
    if (fresh && model.size >= 3000) {
      model.delete(model.keys().next().value!);
      want++;
    }
    if (fresh) model.set(x, now);
    assertEquals(s.add(x, now), fresh, `add ${x} at step ${step}`);
    if (step % 5000 === 4999) {
      now += 700;
      s.sweep(now);
      for (const [k, t] of model) {
        if (now - t <= 1000) break;
        model.delete(k);
      }
    }
    if (step % 997 === 0) {
      assertEquals(s.size, model.size);
      for (const k of model.keys()) assert(s.has(k), `${k} remembered`);
    }
  }
  assertEquals(evicted, want);
  s.sweep(now + 10_000);
  assertEquals(s.size, 0);
  assert(!s.has("a1b"));
});
