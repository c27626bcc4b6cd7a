import { assert, assertEquals } from "../helpers/assert.ts";
import {
  FIRST_TRIM_NATIVE,
  loadTrim,
  makeReclaimer,
  nativePrivate,
  ReclaimPolicy,
  type TrimRuntime,
} from "../../src/node/memory.ts";
import { Logger } from "../../src/log.ts";

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

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ level: "debug", sink: (l) => lines.push(l) }), lines };
}

const noOpen = (): never => {
  throw new Error("dlopen must not be tried here");
};

const linux = (open: TrimRuntime["open"], ffi = true): TrimRuntime => ({
  os: "linux",
  ffiGranted: () => ffi,
  open,
});

Deno.test("memory: the trim hook calls malloc_trim(0) from the library it opened once", () => {
  const { logger, lines } = capture();
  const calls: bigint[] = [];
  let opened = 0;
  const trim = loadTrim(
    logger,
    linux(() => {
      opened++;
      return (pad) => (calls.push(pad), 1);
    }),
  );
  assert(trim !== null, "a Linux runtime with FFI and glibc gives a trim hook");
  trim();
  trim();
  assertEquals(calls, [0n, 0n]);
  assertEquals(opened, 1);
  assertEquals(lines, [], "nothing to report");
});

Deno.test("memory: no trim hook, one log line and no dlopen where it cannot work", () => {
  for (
    const [rt, why] of [
      [{ ...linux(noOpen), os: "darwin" }, "this is darwin"],
      [linux(noOpen, false), "needs --allow-ffi"],
      [
        linux(() => {
          throw new Error("Could not open library: libc.so.6: cannot open shared object file");
        }),
        "no glibc malloc_trim: Could not open library",
      ],
    ] as [TrimRuntime, string][]
  ) {
    const { logger, lines } = capture();
    assertEquals(loadTrim(logger, rt), null);
    assertEquals(lines.length, 1, lines.join("\n"));
    assert(lines[0].includes(why), lines[0]);
  }
});

Deno.test("memory: a reclaim loads its hooks once and survives a step that is missing or throws", async () => {
  const { logger, lines } = capture();
  const ran: string[] = [];
  let gcLoads = 0;
  let trimLoads = 0;
  const reclaim = makeReclaimer(logger, {
    trimPools: () => {
      ran.push("pools");
      throw new Error("pool broke");
    },
    loadGc: () => (gcLoads++, Promise.resolve(() => void ran.push("gc"))),
    loadTrim: () => (trimLoads++, null), // e.g. no FFI: skipped
  });
  await reclaim();
  await reclaim();
  await reclaim();
  assertEquals(ran, ["pools", "gc", "pools", "gc", "pools", "gc"]);
  assertEquals([gcLoads, trimLoads], [1, 1], "hooks loaded on the first reclaim only");
  assertEquals(lines.length, 1, "a failing step is logged once: " + lines.join("\n"));
  assert(lines[0].includes("pools") && lines[0].includes("pool broke"), lines[0]);
});

Deno.test("memory: the real trim hook on this Linux/glibc host opens libc and trims", () => {
  if (Deno.build.os !== "linux") return; // glibc's call: elsewhere the null case above applies
  const { logger, lines } = capture();
  const trim = loadTrim(logger);
  assert(trim !== null, "malloc_trim through FFI: " + lines.join("\n"));
  trim(); // returns: the FFI signature matches glibc's
});

Deno.test({
  name: "memory: without FFI permission the real hook is off, logged once, and never prompts",
  permissions: { ffi: false, read: true, env: true },
  fn() {
    const { logger, lines } = capture();
    assertEquals(loadTrim(logger), null);
    assertEquals(lines.length, 1);
    // "--allow-ffi", not a dlopen error: the permission was checked before any dlopen
    assert(lines[0].includes(Deno.build.os === "linux" ? "--allow-ffi" : "this is"), lines[0]);
  },
});

Deno.test("memory: native private memory is RssAnon minus V8's heap (first-idle trim input)", () => {
  const status = "Name:\tdeno\nVmRSS:\t   61000 kB\nRssAnon:\t   26624 kB\nRssFile:\t  34000 kB\n";
  assertEquals(nativePrivate(status, 9 * MiB), 17 * MiB);
  assert(nativePrivate(status, 9 * MiB)! > FIRST_TRIM_NATIVE, "a first start's 17 MiB trims");
  assert(nativePrivate(status.replace("26624", "15564"), 9 * MiB)! < FIRST_TRIM_NATIVE, "warm");
  assertEquals(nativePrivate("Name:\tdeno\n", 0), null, "no RssAnon line: unknown");
  if (Deno.build.os === "linux") {
    const own = nativePrivate(Deno.readTextFileSync("/proc/self/status"), 0);
    assert(own !== null && own > 0, "this process's /proc/self/status has RssAnon");
  }
});
