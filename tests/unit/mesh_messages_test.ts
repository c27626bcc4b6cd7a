import {
  decodeMessage,
  decodeRoutingUpdate,
  decodeServiceAd,
  encodeData,
  encodeRoutingUpdate,
  encodeServiceAd,
  encodeUnreachable,
  MSG_DATA,
  MSG_ROUTE,
  MSG_SERVICE_AD,
  REJECT_MESSAGE,
  type RoutingUpdate,
} from "../../src/mesh/messages.ts";
import { nodeHash } from "../../src/mesh/highwayhash.ts";
import { encodeGoJson, parseJsonLossless, RawNumber } from "../../src/gocompat/json_lossless.ts";
import { formatGoTime, parseGoTime } from "../../src/gocompat/time.ts";
import { formatGoDuration } from "../../src/gocompat/duration.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const te = new TextEncoder();
const td = new TextDecoder();

const FRAME_15_2 = hex(`
9d 00 01 7b 22 4e 6f 64 65 49 44 22 3a 22 6e 6f
64 65 31 22 2c 22 55 70 64 61 74 65 49 44 22 3a
22 41 62 43 64 31 32 33 34 22 2c 22 55 70 64 61
74 65 45 70 6f 63 68 22 3a 32 38 39 39 31 30 32
39 32 34 39 31 39 33 30 34 36 2c 22 55 70 64 61
74 65 53 65 71 75 65 6e 63 65 22 3a 31 2c 22 43
6f 6e 6e 65 63 74 69 6f 6e 73 22 3a 7b 7d 2c 22
46 6f 72 77 61 72 64 69 6e 67 4e 6f 64 65 22 3a
22 6e 6f 64 65 31 22 2c 22 53 75 73 70 65 63 74
65 64 44 75 70 6c 69 63 61 74 65 22 3a 30 7d`);

Deno.test("messages: §15.2 initial routing update byte for byte (without TCP prefix)", () => {
  const u: RoutingUpdate = {
    NodeID: "node1",
    UpdateID: "AbCd1234",
    UpdateEpoch: 28991029249193046n,
    UpdateSequence: 1n,
    Connections: {},
    ForwardingNode: "node1",
    SuspectedDuplicate: 0n,
  };
  assertEquals(0x0066ff3000123456n, 1728000000n * (1n << 24n) + 0x123456n);
  const msg = encodeRoutingUpdate(u);
  assertEquals(msg.length, 157);
  assertEquals([...msg], [...FRAME_15_2.subarray(2)]);
  const d = decodeMessage(msg);
  assert(d.ok && d.value.type === MSG_ROUTE);
  assertEquals(d.value.update, u);
  const u2 = { ...u, UpdateID: "Zz9Yy8Xx", UpdateSequence: 2n, Connections: { node2: 1 } };
  const m2 = encodeRoutingUpdate(u2);
  assertEquals(m2.length, 166);
  assert(td.decode(m2).includes(`"Connections":{"node2":1}`));
});

Deno.test("messages: epochs above 2^53 round-trip exactly; Go-style key folding", () => {
  const big = (1n << 63n) + 12345n;
  const text = `{"nodeid":"a","UPDATEEPOCH":${big},"updatesequence":18446744073709551615,` +
    `"Connections":{"b":1.5,"c":2.25},"forwardingnode":"a","SuspectedDuplicate":${big - 1n},"x":1}`;
  const d = decodeRoutingUpdate(te.encode(text));
  assert(d.ok);
  assertEquals(d.value.UpdateEpoch, big);
  assertEquals(d.value.UpdateSequence, 18446744073709551615n);
  assertEquals(d.value.SuspectedDuplicate, big - 1n);
  assertEquals(d.value.Connections, { b: 1.5, c: 2.25 });
  const re = td.decode(encodeRoutingUpdate(d.value).subarray(1));
  assertEquals(
    re,
    `{"NodeID":"a","UpdateID":"","UpdateEpoch":${big},"UpdateSequence":18446744073709551615,` +
      `"Connections":{"b":1.5,"c":2.25},"ForwardingNode":"a","SuspectedDuplicate":${big - 1n}}`,
  );
});

Deno.test("messages: bad routing-update JSON yields typed errors", () => {
  const cases: [string, string][] = [
    ["{", "bad-json"],
    [`[]`, "bad-field"],
    [`{"UpdateEpoch":1.5}`, "bad-field"],
    [`{"UpdateEpoch":-1}`, "bad-field"],
    [`{"UpdateEpoch":1e3}`, "bad-field"],
    [`{"UpdateEpoch":18446744073709551616}`, "bad-field"],
    [`{"NodeID":5}`, "bad-field"],
    [`{"Connections":{"a":"x"}}`, "bad-field"],
    [`{"Connections":[1]}`, "bad-field"],
  ];
  for (const [text, code] of cases) {
    const d = decodeRoutingUpdate(te.encode(text));
    assert(!d.ok, text);
    assertEquals(d.error.code, code, text);
  }
  const n = decodeRoutingUpdate(te.encode("null"));
  assert(n.ok && n.value.NodeID === "" && n.value.Connections === null);
});

Deno.test("messages: empty, truncated, unknown type", () => {
  const e = decodeMessage(new Uint8Array(0));
  assert(!e.ok && e.error.code === "empty");
  const t = decodeMessage(new Uint8Array(35));
  assert(!t.ok && t.error.code === "truncated");
  const u = decodeMessage(Uint8Array.of(9, 1, 2));
  assert(!u.ok && u.error.code === "unknown-type");
  const r = decodeMessage(REJECT_MESSAGE);
  assert(r.ok && r.value.type === 3);
  assertEquals([...REJECT_MESSAGE], [0x03, 0x5b, 0x5d]);
});

