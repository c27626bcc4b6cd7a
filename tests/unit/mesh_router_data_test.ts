import { Sim } from "./mesh_sim.ts";
import { compileFirewallRules, type FirewallRule } from "../../src/mesh/firewall.ts";
import { decodeData, encodeData, encodeRoutingUpdate } from "../../src/mesh/messages.ts";
import { nodeHash } from "../../src/mesh/highwayhash.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

const EMPTY = new Uint8Array(0);

/** a - b - c - d, converged. Optional firewall per node. */
function line4(fw: Record<string, FirewallRule[]> = {}) {
  const sim = new Sim();
  for (const id of ["a", "b", "c", "d"]) {
    sim.addNode(id, fw[id] ? { firewall: compileFirewallRules(fw[id]) } : {});
  }
  const ab = sim.connect("a", "b");
  const bc = sim.connect("b", "c");
  const cd = sim.connect("c", "d");
  sim.run(1000);
  return { sim, ab, bc, cd };
}

Deno.test("data: ping across 3 hops; HTL on each link is originator's minus hops", () => {
  const { sim } = line4();
  const htls: [string, string, number][] = [];
  sim.tap = (from, to, bytes) => {
    if (bytes[0] === 0) htls.push([from, to, bytes[1]]);
    return true;
  };
  const a = sim.r("a");
  const svc = a.bindService();
  assertEquals(svc.length, 8);
  assertEquals(a.sendDatagram(sim.clock.now(), svc, "d", "ping", EMPTY), undefined);
  sim.drain();
  const got = sim.rec("a").datagrams;
  assertEquals(got.length, 1);
  assertEquals(got[0].fromNode, "d");
  assertEquals(got[0].fromService, "ping");
  assertEquals(got[0].service, svc);
  assertEquals(got[0].payload.length, 0);
  assertEquals(htls, [
    ["a", "b", 29],
    ["b", "c", 28],
    ["c", "d", 27],
    ["d", "c", 29],
    ["c", "b", 28],
    ["b", "a", 27],
  ]);
});

Deno.test("data: traceroute steps (HTL 0..3) give 'message expired' from each hop then a reply", () => {
  const { sim } = line4();
  const a = sim.r("a");
  const hops: string[] = [];
  for (let htl = 0; htl <= 30; htl++) {
    const svc = a.bindService();
    const rec = sim.rec("a");
    const before = { d: rec.datagrams.length, u: rec.unreachables.length };
    assertEquals(a.sendDatagram(sim.clock.now(), svc, "d", "ping", EMPTY, htl), undefined);
    sim.drain();
    a.unbindService(svc);
    if (rec.datagrams.length > before.d) {
      hops.push(`reply:${rec.datagrams.at(-1)!.fromNode}`);
      break;
    }
    const u = rec.unreachables.at(-1)!;
    assert(rec.unreachables.length > before.u, `htl ${htl} got an answer`);
    assertEquals(u.FromService, svc);
    assertEquals(u.FromNode, "a");
    assertEquals(u.ToNode, "d");
    assertEquals(u.ToService, "ping");
    hops.push(`${u.Problem}:${u.ReceivedFromNode}`);
  }
  assertEquals(hops, [
    "message expired:a",
    "message expired:b",
    "message expired:c",
    "reply:d",
  ]);
});

Deno.test("data: unknown service gives 'service unknown' with exact addressing", () => {
  const { sim } = line4();
  const a = sim.r("a");
  const svc = a.bindService("mine");
  assertEquals(a.sendDatagram(sim.clock.now(), svc, "d", "foo", new Uint8Array([1, 2])), undefined);
  sim.drain();
  const { service, at: _at, ...info } = sim.rec("a").unreachables[0];
  assertEquals(service, "mine");
  assertEquals(info, {
    FromNode: "a",
    ToNode: "d",
    FromService: "mine",
    ToService: "foo",
    Problem: "service unknown",
    ReceivedFromNode: "d",
  });
  // local destination: the sender gets the error directly
  assertEquals(a.sendDatagram(sim.clock.now(), svc, "a", "foo", EMPTY), "service unknown");
  assertEquals(a.sendDatagram(sim.clock.now(), svc, "nowhere", "foo", EMPTY), "no route to node");
  assertEquals(
    a.sendDatagram(sim.clock.now(), "waytoolongname", "d", "foo", EMPTY),
    "service name too long",
  );
  assertEquals(
    a.sendDatagram(sim.clock.now(), svc, "d", "foo", new Uint8Array(70000)),
    "message too large",
  );
});

Deno.test("data: delivery to bound services, localhost rewriting, unbind", () => {
  const { sim } = line4();
  const a = sim.r("a"), d = sim.r("d");
  d.bindService("echo");
  a.bindService("src");
  assertEquals(
    a.sendDatagram(sim.clock.now(), "src", "d", "echo", new Uint8Array([7, 8, 9])),
    undefined,
  );
  sim.drain();
  const got = sim.rec("d").datagrams[0];
  assertEquals([got.fromNode, got.fromService, got.service, [...got.payload]], [
    "a",
    "src",
    "echo",
    [7, 8, 9],
  ]);
  assertEquals(
    a.sendDatagram(sim.clock.now(), "src", "LocalHost", "src", new Uint8Array([1])),
    undefined,
  );
  sim.drain();
  assertEquals(sim.rec("a").datagrams.at(-1)!.fromNode, "a");
  d.unbindService("echo");
  a.sendDatagram(sim.clock.now(), "src", "d", "echo", EMPTY);
  sim.drain();
  assertEquals(sim.rec("a").unreachables.at(-1)!.Problem, "service unknown");
  let threw = false;
  try {
    a.bindService("ping");
  } catch {
    threw = true;
  }
  assert(threw, "reserved service cannot be bound");
  threw = false;
  try {
    a.bindService("src");
  } catch {
    threw = true;
  }
  assert(threw, "duplicate bind fails");
});

