/**
 * Seeded differential fuzz of the routing-update fast path (update_fast.ts, go_update.ts,
 * update_peek.ts, messages.ts encodeReflood) against the general decoder: every node decodes
 * every update of the mesh and peers are untrusted, so the fast path must accept exactly what
 * the general decoder accepts, with the same result, or decline. Deterministic (fixed seeds),
 * a few thousand cases.
 * @module
 */

import {
  decodeMessage,
  decodeRoutingUpdate,
  encodeReflood,
  encodeRoutingUpdate,
  type RoutingUpdate,
  routingUpdateJson,
} from "../../src/mesh/messages.ts";
import {
  connArrays,
  connCount,
  decodeGoLayoutLazy,
  decodeGoLayoutUpdate,
  GoUpdate,
} from "../../src/mesh/update_fast.ts";
import { headKey, peekHead } from "../../src/mesh/update_peek.ts";
import { seenKey } from "../../src/mesh/seen_set.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { Sim } from "./mesh_sim.ts";
import { HostilePeer } from "./mesh_hostile_helpers.ts";
import { prng as rng } from "../helpers/data.ts";

const utf8 = new TextEncoder();

type R = () => number;
const pick = <T>(r: R, a: readonly T[]): T => a[Math.floor(r() * a.length)];

/** JSON string bodies (between the quotes) of node names, plain and hostile. */
const NAMES = [
  "a",
  "node1",
  "node2",
  "n-3.x_y",
  "Z",
  "é",
  "日本",
  "\u{1F600}",
  "\uFEFFnode1",
  "a<b&c>",
  "\\u0041bc",
  'q\\"uote',
  "back\\\\slash",
  "__proto__",
  "constructor",
  "toString",
  "0",
  "123",
  "01",
  "4294967295",
  "-1",
  "",
  " sp ",
  "\x7f",
  "x".repeat(300),
  "y".repeat(70),
];
const IDS = [
  "abc",
  "A1b2C3d4",
  "x",
  "123456789",
  "a".repeat(64),
  "a".repeat(65),
  "a-b",
  "",
  "é",
  "Z9",
];
const U64S = [
  "0",
  "1",
  "7",
  "4294967295",
  "4294967296",
  "9007199254740991",
  "9007199254740992",
  "9007199254740993",
  "18446744073709551615",
  "18446744073709551616",
  "99999999999999999999",
  "100000000000000000000",
  "1765000000000000000",
  "007",
  "-1",
  "1.0",
  "1e3",
  "null",
  '"5"',
];
const COSTS = [
  "1",
  "0",
  "-0",
  "1.5",
  "-1",
  "0.1",
  "100",
  "1E2",
  "1e-2",
  "1e400",
  "-1e400",
  "1e-400",
  "01",
  ".5",
  "5.",
  "-",
  "1e",
  "9007199254740993",
  "null",
  '"1"',
  "true",
];

/** A routing update body as text, in Go's field order unless `r` reorders it. */
function genText(r: R, o: { id?: string; seq?: string; fwd?: string } = {}): string {
  const q = (s: string) => `"${s}"`;
  const node = r() < 0.85 ? pick(r, NAMES.slice(0, 5)) : pick(r, NAMES);
  const fields: [string, string][] = [
    ["NodeID", q(node)],
    ["UpdateID", q(o.id ?? (r() < 0.9 ? pick(r, IDS.slice(0, 4)) : pick(r, IDS)))],
    ["UpdateEpoch", r() < 0.8 ? "1765000000000000000" : pick(r, U64S)],
    ["UpdateSequence", o.seq ?? (r() < 0.8 ? String(1 + Math.floor(r() * 50)) : pick(r, U64S))],
    ["Connections", genConns(r)],
    ["ForwardingNode", q(o.fwd ?? (r() < 0.9 ? pick(r, NAMES.slice(0, 5)) : pick(r, NAMES)))],
    ["SuspectedDuplicate", r() < 0.85 ? "0" : pick(r, U64S)],
  ];
  if (r() < 0.05) fields.reverse();
  if (r() < 0.05) fields.push([pick(r, fields)[0], pick(r, fields)[1]]); // a repeated field
  if (r() < 0.03) fields[Math.floor(r() * fields.length)][0] = "nodeid"; // case folded
  if (r() < 0.03) fields.push(["Extra", "1"]);
  return "{" + fields.map(([k, v]) => `"${k}":${v}`).join(",") + "}";
}

function genConns(r: R): string {
  const x = r();
  if (x < 0.05) return "null";
  if (x < 0.08) return "{}";
  if (x < 0.09) return "[]";
  const n = r() < 0.1 ? 8 + Math.floor(r() * 12) : 1 + Math.floor(r() * 6);
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = r() < 0.93 ? `p${Math.floor(r() * 30)}` : pick(r, NAMES);
    keys.push(r() < 0.05 && keys.length ? pick(r, keys) : k); // repeated keys
  }
  const cost = () => r() < 0.95 ? String(1 + Math.floor(r() * 9)) : pick(r, COSTS);
  return "{" + keys.map((k) => `"${k}":${cost()}`).join(",") + "}";
}

