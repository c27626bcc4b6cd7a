/** The zero-copy data path: frame reader views, relaying received bytes, coalesced writes. */
import { FrameReader, SMALL_READ_BUFFER, writeFramed } from "../../src/mesh/backends/framing.ts";
import { DataPath, type DataPathHost } from "../../src/mesh/data_path.ts";
import { decodeData, encodeData } from "../../src/mesh/messages.ts";
import { NameTable } from "../../src/mesh/name_table.ts";
import type { RouterOutput } from "../../src/mesh/router_types.ts";
import { StreamLink } from "../../src/mesh/backends/stream_link.ts";
import { Logger } from "../../src/log.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

function framed(msgs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(msgs.reduce((n, m) => n + m.length + 2, 0));
  let pos = 0;
  for (const m of msgs) pos = writeFramed(m, out, pos);
  return out;
}

Deno.test("frame reader: reassembles across any chunking; views are never overwritten", () => {
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) msgs.push(new Uint8Array(1 + (i * 7919) % 65535).fill(i + 1));
  msgs.push(new Uint8Array(65535).fill(0xee));
  const stream = framed([...msgs.slice(0, 3), new Uint8Array(0), ...msgs.slice(3)]);
  for (
    const [step, mode] of [1, 3, 1000, 70_000, 300_000].flatMap((s) => [[s, 0], [s, 1], [s, 2]])
  ) {
    // 0: bulk from the start; 1: small (untrusted) throughout; 2: small, bulk after 10 messages
    const r = mode === 0 ? new FrameReader(140_000) : new FrameReader();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length;) {
      const space = r.space();
      const n = Math.min(step, space.length, stream.length - i);
      space.set(stream.subarray(i, i + n));
      i += n;
      got.push(...r.commit(n));
      if (mode === 2 && got.length >= 10) r.bulk();
    }
    assertEquals(got.length, msgs.length, `step ${step}`);
    // checked only now: later reads must not have clobbered earlier views
    for (let i = 0; i < msgs.length; i++) assertEquals(got[i], msgs[i], `step ${step} msg ${i}`);
    assertEquals(r.pending, 0);
  }
});

Deno.test("frame reader: an untrusted reader stays small, grows for one frame, shrinks after", () => {
  const r = new FrameReader();
  assertEquals(r.capacity, SMALL_READ_BUFFER);
  const big = framed([new Uint8Array(60_000).fill(7)]);
  let got: Uint8Array[] = [];
  for (let i = 0; i < big.length;) {
    const space = r.space();
    assert(r.capacity <= 60_002 + 512, `capacity ${r.capacity} bounded by the frame`);
    const n = Math.min(space.length, big.length - i);
    space.set(big.subarray(i, i + n));
    i += n;
    got = got.concat(r.commit(n));
  }
  assertEquals(got.length, 1);
  assertEquals(got[0].length, 60_000);
  r.space();
  assertEquals(r.capacity, SMALL_READ_BUFFER, "the large buffer is given back");
  assertEquals(got[0][59_999], 7, "a handed-out view is untouched");
});

function host(out: RouterOutput[], bound: string[] = []): DataPathHost {
  const names = new NameTable();
  for (const n of ["a", "b", "c"]) names.add(n);
  return {
    nodeId: "b",
    names,
    logger: new Logger({ level: "error" }),
    maxHops: 30,
    maxMessageBytes: 65535,
    isBound: (s) => bound.includes(s),
    nextHopLink: (n) => n === "c" ? 7 : "no route to node",
    send: (linkId, bytes) => out.push({ kind: "send", linkId, bytes }),
    emit: (o) => out.push(o),
  };
}

Deno.test("data path: an owned relayed message goes out as the same bytes with HTL - 1", () => {
  const out: RouterOutput[] = [];
  const dp = new DataPath(host(out));
  const names = new NameTable();
  const raw = encodeData({
    hopsToLive: 9,
    fromHash: names.add("a"),
    toHash: names.add("c"),
    fromService: "svc1",
    toService: "svc2",
  }, Uint8Array.of(1, 2, 3));
  const expected = raw.slice();
  expected[1] = 8;
  const d = decodeData(raw);
  assert(d.ok);
  dp.receive(d.value, "a", raw);
  assertEquals(out.length, 1);
  const o = out[0];
  assert(o.kind === "send");
  assertEquals(o.linkId, 7);
  assert(o.bytes === raw, "relayed without a copy");
  assertEquals(o.bytes, expected);
  // not owned: a fresh encoding with the same content
  const raw2 = raw.slice();
  raw2[1] = 9;
  const d2 = decodeData(raw2);
  assert(d2.ok);
  dp.receive(d2.value, "a");
  const o2 = out[1];
  assert(o2.kind === "send" && o2.bytes !== raw2);
  assertEquals(o2.kind === "send" ? o2.bytes : undefined, expected);
  assertEquals(raw2[1], 9, "the caller's bytes are untouched");
});

Deno.test("data path: owned local delivery hands over a view, unowned a copy", () => {
  const out: RouterOutput[] = [];
  const dp = new DataPath(host(out, ["svc2"]));
  const names = new NameTable();
  const raw = encodeData({
    hopsToLive: 9,
    fromHash: names.add("a"),
    toHash: names.add("b"),
    fromService: "svc1",
    toService: "svc2",
  }, Uint8Array.of(4, 5));
  const d = decodeData(raw);
  assert(d.ok);
  dp.receive(d.value, "a", raw);
  dp.receive(d.value, "a");
  assertEquals(out.length, 2);
  const [o1, o2] = out;
  assert(o1.kind === "datagram" && o2.kind === "datagram");
  assertEquals(o1.payload, Uint8Array.of(4, 5));
  assert(o1.payload.buffer === raw.buffer, "owned: a view");
  assertEquals(o2.payload, Uint8Array.of(4, 5));
  assert(o2.payload.buffer !== raw.buffer, "unowned: a copy");
});

Deno.test("stream link: send and sendParts are framed into few writes, in order, with short writes", async () => {
  const writes: Uint8Array[] = [];
  let release: (() => void) | undefined;
  const stream = {
    read: () => new Promise<number | null>(() => {}),
    write: async (b: Uint8Array) => {
      if (!release) await new Promise<void>((r) => release = r); // hold the first write
      const n = Math.min(b.length, 50_000); // short writes
      writes.push(b.slice(0, n));
      return n;
    },
    close: () => {},
  };
  const link = new StreamLink(
    stream,
    { cost: 1, description: "test" },
    new Logger({ level: "error" }),
  );
  link.established(); // a trusted link coalesces into the large shared buffers
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) msgs.push(new Uint8Array(1 + i * 1000).fill(i));
  // every other message goes as head + a tail buffer the caller overwrites at once
  const scratch = new Uint8Array(70_000);
  msgs.forEach((m, i) => {
    if (i % 2 === 0 || m.length < 2) return link.send(m);
    scratch.set(m.subarray(1));
    link.sendParts(m.subarray(0, 1), scratch.subarray(0, m.length - 1));
    scratch.fill(0xff);
  });
  await new Promise((r) => setTimeout(r, 0));
  release!();
  const total = msgs.reduce((n, m) => n + m.length + 2, 0);
  const deadline = Date.now() + 5000;
  while (writes.reduce((n, w) => n + w.length, 0) < total && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const all = new Uint8Array(total);
  let pos = 0;
  for (const w of writes) {
    all.set(w, pos);
    pos += w.length;
  }
  assertEquals(pos, total);
  assertEquals(all, framed(msgs));
  assert(writes.length < msgs.length, `coalesced (${writes.length} writes)`);
  link.close();
});
