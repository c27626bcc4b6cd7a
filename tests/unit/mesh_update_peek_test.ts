import { assert, assertEquals } from "../helpers/assert.ts";
import {
  decodeMessage,
  encodeReflood,
  encodeRoutingUpdate,
  MSG_ROUTE,
  type RoutingUpdate,
} from "../../src/mesh/messages.ts";
import {
  headKey,
  headNode,
  peekHead,
  peekUpdateId,
  peekUpdateKey,
  peekUpdateNode,
} from "../../src/mesh/update_peek.ts";
import { seenKey } from "../../src/mesh/seen_set.ts";
import { connArrays, GoUpdate } from "../../src/mesh/update_fast.ts";

const u: RoutingUpdate = {
  NodeID: "node-1",
  UpdateID: "AbC123xy",
  UpdateEpoch: 5n,
  UpdateSequence: 2n,
  Connections: { a: 1, "é": 2.5 },
  ForwardingNode: "fwd",
  SuspectedDuplicate: 7n,
};

Deno.test("peek: UpdateID and NodeID read from the bytes of Go's layout", () => {
  const b = encodeRoutingUpdate(u);
  assertEquals(peekUpdateId(b), "AbC123xy");
  assertEquals(peekUpdateNode(b), "node-1");
  // escapes in the NodeID: the ID is still found, the node hint is not given
  const e = encodeRoutingUpdate({ ...u, NodeID: 'n"q\\é', UpdateID: "x".repeat(64) });
  assertEquals(peekUpdateId(e), "x".repeat(64));
  assertEquals(peekUpdateNode(e), undefined);
  // IDs outside [0-9A-Za-z]{1,64} are left to the full decoder
  for (const id of ["x".repeat(65), "", "a-b"]) {
    assertEquals(peekUpdateId(encodeRoutingUpdate({ ...u, UpdateID: id })), undefined);
  }
  assertEquals(peekUpdateId(new Uint8Array([1, 0x7b])), undefined);
});

Deno.test("reflood: byte-level ForwardingNode swap equals a full re-encoding", () => {
  for (const self of ["me", 'w\u00e9<"x', "a".repeat(300)]) {
    const d = decodeMessage(encodeRoutingUpdate({ ...u, NodeID: "n<\u00e9" }));
    if (!d.ok || d.value.type !== 1) throw new Error("not decoded as a routing update");
    const want = encodeRoutingUpdate({ ...u, NodeID: "n<\u00e9", ForwardingNode: self });
    assertEquals(encodeReflood(d.value.update, self), want);
  }
});

Deno.test("seen keys: the same key from the bytes as from the string; distinct IDs stay apart", () => {
  const ids = ["AbC123xy", "0", "00", "z", "zzzzzzzz", "123456789", "a-b", "é", ""];
  const keys = new Set<string | number>();
  for (const id of ids) {
    const bytes = encodeRoutingUpdate({ ...u, UpdateID: id });
    const k = seenKey(id);
    keys.add(k);
    const peeked = peekUpdateKey(bytes);
    // the one-pass head read agrees with the separate peeks
    const end = peekHead(bytes);
    assertEquals(end < 0 ? undefined : headKey(bytes, end), peeked, id);
    if (end >= 0) {
      assertEquals(headNode(bytes), peekUpdateNode(bytes));
      assertEquals(bytes[end], 0x22, "the head ends at the UpdateID's closing quote");
    }
    // IDs the peek cannot read (not 1–64 alphanumerics) are decoded in full instead
    if (peeked !== undefined) assertEquals(peeked, k, id);
    else assert(!/^[0-9A-Za-z]{1,64}$/.test(id), id);
  }
  assertEquals(keys.size, ids.length);
  assertEquals(typeof seenKey("AbC123xy"), "number");
  assertEquals(typeof seenKey("123456789"), "string");
});