Deno.test("data: firewall reject gives 'blocked by firewall', drop is silent", () => {
  {
    const { sim } = line4({ d: [{ action: "reject", toservice: "ping" }] });
    const a = sim.r("a");
    const svc = a.bindService();
    a.sendDatagram(sim.clock.now(), svc, "d", "ping", EMPTY);
    sim.drain();
    assertEquals(sim.rec("a").datagrams.length, 0);
    const u = sim.rec("a").unreachables[0];
    assertEquals([u.Problem, u.ReceivedFromNode], ["blocked by firewall", "d"]);
  }
  {
    const { sim } = line4({ c: [{ action: "drop", fromnode: "/[a-b]/" }] });
    const a = sim.r("a");
    const svc = a.bindService();
    a.sendDatagram(sim.clock.now(), svc, "d", "ping", EMPTY);
    sim.run(10_000);
    assertEquals(sim.rec("a").datagrams.length, 0);
    assertEquals(sim.rec("a").unreachables.length, 0);
  }
  {
    // rejection in transit, and at the originator itself (delivered locally)
    const { sim } = line4({
      b: [{ action: "reject", tonode: "d" }],
      a: [{ action: "reject", toservice: "nope" }],
    });
    const a = sim.r("a");
    const svc = a.bindService();
    a.sendDatagram(sim.clock.now(), svc, "d", "ping", EMPTY);
    sim.drain();
    const u = sim.rec("a").unreachables[0];
    assertEquals([u.Problem, u.ReceivedFromNode], ["blocked by firewall", "b"]);
    assertEquals(a.sendDatagram(sim.clock.now(), svc, "c", "nope", EMPTY), undefined);
    sim.drain();
    const u2 = sim.rec("a").unreachables[1];
    assertEquals([u2.Problem, u2.ReceivedFromNode, u2.ToNode], ["blocked by firewall", "a", "c"]);
  }
});

Deno.test("data: no unreachable is ever sent about an unreach message", () => {
  const { sim } = line4();
  const a = sim.r("a");
  let unreachSeen = 0;
  let sent = 0;
  sim.tap = (from, _t, bytes) => {
    const d = decodeData(bytes);
    if (bytes[0] === 0 && d.ok && from === "a") sent++;
    if (bytes[0] === 0 && d.ok && from !== "a" && d.value.fromService === "unreach") unreachSeen++;
    return true;
  };
  // HTL 1 from a: expires at b; from-service unreach → b must stay silent
  a.sendDatagram(sim.clock.now(), "unreach", "d", "unreach", new TextEncoder().encode("{}"), 1);
  sim.drain();
  assertEquals(sent, 1);
  assertEquals(unreachSeen, 0);
  assertEquals(sim.rec("a").unreachables.length, 0);
});

Deno.test("data: hostile frames are dropped without throwing and routing continues", () => {
  const { sim, ab } = line4();
  const bLink = ab[1]; // b's end of a-b
  const frames: Uint8Array[] = [
    new Uint8Array(0), // empty
    new Uint8Array(20), // truncated data header (type 0)
    Uint8Array.of(1, 0x7b, 0x7b), // bad JSON routing update
    Uint8Array.of(1, ...new TextEncoder().encode('{"ForwardingNode":"a","UpdateEpoch":-5}')),
    Uint8Array.of(2, 0x7b), // bad service ad
    Uint8Array.of(2, ...new TextEncoder().encode('{"Time":"soon"}')),
    Uint8Array.of(9, 1, 2, 3), // unknown type
    Uint8Array.of(255),
    encodeData({ // unknown hashes
      hopsToLive: 5,
      fromHash: nodeHash("ghost"),
      toHash: nodeHash("d"),
      fromService: "x",
      toService: "y",
    }, EMPTY),
    encodeData({ // HTL 0 in transit: expires at b → unreachable to a
      hopsToLive: 0,
      fromHash: nodeHash("a"),
      toHash: nodeHash("d"),
      fromService: "x",
      toService: "y",
    }, EMPTY),
    new Uint8Array(70_000), // oversize
  ];
  for (const f of frames) sim.inject(bLink, f);
  assert(sim.isOpen(bLink), "link survives hostile frames");
  const logs = sim.rec("b").logs.join("\n");
  assert(logs.includes("hash not found"), "unknown hash logged");
  assert(logs.includes("oversize"), "oversize logged");
  assert(logs.includes("Unknown message type"), "unknown type logged");
  const exp = sim.rec("a").unreachables.find((u) => u.Problem === "message expired");
  assertEquals(exp?.ReceivedFromNode, "b");
  // routing still works
  const svc = sim.r("a").bindService();
  sim.r("a").sendDatagram(sim.clock.now(), svc, "d", "ping", EMPTY);
  sim.drain();
  assertEquals(sim.rec("a").datagrams.at(-1)?.fromNode, "d");
  sim.run(30_000);
  assert(sim.isOpen(bLink));
  // a forged update claiming another forwarding node gets the link rejected
  sim.inject(
    bLink,
    encodeRoutingUpdate({
      NodeID: "zz",
      UpdateID: "abcdefgh",
      UpdateEpoch: 1n,
      UpdateSequence: 1n,
      Connections: {},
      ForwardingNode: "mallory",
      SuspectedDuplicate: 0n,
    }),
  );
  assert(!sim.isOpen(bLink), "link closed after forwarding-node change");
  assert(sim.rec("b").logs.join("\n").includes("remote node ID changed unexpectedly"));
});