/** Byte-level mutations of an encoded body. */
function mutate(r: R, b: Uint8Array): Uint8Array {
  const a = [...b];
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (a.length + 1));
    switch (Math.floor(r() * 7)) {
      case 0:
        a[Math.min(at, a.length - 1)] ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        a.length = at; // truncate
        break;
      case 2:
        a.splice(at, 0, pick(r, [0x20, 0x09, 0x0a, 0x0d])); // whitespace
        break;
      case 3:
        a.splice(at, 0, Math.floor(r() * 256)); // any byte (control, non-UTF-8)
        break;
      case 4:
        a.splice(at, 1);
        break;
      case 5:
        a[Math.min(at, a.length - 1)] = pick(r, [0x22, 0x5c, 0x2c, 0x3a, 0x7d, 0x30, 0x80, 0xc3]);
        break;
      default: {
        // duplicate a slice elsewhere (repeated keys, fields)
        const s = Math.floor(r() * a.length), e = Math.min(a.length, s + Math.floor(r() * 20));
        a.splice(at, 0, ...a.slice(s, e));
      }
    }
  }
  return Uint8Array.from(a);
}

const withType = (body: Uint8Array, pre: number[] = [1]) => {
  const m = new Uint8Array(pre.length + body.length);
  m.set(pre);
  m.set(body, pre.length);
  return m;
};

/** The general decoder's result: a leading space keeps every fast path out. */
function general(body: Uint8Array) {
  return decodeRoutingUpdate(withType(body, [0x20]).subarray(0));
}

/** The fields of an update with Connections as ordered entries (costs compared by Object.is). */
function fields(u: RoutingUpdate) {
  return {
    NodeID: u.NodeID,
    UpdateID: u.UpdateID,
    UpdateEpoch: u.UpdateEpoch,
    UpdateSequence: u.UpdateSequence,
    Connections: u.Connections === null ? null : Object.entries(u.Connections),
    ForwardingNode: u.ForwardingNode,
    SuspectedDuplicate: u.SuspectedDuplicate,
  };
}

const SELVES = ["s", "node1", "a-much-longer-self-name-than-any-forwarder", "é", "a<b", 'q"x'];

/** A slab with garbage around the handed-out room (as the update store's, reused). */
function slabAlloc(r: R) {
  const slab = new Uint8Array(8192).fill(0xa5);
  let at = 0;
  const given: [number, number][] = [];
  return {
    slab,
    given,
    alloc: (n: number) => {
      at += 1 + Math.floor(r() * 7);
      given.push([at, n]);
      const v = slab.subarray(at, at + n);
      at += n;
      return v;
    },
  };
}

