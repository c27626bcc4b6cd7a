/**
 * Sub-millisecond precision in the timestamps Go writes with nanoseconds: own ad `Time` (with
 * the real clock) and remote-unit `Expiration`.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { msToNs, preciseWallMs } from "../../src/clock.ts";
import { expirationAt, expirationMs } from "../../src/work/remote_protocol.ts";
import { parseGoTime } from "../../src/gocompat/time.ts";
import { MeshNode } from "../../src/mesh/mesh_node.ts";
import { Logger } from "../../src/log.ts";

Deno.test("msToNs keeps the fraction; preciseWallMs tracks Date.now with sub-ms detail", () => {
  assertEquals(msToNs(1.5), 1_500_000n);
  assertEquals(msToNs(1_700_000_000_123.25), 1_700_000_000_123_250_000n);
  let fractional = 0;
  for (let i = 0; i < 50; i++) {
    const before = Date.now();
    const p = preciseWallMs();
    assert(p >= before && p < Date.now() + 1, `${p} within the wall-clock ms`);
    if (p % 1 !== 0) fractional++;
  }
  assert(fractional > 0, "some readings carry a sub-millisecond part");
});

Deno.test("Expiration keeps sub-millisecond precision", () => {
  const base = Date.UTC(2026, 0, 1);
  const text = expirationAt(base + 0.25, 60_000); // 250 µs past the millisecond
  assertMatch(text, /:00\.00025([Z+-])/);
  assertEquals(parseGoTime(text)!.unixNs, BigInt(base + 60_000) * 1_000_000n + 250_000n);
  assertEquals(expirationMs(text), base + 60_000);
});

Deno.test("own ad Time carries sub-millisecond digits with the real clock", () => {
  // the shell picks the wall clock (the router reads none): a MeshNode on the real clock
  const r = new MeshNode({ nodeId: "a", logger: new Logger({ level: "error" }) });
  let sub = 0;
  try {
    for (let i = 0; i < 20; i++) {
      r.advertise(`s${i}`, 0, null);
      const t = r.status().advertisements.find((x) => x.Service === `s${i}`)!.Time;
      if (/\.\d{4,9}([Z+-])/.test(t)) sub++;
    }
  } finally {
    r.close();
  }
  assert(sub > 0, "some own ads show more than millisecond digits");
});
