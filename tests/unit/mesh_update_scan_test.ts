/**
 * The fast routing-update scanner (src/mesh/update_fast.ts) against the general decoder, for
 * what it computes on the way: names' seeded hashes, repeated-key detection (few and many
 * keys), wide names, and 64-bit integers at their edges.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  decodeMessage,
  encodeReflood,
  encodeRoutingUpdate,
  MSG_ROUTE,
  type RoutingUpdate,
} from "../../src/mesh/messages.ts";
import { seenKey } from "../../src/mesh/seen_set.ts";
import { headKey, peekHead } from "../../src/mesh/update_peek.ts";
import { GoUpdate } from "../../src/mesh/update_fast.ts";
import { ByteIndex } from "../../src/mesh/byte_index.ts";
import { hashAscii, hashName, rememberNameHash } from "../../src/util/seeded_hash.ts";

const te = new TextEncoder();

const text = (conns: string, epoch = "1", seq = "2", node = '"a"') =>
  `{"NodeID":${node},"UpdateID":"x","UpdateEpoch":${epoch},"UpdateSequence":${seq},` +
  `"Connections":${conns},"ForwardingNode":"a","SuspectedDuplicate":0}`;

/** Both decodings of `t`: the router's (lazy) and the general one; `fast`: the scanner took it. */
function both(t: string): { fast: boolean; lazy?: RoutingUpdate; plain?: RoutingUpdate } {
  const bytes = Uint8Array.of(MSG_ROUTE, ...te.encode(t));
  const l = decodeMessage(bytes, true), p = decodeMessage(bytes);
  assertEquals(l.ok, p.ok, t);
  if (!l.ok || !p.ok || l.value.type !== MSG_ROUTE || p.value.type !== MSG_ROUTE) {
    return { fast: false };
  }
  return {
    fast: l.value.update instanceof GoUpdate,
    lazy: l.value.update,
    plain: p.value.update,
  };
}

function sameReading(t: string): boolean {
  const r = both(t);
  if (r.lazy) {
    for (const k of ["NodeID", "UpdateEpoch", "UpdateSequence", "Connections"] as const) {
      assertEquals(r.lazy[k], r.plain![k], `${k} of ${t}`);
    }
  }
  return r.fast;
}

Deno.test("scan: repeated keys among few and many go to the general decoder (last wins)", () => {
  for (const n of [2, 3, 7, 8, 9, 20, 100]) {
    const keys = Array.from({ length: n }, (_, i) => `node-${i}`);
    assert(sameReading(text(`{${keys.map((k, i) => `"${k}":${i}`).join(",")}}`)), `${n} distinct`);
    // a repeat at every pair of places (first/last, neighbours, middle)
    for (const [a, b] of [[0, n - 1], [n - 2, n - 1], [0, 1], [n >> 1, n - 1]]) {
      if (a === b) continue;
      const ks = keys.slice();
      ks[b] = ks[a];
      const t = text(`{${ks.map((k, i) => `"${k}":${i}`).join(",")}}`);
      assert(!sameReading(t), `${n} keys, ${a} = ${b}: refused by the scanner`);
      const r = both(t);
      assertEquals(r.plain!.Connections![ks[a]], b, "the last one wins");
    }
    // same length, one byte apart (equal hashes are compared byte by byte, unequal never)
    const near = keys.map((k) => `${k}x`).concat(keys.map((k) => `${k}y`));
    assert(sameReading(text(`{${near.map((k, i) => `"${k}":${i}`).join(",")}}`)));
  }
});

Deno.test("scan: each key's hash is the seeded name hash; the index finds names by it", () => {
  const names = ["node-1", "b", "a long name with spaces and ~!@#$%^&*()", "~"];
  const r = both(text(`{${names.map((k, i) => `"${k}":${i}`).join(",")}}`));
  assert(r.fast && r.lazy instanceof GoUpdate);
  const g = r.lazy, ranges = g.ranges!;
  const table: string[] = [];
  const ix = new ByteIndex(table);
  for (let k = 0; k < names.length; k++) {
    assertEquals(g.keyHash(k), hashName(names[k]));
    assertEquals(g.keyHash(k), hashAscii(g.body, ranges.starts[k], ranges.ends[k]));
    table.push(names[k]);
    ix.set(names[k], k);
  }
  for (let k = 0; k < names.length; k++) {
    assertEquals(ix.getHashed(g.body, ranges.starts[k], ranges.ends[k], g.keyHash(k)), k);
  }
  // a hash that is not the name's finds nothing (names are compared in full on a hash hit)
  assertEquals(ix.getHashed(g.body, ranges.starts[0], ranges.ends[0], g.keyHash(1)), -1);
  // after another update was decoded, the hashes are computed from the bytes: the same
  assert(both(text('{"zz":1,"node-1":2}')).fast);
  for (let k = 0; k < names.length; k++) assertEquals(g.keyHash(k), hashName(names[k]));
  assertEquals(g.arrays!.peers, names);
});

