import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { formatGoDuration, parseGoDuration } from "../../src/gocompat/duration.ts";
import { msToNs } from "../../src/clock.ts";

Deno.test("duration: Go units, fractions and sequences", () => {
  const table: [string, number][] = [
    ["0", 0],
    ["300ms", 300],
    ["1.5h", 5_400_000],
    ["30m10s", 1_810_000],
    ["1m30s", 90_000],
    ["21s", 21_000],
    ["-2s", -2000],
    ["+5s", 5000],
    ["1500us", 1.5],
    ["1500\u00b5s", 1.5],
    ["1500\u03bcs", 1.5],
    ["2000000ns", 2],
    [".5s", 500],
    ["1.s", 1000],
    ["10h30m", 37_800_000],
    ["1h1m1s1ms", 3_661_001],
  ];
  for (const [s, ms] of table) assertEquals(parseGoDuration(s), ms, s);
});

Deno.test("duration: Go error messages", () => {
  assertThrows(() => parseGoDuration(""), 'time: invalid duration ""');
  assertThrows(() => parseGoDuration("abc"), 'time: invalid duration "abc"');
  assertThrows(() => parseGoDuration("10"), 'time: missing unit in duration "10"');
  assertThrows(() => parseGoDuration("10x"), 'time: unknown unit "x" in duration "10x"');
  assertThrows(() => parseGoDuration("."), "time: invalid duration");
  assertThrows(() => parseGoDuration("1s2"), 'time: missing unit in duration "1s2"');
  assertThrows(() => parseGoDuration("9999999999h"), "time: invalid duration");
});

Deno.test("duration: formatting like time.Duration.String()", () => {
  assertEquals(formatGoDuration(msToNs(0)), "0s");
  assertEquals(formatGoDuration(msToNs(90_000)), "1m30s");
  assertEquals(formatGoDuration(msToNs(500)), "500ms");
  assertEquals(formatGoDuration(msToNs(37_800_000)), "10h30m0s");
  assertEquals(formatGoDuration(msToNs(1.5)), "1.5ms");
  assertEquals(formatGoDuration(msToNs(0.0015)), "1.5\u00b5s");
});
