import { assertEquals } from "../helpers/assert.ts";
import { ReclaimPolicy } from "../../src/node/memory.ts";

const MiB = 1048576;

Deno.test("memory: first reclaim once idle after start; then only above rest + 10%", () => {
  const p = new ReclaimPolicy();
  assertEquals(p.sample(60 * MiB, 0.5), false, "busy starting");
  assertEquals(p.sample(60 * MiB, 0.01), false, "one idle sample is not enough");
  assertEquals(p.sample(60 * MiB, 0.01), true, "start-up garbage");
  p.reclaimed(50 * MiB);
  assertEquals(p.threshold, 55 * MiB);
  assertEquals(p.sample(120 * MiB, 0.8), false, "busy");
  assertEquals(p.sample(120 * MiB, 0.01), false);
  assertEquals(p.sample(120 * MiB, 0.01), true);
  p.reclaimed(45 * MiB);
  assertEquals(p.threshold, 55 * MiB, "the resting level only rises");
  assertEquals(p.sample(54 * MiB, 0), false);
  assertEquals(p.sample(54 * MiB, 0), false, "within 10% of rest: nothing to do");
});

Deno.test("memory: what a reclaim could not free becomes the new resting level", () => {
  const p = new ReclaimPolicy({ idleSamples: 1 });
  p.reclaimed(50 * MiB);
  assertEquals(p.sample(100 * MiB, 0), true);
  p.reclaimed(80 * MiB);
  assertEquals(p.sample(85 * MiB, 0), false, "no GC loop while idle at a higher floor");
  assertEquals(p.sample(90 * MiB, 0), true, "grew 10% again");
});

Deno.test("memory: a floor left by a reclaim during use is retried, backing off while it stays", () => {
  const p = new ReclaimPolicy({ idleSamples: 1, retryAfter: 3, maxRetryAfter: 12 });
  p.reclaimed(50 * MiB); // start-up level
  assertEquals(p.sample(120 * MiB, 0), true);
  p.reclaimed(110 * MiB); // still in use when it ran
  assertEquals(p.sample(110 * MiB, 0), false);
  assertEquals(p.sample(110 * MiB, 0), false);
  assertEquals(p.sample(110 * MiB, 0), true, "retried after retryAfter samples");
  p.reclaimed(100 * MiB); // freed some, not back at start-up level: back off (6)
  for (let i = 0; i < 5; i++) assertEquals(p.sample(100 * MiB, 0), false, `sample ${i}`);
  assertEquals(p.sample(100 * MiB, 0), true, "after the doubled wait");
  p.reclaimed(52 * MiB); // the memory was freed now
  for (let i = 0; i < 10; i++) assertEquals(p.sample(53 * MiB, 0), false, "back at rest: quiet");
});

Deno.test("memory: a fresh node's first idle moment only notes the resting level", () => {
  const p = new ReclaimPolicy({}, 50 * MiB);
  assertEquals(p.sample(55 * MiB, 0.5), false, "busy starting");
  assertEquals(p.sample(55 * MiB, 0.01), false);
  assertEquals(p.sample(55 * MiB, 0.01), true);
  assertEquals(p.noteOnly, true, "start-up level: no GC");
  p.reclaimed(55 * MiB);
  assertEquals(p.sample(120 * MiB, 0), false);
  assertEquals(p.sample(120 * MiB, 0), true);
  assertEquals(p.noteOnly, false, "grown since: reclaim");
});

Deno.test("memory: a node busy from its start reclaims at its first idle moment", () => {
  // work arrived before the node ever idled: its first idle RSS is a burst's peak, not rest
  const p = new ReclaimPolicy({}, 50 * MiB);
  for (let i = 0; i < 5; i++) assertEquals(p.sample(40 * MiB + i * 20 * MiB, 0.4), false);
  assertEquals(p.sample(128 * MiB, 0.01), false);
  assertEquals(p.sample(128 * MiB, 0.01), true);
  assertEquals(p.noteOnly, false, "128 MiB is not the resting level: reclaim");
  p.reclaimed(60 * MiB);
  assertEquals(p.threshold, 66 * MiB, "the level after that reclaim is the resting level");
  assertEquals(p.sample(64 * MiB, 0), false);
  assertEquals(p.sample(64 * MiB, 0), false, "at rest: quiet");
});
