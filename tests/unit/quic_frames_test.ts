/** Varint, frame, transport-parameter and packet-number round trips. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { encodeFrame, type Frame, parseFrames, writeAckFrame } from "../../src/quic/frame.ts";
import { Reader, Writer } from "../../src/quic/varint.ts";
import { RangeSet } from "../../src/quic/range_set.ts";
import { decodePacketNumber } from "../../src/quic/packet.ts";
import {
  decodeTransportParameters,
  defaultTransportParameters,
  encodeTransportParameters,
} from "../../src/quic/transport_parameters.ts";
import { QuicError } from "../../src/quic/errors.ts";

Deno.test("quic varint: RFC 9000 §A.1 examples and round trips", () => {
  const cases: Array<[string, number]> = [
    ["c2197c5eff14e88c", 151288809941952652],
    ["9d7f3e7d", 494878333],
    ["7bbd", 15293],
    ["25", 37],
    ["4025", 37],
  ];
  for (const [hex, v] of cases) {
    const b = Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
    assertEquals(new Reader(b).varint(), v);
  }
  for (const v of [0, 63, 64, 16383, 16384, 1073741823, 1073741824, 2 ** 40 + 5, 2 ** 53 - 1]) {
    const w = new Writer(new Uint8Array(8));
    w.varint(v);
    assertEquals(new Reader(w.view()).varint(), v);
  }
});

Deno.test("quic frames: every frame type round-trips", () => {
  const frames: Frame[] = [
    { type: "padding", length: 3 },
    { type: "ping" },
    { type: "ack", largest: 1000, delay: 12, ranges: [[990, 1000], [900, 980], [0, 10]] },
    { type: "ack", largest: 5, delay: 0, ranges: [[5, 5]], ecn: [1, 2, 3] },
    { type: "reset_stream", id: 4, code: 77, finalSize: 123456 },
    { type: "stop_sending", id: 8, code: 499 },
    { type: "crypto", offset: 70000, data: new Uint8Array([1, 2, 3]) },
    { type: "new_token", token: new Uint8Array([9, 9]) },
    { type: "stream", id: 12, offset: 99999, data: new Uint8Array([4, 5]), fin: true },
    { type: "stream", id: 0, offset: 0, data: new Uint8Array(0), fin: false },
    { type: "max_data", max: 2 ** 40 },
    { type: "max_stream_data", id: 3, max: 5 },
    { type: "max_streams", bidi: true, max: 100 },
    { type: "max_streams", bidi: false, max: 7 },
    { type: "data_blocked", limit: 9 },
    { type: "stream_data_blocked", id: 1, limit: 2 },
    { type: "streams_blocked", bidi: false, limit: 3 },
    {
      type: "new_connection_id",
      seq: 1,
      retirePriorTo: 0,
      cid: new Uint8Array([1, 2, 3, 4]),
      resetToken: new Uint8Array(16).fill(7),
    },
    { type: "retire_connection_id", seq: 1 },
    { type: "path_challenge", data: new Uint8Array(8).fill(1) },
    { type: "path_response", data: new Uint8Array(8).fill(2) },
    {
      type: "connection_close",
      isApplication: false,
      code: 0x10a,
      frameType: 6,
      reason: "bad cert",
    },
    {
      type: "connection_close",
      isApplication: true,
      code: 500,
      frameType: 0,
      reason: "Accept Timeout",
    },
    { type: "handshake_done" },
  ];
  const w = new Writer(new Uint8Array(4096));
  for (const f of frames) encodeFrame(w, f);
  const back = parseFrames(w.view());
  assertEquals(back, frames);
});

Deno.test("quic frames: ACK writer matches the received ranges and respects its budget", () => {
  const rs = new RangeSet();
  for (let i = 0; i < 100; i++) if (i % 7 !== 3) rs.insert(i, i + 1);
  const w = new Writer(new Uint8Array(256));
  assert(writeAckFrame(w, rs, 5, 256), "fits");
  const [f] = parseFrames(w.view());
  assert(f.type === "ack");
  assertEquals(f.largest, 99);
  for (const [lo, hi] of f.ranges) {
    for (let pn = lo; pn <= hi; pn++) assert(pn % 7 !== 3, `pn ${pn} acked`);
  }
  const small = new Writer(new Uint8Array(20));
  assert(writeAckFrame(small, rs, 5, 20), "truncated ACK still written");
  assert(small.pos <= 20);
});

Deno.test("quic frames: malformed input raises FRAME_ENCODING_ERROR, never anything else", () => {
  const bad = [[0x06, 0x00, 0x10, 1], [0x40], [0x1f], [0x18, 1, 0, 30], [0x02, 5, 0, 0, 9]];
  for (const b of bad) {
    try {
      parseFrames(new Uint8Array(b));
      throw new Error(`accepted ${b}`);
    } catch (e) {
      assert(e instanceof QuicError, `typed error for ${b}: ${e}`);
    }
  }
});

Deno.test("quic transport parameters round-trip and reject duplicates", () => {
  const p = defaultTransportParameters();
  p.maxIdleTimeout = 30000;
  p.initialMaxData = 786432;
  p.initialMaxStreamDataBidiLocal = 524288;
  p.initialMaxStreamsBidi = 100;
  p.disableActiveMigration = true;
  p.activeConnectionIdLimit = 4;
  p.initialSourceConnectionId = new Uint8Array([1, 2, 3, 4]);
  p.originalDestinationConnectionId = new Uint8Array([5, 6, 7, 8, 9, 10, 11, 12]);
  p.statelessResetToken = new Uint8Array(16).fill(3);
  const back = decodeTransportParameters(encodeTransportParameters(p), true);
  assertEquals(back, p);
  let threw = false;
  try {
    decodeTransportParameters(new Uint8Array([0x01, 1, 5, 0x01, 1, 5]), true);
  } catch (e) {
    threw = e instanceof QuicError && e.code === 0x8;
  }
  assert(threw, "duplicate parameter rejected");
});

Deno.test("quic packet numbers: RFC 9000 §A.3 example", () => {
  assertEquals(decodePacketNumber(0xa82f30ea, 0x9b32, 2), 0xa82f9b32);
});