Deno.test("messages: §15.4 ping request and reply headers", () => {
  const req = encodeData({
    hopsToLive: 29,
    fromHash: nodeHash("node1"),
    toHash: nodeHash("node2"),
    fromService: "Xy12ab34",
    toService: "ping",
  }, new Uint8Array(0));
  assertEquals(
    [...req],
    [...hex(`00 1d 00 00  61 05 2d 2b 58 2e b1 5e  51 bc c6 e1 4e b3 fe e1
      58 79 31 32 61 62 33 34  70 69 6e 67 00 00 00 00`)],
  );
  const rep = encodeData({
    hopsToLive: 29,
    fromHash: nodeHash("node2"),
    toHash: nodeHash("node1"),
    fromService: "ping",
    toService: "Xy12ab34",
  }, new Uint8Array(0));
  assertEquals(
    [...rep],
    [...hex(`00 1d 00 00  51 bc c6 e1 4e b3 fe e1  61 05 2d 2b 58 2e b1 5e
      70 69 6e 67 00 00 00 00  58 79 31 32 61 62 33 34`)],
  );
  const d = decodeMessage(rep);
  assert(d.ok && d.value.type === MSG_DATA);
  assertEquals(d.value.data.fromService, "ping");
  assertEquals(d.value.data.toService, "Xy12ab34");
  assertEquals(d.value.data.hopsToLive, 29);
  assertEquals(d.value.data.fromHash, nodeHash("node2"));
  assertEquals(d.value.data.payload.length, 0);
});

Deno.test("messages: §15.5 unreachable", () => {
  const json = encodeUnreachable({
    FromNode: "node1",
    ToNode: "node2",
    FromService: "Xy12ab34",
    ToService: "foo",
    Problem: "service unknown",
  });
  assertEquals(json.length, 108);
  assertEquals(
    td.decode(json),
    `{"FromNode":"node1","ToNode":"node2","FromService":"Xy12ab34","ToService":"foo","Problem":"service unknown"}`,
  );
  const msg = encodeData({
    hopsToLive: 29,
    fromHash: nodeHash("node2"),
    toHash: nodeHash("node1"),
    fromService: "unreach",
    toService: "unreach",
  }, json);
  assertEquals(msg.length, 144);
  assertEquals(
    [...msg.subarray(0, 36)],
    [...hex(`00 1d 00 00  51 bc c6 e1 4e b3 fe e1  61 05 2d 2b 58 2e b1 5e
      75 6e 72 65 61 63 68 00  75 6e 72 65 61 63 68 00`)],
  );
});

Deno.test("messages: §15.6 service advertisement", () => {
  const text =
    `{"NodeID":"node1","Service":"control","Time":"2024-10-04T00:00:00.5Z","ConnType":1,"Tags":{"type":"Control Service"},"WorkCommands":[{"WorkType":"echo","Secure":false}],"Cancel":false}`;
  assertEquals(text.length, 184);
  const d = decodeServiceAd(te.encode(text));
  assert(d.ok);
  assertEquals(d.value.Time, { unixNs: 1728000000500000000n, offsetSec: 0 });
  const msg = encodeServiceAd(d.value);
  assertEquals(msg.length, 185);
  assertEquals(msg[0], MSG_SERVICE_AD);
  assertEquals(td.decode(msg.subarray(1)), text);
  const bad = decodeServiceAd(te.encode(`{"Time":"yesterday"}`));
  assert(!bad.ok && bad.error.code === "bad-field");
});

Deno.test("json: Go-style emission (escapes, sorted maps, shortest floats)", () => {
  assertEquals(
    encodeGoJson({ B: "<a&b>", A: new Map([["z", 1], ["a", 1.5], ["m", 2.25]]), C: 1e-7 }),
    `{"B":"\\u003ca\\u0026b\\u003e","A":{"a":1.5,"m":2.25,"z":1},"C":1e-7}`,
  );
  const v = parseJsonLossless(`{"UpdateEpoch":28991029249193047}`, new Set(["updateepoch"]));
  assert(typeof v === "object" && v !== null && !Array.isArray(v));
  assertEquals((v as Record<string, RawNumber>).UpdateEpoch.source, "28991029249193047");
});

Deno.test("go time: RFC 3339 parse/format with nanoseconds and zones", () => {
  for (
    const s of [
      "2024-10-04T00:00:00.5Z",
      "2024-10-24T16:36:52.1234-04:00",
      "2024-02-29T23:59:59.999999999+05:30",
      "0001-01-01T00:00:00Z",
    ]
  ) {
    const t = parseGoTime(s);
    assert(t, s);
    assertEquals(formatGoTime(t), s);
  }
  assertEquals(
    formatGoTime(parseGoTime("2024-10-04T00:00:00.500+00:00")!),
    "2024-10-04T00:00:00.5Z",
  );
  assertEquals(parseGoTime("2024-02-30T00:00:00Z"), undefined);
  assertEquals(
    parseGoTime("2024-10-04T01:00:00+01:00")!.unixNs,
    parseGoTime("2024-10-04T00:00:00Z")!.unixNs,
  );
});

Deno.test("go duration: String() forms", () => {
  assertEquals(formatGoDuration(0n), "0s");
  assertEquals(formatGoDuration(1_500_000_000n), "1.5s");
  assertEquals(formatGoDuration(123_400_000_000n), "2m3.4s");
  assertEquals(formatGoDuration(850_123n), "850.123µs");
  assertEquals(formatGoDuration(12_000_000n), "12ms");
  assertEquals(formatGoDuration(850n), "850ns");
  assertEquals(formatGoDuration(3_600_000_000_000n), "1h0m0s");
  assertEquals(formatGoDuration(-1_000_000n), "-1ms");
});