/** Checks one message body; returns whether the fast path took it. */
function checkOne(r: R, body: Uint8Array, ctx: string): boolean {
  const msg = withType(body);
  const copy = msg.slice();
  const g = general(body);
  const lazy = decodeGoLayoutLazy(msg);
  const plain = decodeGoLayoutUpdate(body);
  assertEquals(lazy === undefined, plain === undefined, `${ctx}: lazy and plain fast paths agree`);
  if (lazy) {
    assert(
      g.ok,
      `${ctx}: fast path accepted what the general decoder refuses: ${g.ok || g.error.message}`,
    );
    assertEquals(fields(lazy), fields(g.value), `${ctx}: lazy fields`);
    assertEquals(fields(plain!), fields(g.value), `${ctx}: plain fields`);
    assertEquals(lazy.seenKey, seenKey(g.value.UpdateID), `${ctx}: seenKey`);
    assert(lazy.forwardedBy(g.value.ForwardingNode), `${ctx}: forwardedBy`);
    assertEquals(connCount(lazy), connCount(g.value), `${ctx}: connCount`);
    assertEquals(connArrays(lazy), connArrays(g.value), `${ctx}: connArrays`);
  }
  const d = decodeMessage(msg, true);
  assertEquals(d.ok, g.ok, `${ctx}: decodeMessage(lazy) accepts as the general decoder`);
  if (d.ok && g.ok && d.value.type === 1) {
    assertEquals(d.value.update instanceof GoUpdate, lazy !== undefined, ctx);
    assertEquals(fields(d.value.update), fields(g.value), `${ctx}: decodeMessage fields`);
  }
  const d2 = decodeMessage(msg);
  assertEquals(d2.ok, g.ok, `${ctx}: decodeMessage accepts as the general decoder`);
  if (d2.ok && g.ok && d2.value.type === 1) {
    assertEquals(fields(d2.value.update), fields(g.value), `${ctx}: decodeMessage fields`);
  }
  // the peek: its key is the key of the UpdateID the update is processed under
  const end = peekHead(msg);
  if (end >= 0 && g.ok && headKey(msg, end) !== seenKey(g.value.UpdateID)) {
    // known: the peek reads the first UpdateID, Go's decoding keeps the last of repeated ones
    assert(lazy === undefined, `${ctx}: headKey differs from a fast-decoded UpdateID`);
    const ids = new TextDecoder().decode(body).toLowerCase().split('"updateid"').length - 1;
    assert(ids > 1, `${ctx}: headKey differs from the UpdateID, which is not repeated`);
  }
  if (lazy && g.ok) checkReflood(r, msg, g.value, ctx);
  assertEquals(msg, copy, `${ctx}: the message is not modified`);
  return lazy !== undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkReflood(r: R, msg: Uint8Array, gu: RoutingUpdate, ctx: string) {
  for (const self of SELVES) {
    const u = decodeGoLayoutLazy(msg)!;
    const want = encodeRoutingUpdate({
      ...fields(gu),
      Connections: gu.Connections,
      ForwardingNode: self,
    });
    const sa = slabAlloc(r);
    const got = encodeReflood(u, self, sa.alloc);
    const got2 = encodeReflood(u, self);
    assertEquals(got, got2, `${ctx}: reflood in a slab as in its own buffer (self ${self})`);
    // the plain fast path (decodeRoutingUpdate: the body's bytes found by search)
    const plain = decodeRoutingUpdate(msg.subarray(1));
    assert(plain.ok, ctx);
    assertEquals(encodeReflood(plain.value, self), got, `${ctx}: reflood of the plain decode`);
    // the garbage around the room handed out is untouched
    let prev = 0;
    for (const [at, n] of sa.given) {
      for (let k = prev; k < at; k++) assertEquals(sa.slab[k], 0xa5, `${ctx}: slab byte ${k}`);
      prev = at + n;
    }
    for (let k = prev; k < sa.slab.length; k++) assertEquals(sa.slab[k], 0xa5, `${ctx}: slab`);
    // canonical input (as Go writes it): byte-exact; otherwise the same update
    const canonical = sameBytes(utf8.encode(routingUpdateJson(gu)), msg.subarray(1));
    if (canonical) assertEquals(got, want, `${ctx}: reflood bytes (self ${self})`);
    const back = general(got.subarray(1));
    assert(back.ok, `${ctx}: reflood decodes`);
    assertEquals(fields(back.value), { ...fields(gu), ForwardingNode: self }, `${ctx}: reflood`);
  }
}

Deno.test("update fuzz: the fast decoders accept what the general one does, with its result", () => {
  const r = rng(0x5eed);
  let fast = 0, total = 0;
  for (let c = 0; c < 2500; c++) {
    const text = genText(r);
    const body = utf8.encode(text);
    if (checkOne(r, body, `case ${c} ${text.slice(0, 200)}`)) fast++;
    total++;
    for (let m = 0; m < 2; m++) {
      const mb = mutate(r, body);
      if (checkOne(r, mb, `case ${c}.${m} ${JSON.stringify([...mb].slice(0, 200))}`)) fast++;
      total++;
    }
  }
  // the generator must reach the fast path often, and the general one often
  assert(fast > total / 10 && fast < total * 0.8, `fast path took ${fast} of ${total}`);
});

Deno.test("update fuzz: a cost beyond a double's range is refused by every path, as Go does", () => {
  for (const cost of ["1e400", "-1e400", "2e308"]) {
    const body = utf8.encode(
      '{"NodeID":"a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":2,' +
        `"Connections":{"b":${cost}},"ForwardingNode":"a","SuspectedDuplicate":0}`,
    );
    assertEquals(decodeGoLayoutLazy(withType(body)), undefined, cost);
    assertEquals(decodeGoLayoutUpdate(body), undefined, cost);
    assertEquals(decodeMessage(withType(body), true).ok, false, cost);
    assertEquals(general(body).ok, false, cost);
  }
});

/** A router "A" with raw peers "P" (the sender) and "Q" (sees what A re-floods). */
function routerUnderTest() {
  const sim = new Sim();
  sim.logLevel = "warning";
  sim.addNode("A");
  const q = new HostilePeer(sim, "A", "Q");
  return { sim, q, p: new HostilePeer(sim, "A", "P0") };
}

Deno.test("update fuzz: a router fed Go's layout ends as one fed the same updates generally decoded", () => {
  const r = rng(0xfeed);
  // [0]: the bytes as sent (peek, fast path, reused lazy result); [1]: a leading space in the
  // JSON keeps every fast path out (the general decoder, a re-encoded re-flood)
  const t = [routerUnderTest(), routerUnderTest()];
  const seqs = new Map<string, number>();
  const compare = (ctx: string) => {
    const [s0, s1] = t.map((x) => x.sim.r("A").status());
    assertEquals(s0.knownConnectionCosts, s1.knownConnectionCosts, `${ctx}: topology`);
    assertEquals(s0.routingTable, s1.routingTable, `${ctx}: routes`);
    // (stored bytes differ: a spliced copy keeps the sender's text, a re-encoding is Go's)
    const [a, b] = t.map((x) => ({ ...x.sim.r("A").stats(), storedUpdateBytes: 0 }));
    assertEquals(a, b, `${ctx}: stats`);
  };
  let reconnects = 0;
  for (let c = 0; c < 800; c++) {
    // mostly fresh IDs and rising sequences (so updates are applied), sometimes a repeat
    const id = r() < 0.1 && c > 0 ? `u${Math.floor(r() * c)}` : `u${c}`;
    const fwd = t[0].p.id;
    const text0 = genText(r, { id, fwd });
    const node = /"NodeID":"([^"]*)"/.exec(text0)?.[1] ?? "";
    const seq = (seqs.get(node) ?? 0) + (r() < 0.9 ? 1 : 0);
    seqs.set(node, seq);
    const text = r() < 0.8
      ? text0.replace(/"UpdateSequence":[^,]*/, `"UpdateSequence":${seq}`)
      : text0;
    let body: Uint8Array = utf8.encode(text);
    if (r() < 0.2) body = mutate(r, body);
    t[0].p.send(withType(body));
    t[1].p.send(withType(body, [1, 0x20]));
    const open = t.map((x) => x.sim.isOpen(x.p.linkId));
    assertEquals(open[0], open[1], `message ${c}: the sender's link open on both or neither`);
    if (!open[0]) {
      reconnects++;
      for (const x of t) x.p = new HostilePeer(x.sim, "A", `P${reconnects}`);
    }
    if (c % 20 === 0) compare(`message ${c} ${text.slice(0, 200)}`);
  }
  compare("end");
  for (const x of t) x.sim.run(2000);
  // what A re-flooded to Q: the same updates (fields), in the same order
  const seen = t.map((x) =>
    x.q.captured.filter((m) => m[0] === 1).map((m) => {
      const g = general(m.subarray(1));
      assert(g.ok, "A re-floods only decodable updates");
      // the raw peers' own UpdateIDs come from a process-wide counter (they differ)
      // (Connections is a map in Go: a re-encoding sorts it, a spliced copy keeps its order)
      const f = fields(g.value);
      f.Connections?.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
      return /^(P\d+|Q)$/.test(f.NodeID) ? { ...f, UpdateID: "" } : f;
    })
  );
  assert(seen[0].length > 100, `A re-flooded ${seen[0].length} updates`);
  for (let i = 0; i < Math.max(seen[0].length, seen[1].length); i++) {
    assertEquals(
      seen[0][i],
      seen[1][i],
      `re-flooded update ${i} of ${seen[0].length}/${seen[1].length}`,
    );
  }
  assert(reconnects < 100, `${reconnects} reconnects`);
});

