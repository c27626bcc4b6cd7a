import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { FrameDecoder, frameMessage } from "../../src/mesh/backends/framing.ts";
import { RedialBackoff, splitHostPort } from "../../src/mesh/backends/redial.ts";

Deno.test("framing: reject vector frames as 03 00 03 5b 5d (wire.md 15.3)", () => {
  assertEquals(
    frameMessage(new Uint8Array([3, 0x5b, 0x5d])),
    new Uint8Array([3, 0, 3, 0x5b, 0x5d]),
  );
});

Deno.test("framing: empty and oversize messages are refused", () => {
  assertThrows(() => frameMessage(new Uint8Array(0)), "empty");
  assertThrows(() => frameMessage(new Uint8Array(65536)), "exceeds");
});

Deno.test("framing: decoder reassembles across arbitrary chunk boundaries", () => {
  const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7), new Uint8Array([9])];
  const stream = new Uint8Array(msgs.reduce((n, m) => n + m.length + 2, 0));
  let o = 0;
  for (const m of msgs) {
    stream.set(frameMessage(m), o);
    o += m.length + 2;
  }
  for (const step of [1, 2, 3, 7, 1000]) {
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += step) got.push(...d.push(stream.subarray(i, i + step)));
    assertEquals(got, msgs, `step ${step}`);
    assertEquals(d.pending, 0);
  }
});

Deno.test("framing: zero-length frames from a hostile peer are skipped, not delivered", () => {
  const d = new FrameDecoder();
  assertEquals(d.push(new Uint8Array([0, 0, 1, 0, 5])), [new Uint8Array([5])]);
});

Deno.test("redial: 5, 7.5, 11.25, 16.875, then 20 s; success resets", () => {
  const b = new RedialBackoff();
  assertEquals([b.failure(), b.failure(), b.failure(), b.failure(), b.failure(), b.failure()], [
    5000,
    7500,
    11250,
    16875,
    20000,
    20000,
  ]);
  b.success();
  assertEquals(b.failure(), 5000);
});

Deno.test("redial: host:port parsing incl. IPv6 and errors", () => {
  assertEquals(splitHostPort("localhost:2222"), { host: "localhost", port: 2222 });
  assertEquals(splitHostPort("[::1]:7323"), { host: "::1", port: 7323 });
  assertThrows(() => splitHostPort("nohost"), "expected host:port");
});
