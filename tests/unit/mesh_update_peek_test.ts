import { assertEquals } from "../helpers/assert.ts";
import {
  decodeMessage,
  encodeReflood,
  encodeRoutingUpdate,
  type RoutingUpdate,
} from "../../src/mesh/messages.ts";
import { peekUpdateId, peekUpdateNode } from "../../src/mesh/update_peek.ts";

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