Deno.test("update fuzz: a name starting with U+FEFF keeps it on the fast path (not read as a BOM)", () => {
  const body = utf8.encode(
    '{"NodeID":"\uFEFFa","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":2,' +
      '"Connections":{"\uFEFFb":1},"ForwardingNode":"a","SuspectedDuplicate":0}',
  );
  const u = decodeGoLayoutLazy(withType(body));
  assert(u !== undefined, "Go's layout: the fast path takes it");
  assertEquals(u.NodeID, "\uFEFFa");
  assertEquals(Object.keys(u.Connections!), ["\uFEFFb"]);
  const g = general(body);
  assert(g.ok);
  assertEquals(fields(u), fields(g.value));
});

Deno.test("messages: bytes EF BB BF are U+FEFF as Go reads them, never dropped as a BOM", () => {
  // Go's json.Unmarshal refuses a body that starts with them
  const route = utf8.encode(
    '\uFEFF{"NodeID":"a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":2,' +
      '"Connections":{"b":1},"ForwardingNode":"a","SuspectedDuplicate":0}',
  );
  assertEquals(decodeMessage(withType(route), true).ok, false, "routing update (lazy)");
  assertEquals(decodeMessage(withType(route)).ok, false, "routing update");
  assertEquals(decodeMessage(withType(utf8.encode('\uFEFF{"NodeID":"a"}'), [2])).ok, false, "ad");
  // a data message for service "\uFEFFsv" (Go: string(bytes)) is not one for "sv"
  const data = new Uint8Array(40);
  data.set(utf8.encode("\uFEFFsv"), 28);
  const d = decodeMessage(data);
  assert(d.ok && d.value.type === 0);
  assertEquals(d.value.data.toService, "\uFEFFsv");
});