Deno.test("scan: a remembered NodeID hash is only used for that very name", () => {
  const a = "node-7", b = ["node", "-7"].join("");
  rememberNameHash(a, hashAscii(te.encode(a), 0, a.length));
  assertEquals(hashName(b), hashName("node-7"));
  assertEquals(hashName("node-8"), hashAscii(te.encode("node-8"), 0, 6));
  assertEquals(hashName(""), hashAscii(new Uint8Array(0), 0, 0));
  // NodeID read by the scanner, then looked up by string: the same index as a fresh hash
  const r = both(text("null", "1", "2", '"node-42"'));
  assert(r.fast);
  const ix = new ByteIndex(["node-42"]);
  ix.set("node-42", 0);
  assertEquals(ix.get(r.lazy!.NodeID), 0);
  assertEquals(ix.get("node-4"), -1);
});

Deno.test("scan: wide (non-ASCII) names read as the general decoder reads them", () => {
  for (const c of ['{"é":1,"a":2}', '{"a":1,"é":2,"b":3}', '{"é":1,"é":2}', '{"\u00e9\u00e8":1}']) {
    sameReading(text(c));
  }
  for (const node of ['"é"', '"nodé-1"', '"\u{1F600}"']) {
    assert(sameReading(text('{"a":1}', "1", "2", node)), node);
  }
});

Deno.test("scan: 64-bit integers exact at their edges; out of range or leading zeros refused", () => {
  const ok = [
    "0",
    "1",
    "9",
    "10",
    "4294967295",
    "4294967296",
    String(2 ** 53 - 1),
    String(2 ** 53),
    "9007199254740993",
    "99999999999999",
    "999999999999999",
    "1000000000000000",
    "9999999999999999",
    "123456789012345678",
    "1234567890123456789",
    "10000000000000000000",
    "18446744073709551615",
    "18446744073709551614",
    "18446744069414584320",
  ];
  for (const v of ok) {
    const r = both(text("null", v, v));
    assert(r.fast, v);
    assertEquals(r.lazy!.UpdateEpoch, BigInt(v), v);
    assertEquals(r.lazy!.UpdateSequence, BigInt(v), v);
    const g = r.lazy as GoUpdate;
    assertEquals(BigInt(g.epochHi) * 2n ** 32n + BigInt(g.epochLo), BigInt(v), v);
  }
  for (const v of ["18446744073709551616", "18446744073709551619", "99999999999999999999"]) {
    assert(!both(text("null", v, "1")).fast, `${v} is out of range`);
    assert(!both(text("null", "1", v)).fast, `${v} is out of range`);
  }
  for (const v of ["00", "01", "0018446744073709551615", "123456789012345678901"]) {
    assert(!both(text("null", v, "1")).fast, `${v} is not Go's form`);
  }
  // random values compared with BigInt
  let s = 7n;
  for (let k = 0; k < 2000; k++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    const v = s >> BigInt(k % 64);
    const r = both(text("null", String(v), "3"));
    assert(r.fast);
    assertEquals(r.lazy!.UpdateEpoch, v);
  }
});

