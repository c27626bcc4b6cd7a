import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { ConfigError, parseInvocation, sectionsOf } from "../../src/config/mod.ts";
import { memFiles } from "../fixtures/config/memfs.ts";
import { FakeClock } from "../../src/clock.ts";
import { chooseForRelease, type RetentionUnit } from "../../src/work/retention.ts";
import { selectOwned } from "../../src/work/owner.ts";
import { WorkState } from "../../src/work/status_file.ts";

const MIN = 60_000;

function unit(
  id: string,
  state: number,
  finishedAt: number | null,
  pending = false,
): RetentionUnit {
  return { id, state, finishedAt, releasePending: pending };
}

Deno.test("retention by age: finished units past maxage go, oldest first, as time passes", () => {
  const clock = new FakeClock(100 * MIN);
  const units = [
    unit("new", WorkState.Succeeded, 95 * MIN),
    unit("old", WorkState.Failed, 10 * MIN),
    unit("mid", WorkState.Canceled, 50 * MIN),
    unit("run", WorkState.Running, null),
    unit("pend", WorkState.Pending, null),
  ];
  const ids = () => chooseForRelease(units, { maxAgeMs: 30 * MIN }, clock.now()).map((c) => c.id);
  assertEquals(ids(), ["old", "mid"]);
  clock.advance(30 * MIN); // now 130 min: "new" finished 35 min ago
  assertEquals(ids(), ["old", "mid", "new"]);
  assertEquals(
    chooseForRelease(units, { maxAgeMs: 30 * MIN }, clock.now()).map((c) => c.reason),
    ["age", "age", "age"],
  );
});

Deno.test("retention by count keeps the newest maxcount finished units; active ones never count", () => {
  const clock = new FakeClock(1000 * MIN);
  const units = [
    unit("a", WorkState.Succeeded, 1 * MIN),
    unit("b", WorkState.Succeeded, 2 * MIN),
    unit("c", WorkState.Failed, 3 * MIN),
    unit("d", WorkState.Succeeded, 4 * MIN),
    unit("r1", WorkState.Running, null),
    unit("r2", WorkState.Pending, null),
  ];
  const got = chooseForRelease(units, { maxCount: 2 }, clock.now());
  assertEquals(got.map((c) => [c.id, c.reason]), [["a", "count"], ["b", "count"]]);
  assertEquals(chooseForRelease(units, { maxCount: 4 }, clock.now()), []);
  assertEquals(chooseForRelease(units, {}, clock.now()), [], "no limits: nothing released");
});

Deno.test("retention combines age and count without double counting, and is bounded per sweep", () => {
  const clock = new FakeClock(100 * MIN);
  const units = [
    unit("x1", WorkState.Succeeded, 1 * MIN),
    unit("x2", WorkState.Succeeded, 90 * MIN),
    unit("x3", WorkState.Succeeded, 91 * MIN),
    unit("x4", WorkState.Succeeded, 92 * MIN),
  ];
  const got = chooseForRelease(units, { maxAgeMs: 60 * MIN, maxCount: 2 }, clock.now());
  assertEquals(got.map((c) => [c.id, c.reason]), [["x1", "age"], ["x2", "count"]]);
  const bounded = chooseForRelease(units, { maxCount: 1, maxPerSweep: 2 }, clock.now());
  assertEquals(bounded.map((c) => c.id), ["x1", "x2"]);
});

Deno.test("retention never picks a unit whose release is pending or whose finish time is unknown", () => {
  const clock = new FakeClock(100 * MIN);
  const units = [
    unit("gone", WorkState.Succeeded, 1 * MIN, true),
    unit("nostamp", WorkState.Failed, null),
    unit("ok", WorkState.Succeeded, 2 * MIN),
  ];
  assertEquals(chooseForRelease(units, { maxAgeMs: MIN }, clock.now()).map((c) => c.id), ["ok"]);
  assertEquals(chooseForRelease(units, { maxCount: 0 }, clock.now()), []);
});

Deno.test("selectOwned: by owner and age; active units only when included", () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const iso = (minAgo: number) => new Date(now - minAgo * MIN).toISOString();
  const list = {
    A: { State: 2, Owner: "alice", Created: iso(200), Finished: iso(180) },
    B: { State: 3, Owner: "alice", Created: iso(20), Finished: iso(10) },
    C: { State: 1, Owner: "alice", Created: iso(300), Finished: null },
    D: { State: 2, Owner: "bob", Created: iso(300), Finished: iso(300) },
    E: { State: 2 },
  };
  assertEquals(selectOwned(list, "alice", 60 * MIN, now, false), ["A"]);
  assertEquals(selectOwned(list, "alice", 0, now, false), ["A", "B"]);
  assertEquals(selectOwned(list, "alice", 60 * MIN, now, true), ["A", "C"]);
  assertEquals(selectOwned(list, "carol", 0, now, true), []);
});

Deno.test("config: work-retention durations parsed to ms, bad values name the key", () => {
  const inv = parseInvocation(
    ["--node", "id=a", "--work-retention", "maxage=1h30m", "maxcount=5", "releasegiveup=10s"],
    { readFile: memFiles({}) },
  );
  if (inv.kind !== "node") throw new Error(inv.kind);
  const s = sectionsOf(inv.sections, "work-retention")[0];
  assertEquals([s.maxage, s.maxcount, s.interval, s.releasegiveup], [5_400_000, 5, 60_000, 10_000]);
  for (
    const [arg, part] of [
      ["maxage=soon", "maxage"],
      ["interval=1ms", "interval must be at least 0.1s"],
      ["maxcount=-1", "maxcount must not be negative"],
    ]
  ) {
    const e = assertThrows(
      () =>
        parseInvocation(["--node", "id=a", "--work-retention", arg], { readFile: memFiles({}) }),
    );
    assert(e instanceof ConfigError, String(e));
    assertStringIncludes((e as Error).message, part);
  }
});
