import { assertEquals } from "../helpers/assert.ts";
import { RedialBackoff, StartupBackoff } from "../../src/mesh/backends/redial.ts";

Deno.test("redial: before the first session 0.1 s doubling, then upstream's 5 … 20 s", () => {
  const b = new StartupBackoff();
  const seq = Array.from({ length: 11 }, () => b.failure());
  assertEquals(seq, [100, 200, 400, 800, 1600, 3200, 5000, 7500, 11250, 16875, 20000]);
});

Deno.test("redial: after a session only upstream's back-off, even on the first failure", () => {
  const b = new StartupBackoff();
  assertEquals(b.failure(), 100);
  b.success();
  assertEquals([b.failure(), b.failure()], [5000, 7500]);
  b.success();
  assertEquals(b.failure(), 5000);
  assertEquals(new RedialBackoff().failure(), 5000);
});