Deno.test("scan: the UpdateID's seen key and the re-flood splice come from the whole message", () => {
  const ids = ["AbC123xy", "0", "z", "zzzzzzzz", "123456789", "a-b", "a b~", "x".repeat(64)];
  for (const id of ids) {
    for (const self of ["me", 'w\u00e9<"x', "a".repeat(300)]) {
      const u: RoutingUpdate = {
        NodeID: "node-1",
        UpdateID: id,
        UpdateEpoch: 1n,
        UpdateSequence: 2n,
        Connections: { "node-2": 1, b: 0.5 },
        ForwardingNode: "fwd",
        SuspectedDuplicate: 0n,
      };
      const bytes = encodeRoutingUpdate(u);
      const d = decodeMessage(bytes, true);
      assert(d.ok && d.value.type === MSG_ROUTE && d.value.update instanceof GoUpdate, id);
      const g = d.value.update;
      assertEquals(g.seenKey, seenKey(id), id);
      assertEquals(g.UpdateID, id);
      assertEquals(encodeReflood(g, self), encodeRoutingUpdate({ ...u, ForwardingNode: self }));
      // into a slab with other bytes around (the update store's)
      const slab = new Uint8Array(1000).fill(0xee);
      const out = encodeReflood(g, self, (n) => slab.subarray(100, 100 + n));
      assertEquals(out, encodeRoutingUpdate({ ...u, ForwardingNode: self }));
      assertEquals(slab[99], 0xee);
      assertEquals(slab[100 + out.length], 0xee);
    }
  }
});

Deno.test("lazy decode: the result object is reused, the updates in it are not", () => {
  const m = (node: string) =>
    Uint8Array.of(MSG_ROUTE, ...te.encode(text('{"p":1}', "1", "2", `"${node}"`)));
  const a = decodeMessage(m("first"), true);
  assert(a.ok && a.value.type === MSG_ROUTE);
  const ua = a.value.update;
  const b = decodeMessage(m("second"), true);
  assert(b.ok && b.value.type === MSG_ROUTE);
  const ub = b.value.update;
  assert(ua !== ub && ua instanceof GoUpdate && ub instanceof GoUpdate);
  assertEquals([ua.NodeID, ub.NodeID], ["first", "second"]);
  assertEquals(ua.Connections, { p: 1 });
  // a general decode gives its own result
  const c = decodeMessage(m("third"));
  assert(c.ok && c.value.type === MSG_ROUTE && c !== b);
  assertEquals(b.value.type === MSG_ROUTE && b.value.update.NodeID, "second");
});

Deno.test("scan: the seen key noted by the peek is taken for the same message only", () => {
  const msg = (id: string, node: string) =>
    encodeRoutingUpdate({
      NodeID: node,
      UpdateID: id,
      UpdateEpoch: 1n,
      UpdateSequence: 2n,
      Connections: null,
      ForwardingNode: node,
      SuspectedDuplicate: 0n,
    });
  for (const [a, b] of [["Ab1", "zz9"], ["12345678", "123456789"], ["x", "x".repeat(20)]]) {
    const ma = msg(a, "n1"), mb = msg(b, "n22");
    const end = peekHead(ma);
    assert(end > 0);
    assertEquals(headKey(ma, end), seenKey(a));
    const da = decodeMessage(ma, true);
    assert(da.ok && da.value.type === MSG_ROUTE && da.value.update instanceof GoUpdate);
    const ua = da.value.update;
    assertEquals(ua.seenKey, seenKey(a), "same message: the peeked key");
    peekHead(ma); // peeked again, then another message decoded without a peek
    const db = decodeMessage(mb, true);
    assert(db.ok && db.value.type === MSG_ROUTE && db.value.update instanceof GoUpdate);
    assertEquals(db.value.update.seenKey, seenKey(b), "other message: read from its bytes");
    assertEquals(ua.seenKey, seenKey(a));
  }
});

Deno.test("scan: a failed peek of the same message object leaves no stale seen key", () => {
  const t = (id: string) => text("null").replace('"UpdateID":"x"', `"UpdateID":"${id}"`);
  const buf = Uint8Array.of(MSG_ROUTE, ...te.encode(t("abc")));
  assert(peekHead(buf) > 0, "peeked: key noted");
  // the same object, now with an UpdateID the peek does not take (not alphanumeric) but the
  // scanner does: its key must come from its own bytes
  buf.set(te.encode(t("a-c")), 1);
  assertEquals(peekHead(buf), -1);
  const d = decodeMessage(buf, true);
  assert(d.ok && d.value.type === MSG_ROUTE && d.value.update instanceof GoUpdate);
  assertEquals(d.value.update.seenKey, seenKey("a-c"));
});