Deno.test("fast decode: Go-layout updates decode as the general decoder does", () => {
  const te = new TextEncoder();
  const cases = [
    { ...u, Connections: null },
    { ...u, Connections: {} },
    { ...u, Connections: { b: 1, a: 2, "x y": 1e21, c: 0.5, d: -3 } },
    { ...u, UpdateEpoch: (1n << 64n) - 1n, UpdateSequence: 9007199254740993n },
  ];
  for (const c of cases) {
    const bytes = encodeRoutingUpdate(c);
    const lazy = decodeMessage(bytes, true);
    const plain = decodeMessage(bytes);
    assert(lazy.ok && lazy.value.type === MSG_ROUTE && plain.ok && plain.value.type === MSG_ROUTE);
    const l = lazy.value.update, p = plain.value.update;
    assert(l instanceof GoUpdate, "the fast path took it");
    for (const x of [l, p]) {
      assertEquals(x.NodeID, c.NodeID);
      assertEquals(x.UpdateEpoch, c.UpdateEpoch);
      assertEquals(x.UpdateSequence, c.UpdateSequence);
      assertEquals(x.Connections, c.Connections);
      assertEquals(x.SuspectedDuplicate, c.SuspectedDuplicate);
    }
    assertEquals(connArrays(l), connArrays(p));
    assertEquals(encodeReflood(l, "me"), encodeReflood(p, "me"));
  }
  // laid out otherwise (whitespace, escapes, digit-only or repeated keys): the general decoder
  const others = [
    `{"NodeID": "a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":1,"Connections":null,"ForwardingNode":"a","SuspectedDuplicate":0}`,
    `{"NodeID":"a\\u0062","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":1,"Connections":null,"ForwardingNode":"a","SuspectedDuplicate":0}`,
    `{"NodeID":"a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":1,"Connections":{"2":1,"1":1},"ForwardingNode":"a","SuspectedDuplicate":0}`,
    `{"NodeID":"a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":1,"Connections":{"b":1,"b":2},"ForwardingNode":"a","SuspectedDuplicate":0}`,
  ];
  for (const text of others) {
    const d = decodeMessage(Uint8Array.of(MSG_ROUTE, ...te.encode(text)), true);
    assert(d.ok && d.value.type === MSG_ROUTE && !(d.value.update instanceof GoUpdate), text);
  }
  const rep = decodeMessage(Uint8Array.of(MSG_ROUTE, ...te.encode(others[3])), true);
  assert(rep.ok && rep.value.type === MSG_ROUTE);
  assertEquals(rep.value.update.Connections, { b: 2 });
});

Deno.test("fast decode: mutated updates are either refused or read as JSON.parse reads them", () => {
  const te = new TextEncoder(), td = new TextDecoder();
  let s = 99;
  const rnd = (n: number) => (s = (s * 1103515245 + 12345) & 0x7fffffff) % n;
  const base = td.decode(
    encodeRoutingUpdate({ ...u, Connections: { "node-2": 1, b: 2.5, "c d": 1e-3 } }).subarray(1),
  );
  const alphabet = '{}[]":,.-+eE0123456789abnulx\\ \u00e9';
  let accepted = 0;
  for (let k = 0; k < 5000; k++) {
    const chars = [...base];
    for (let m = 1 + rnd(3); m > 0; m--) {
      const at = rnd(chars.length), c = alphabet[rnd(alphabet.length)];
      if (rnd(3) === 0) chars.splice(at, 1);
      else if (rnd(2) === 0) chars.splice(at, 0, c);
      else chars[at] = c;
    }
    const text = chars.join("");
    const d = decodeMessage(Uint8Array.of(MSG_ROUTE, ...te.encode(text)), true);
    if (!d.ok || d.value.type !== MSG_ROUTE || !(d.value.update instanceof GoUpdate)) continue;
    accepted++;
    const f = d.value.update;
    const j = JSON.parse(text); // the fast path must accept valid JSON only
    assertEquals(Object.keys(j), Object.keys(JSON.parse(base)), text);
    assertEquals(f.NodeID, j.NodeID, text);
    assertEquals(f.UpdateID, j.UpdateID, text);
    assertEquals(f.ForwardingNode, j.ForwardingNode, text);
    assertEquals(f.Connections, j.Connections, text);
    const nums = text.match(/"(UpdateEpoch|UpdateSequence|SuspectedDuplicate)":(\d+)/g)!;
    assertEquals(
      [f.UpdateEpoch, f.UpdateSequence, f.SuspectedDuplicate],
      nums.map((x) => BigInt(x.split(":")[1])),
      text,
    );
  }
  assert(accepted > 100, `mutations the fast path took: ${accepted}`);
});
