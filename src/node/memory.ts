/**
 * Gives memory back when the node is idle. After a burst of work V8 keeps garbage (dead
 * ArrayBuffers from streams, finished units' objects) until its next allocation-driven GC,
 * which an idle process never reaches, and glibc keeps freed pages in its arenas; RSS then
 * stays at the peak (measured: 57 MiB idle → 170 MiB after 250 remote units, unchanged
 * minutes later). So, sampled every few seconds: once the process used almost no CPU for two
 * samples in a row after start-up its RSS is the resting level, and whenever it is idle again
 * with RSS more than 10% above that level, run a full GC and glibc's `malloc_trim(0)` (through
 * FFI; skipped where there is no glibc or no FFI permission). Busy nodes are never interrupted.
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { runIdleTrims } from "../util/idle_trim.ts";
import type { Logger } from "../log.ts";

/** Tunables of {@link ReclaimPolicy}. */
export interface ReclaimOptions {
  /** Reclaim when RSS exceeds the resting level by more than this fraction (0.1). */
  growth: number;
  /** CPU share (0..1) under which a sample counts as idle (0.03). */
  idleCpu: number;
  /** Consecutive idle samples needed (2). */
  idleSamples: number;
  /**
   * Samples after which an idle node still above its start-up level (+ growth) tries again
   * (30, i.e. a minute at 2 s); doubled after each retry that did not get there, up to
   * `maxRetryAfter` (480).
   */
  retryAfter: number;
  maxRetryAfter: number;
  /**
   * At the first idle moment, RSS more than this fraction (0.5) above the level sampling
   * started at means the node went busy before it ever idled (work arrived right after start):
   * reclaim then instead of taking that peak as the resting level.
   */
  startGrowth: number;
}

const DEFAULTS: ReclaimOptions = {
  growth: 0.1,
  idleCpu: 0.03,
  idleSamples: 2,
  retryAfter: 30,
  maxRetryAfter: 480,
  startGrowth: 0.5,
};

/** Decides, sample by sample, when to reclaim; pure (no clock, no I/O). */
export class ReclaimPolicy {
  readonly #o: ReclaimOptions;
  /** RSS at the first idle moment after start-up: the level memory should come back to. */
  #base: number | null = null;
  /** RSS right after the last reclaim. */
  #floor = 0;
  #idleRun = 0;
  #sinceReclaim = 0;
  #retryAfter: number;
  /** The last `true` from {@link sample} came from the retry rule. */
  #retrying = false;
  /** RSS when sampling started (null: unknown). */
  readonly #start: number | null;
  #noteOnly = false;

  /** `startRss`: RSS when sampling starts (after initialisation), when known. */
  constructor(opts: Partial<ReclaimOptions> = {}, startRss: number | null = null) {
    this.#o = { ...DEFAULTS, ...opts };
    this.#start = startRss;
    this.#retryAfter = this.#o.retryAfter;
  }

  /**
   * The RSS level (bytes) above which an idle node reclaims at once: 10% over the larger of
   * the start-up level and what the last reclaim left; null until the first idle moment.
   */
  get threshold(): number | null {
    if (this.#base === null) return null;
    return Math.round(Math.max(this.#base, this.#floor) * (1 + this.#o.growth));
  }

  /**
   * The last `true` from {@link sample} was a fresh node's first idle moment: only note the
   * resting level ({@link reclaimed} with the current RSS), do not reclaim.
   */
  get noteOnly(): boolean {
    return this.#noteOnly;
  }

  /**
   * One sample: RSS in bytes and the CPU share used since the last one. True = reclaim now
   * (or, when {@link noteOnly}, note the resting level).
   */
  sample(rss: number, cpuShare: number): boolean {
    this.#sinceReclaim++;
    this.#idleRun = cpuShare < this.#o.idleCpu ? this.#idleRun + 1 : 0;
    if (this.#idleRun < this.#o.idleSamples) return false;
    this.#retrying = false;
    this.#noteOnly = false;
    if (this.#base === null) {
      // A node that was busy from its start (units submitted at once) is at its peak now:
      // taking that as the resting level would never reclaim it (measured: 128 MiB kept
      // after 150 remote units, against 57 MiB at rest).
      this.#noteOnly = this.#start === null || rss <= this.#start * (1 + this.#o.startGrowth);
      return true;
    }
    if (rss > this.threshold!) return true;
    // a reclaim that ran while memory was still in use must not raise the floor for good
    this.#retrying = this.#sinceReclaim >= this.#retryAfter &&
      rss > this.#base * (1 + this.#o.growth);
    return this.#retrying;
  }

  /** After a reclaim (or, the first time, the first idle moment): what is left. */
  reclaimed(rssAfter: number): void {
    this.#base ??= rssAfter;
    if (rssAfter <= this.#base * (1 + this.#o.growth)) this.#retryAfter = this.#o.retryAfter;
    else if (this.#retrying) {
      this.#retryAfter = Math.min(this.#retryAfter * 2, this.#o.maxRetryAfter);
    }
    this.#floor = rssAfter;
    this.#idleRun = 0;
    this.#sinceReclaim = 0;
  }
}

/** CPU seconds (user + system) of this process, from /proc/self/stat; null if unavailable. */
function selfCpuSeconds(): number | null {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** A full GC (with `gc`) and malloc_trim, as far as this runtime allows. */
export type Reclaim = () => Promise<void>;

/**
 * The explicit GC: `globalThis.gc` when V8 runs with `--expose-gc`, else through node:v8 and
 * node:vm, which load Deno's Node compatibility layer (≈5 MiB RSS): so only once a reclaim
 * after load needs it, never for an idle node's first reclaim.
 */
async function loadGc(logger: Logger): Promise<(() => void) | null> {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    const [{ default: v8 }, { default: vm }] = await Promise.all([
      import("node:v8"),
      import("node:vm"),
    ]);
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch (e) {
    logger.debug(`memory: no explicit GC available: ${errorText(e)}`);
    return null;
  }
}

/** What {@link loadTrim} needs from the runtime (replaced in tests). */
export interface TrimRuntime {
  /** `Deno.build.os`. */
  os: string;
  /** FFI permission already granted (asked without prompting). */
  ffiGranted(): boolean;
  /** Open glibc and return its `malloc_trim`; throws where there is no such library. */
  open(): (pad: bigint) => number;
}

const RUNTIME: TrimRuntime = {
  os: Deno.build.os,
  ffiGranted: () => {
    try {
      return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
    } catch {
      return false;
    }
  },
  open: () => {
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return (pad) => libc.symbols.malloc_trim(pad);
  },
};

/**
 * glibc's `malloc_trim(0)` through FFI, opened on first use; null (after one log line) where
 * it cannot work: not Linux, no FFI permission (checked first: `Deno.dlopen` would otherwise
 * prompt on a terminal), or no glibc (musl: no `libc.so.6` / no `malloc_trim`).
 */
export function loadTrim(logger: Logger, rt: TrimRuntime = RUNTIME): (() => void) | null {
  const off = (why: string) => {
    logger.info(`memory: freed native memory stays with the allocator (${why})`);
    return null;
  };
  if (rt.os !== "linux") return off(`malloc_trim is glibc's; this is ${rt.os}`);
  if (!rt.ffiGranted()) return off("malloc_trim needs --allow-ffi");
  try {
    const trim = rt.open();
    return () => void trim(0n);
  } catch (e) {
    return off(`no glibc malloc_trim: ${errorText(e)}`);
  }
}

/** The steps of one reclaim; {@link makeReclaimer}'s defaults are the real ones. */
export interface ReclaimSteps {
  /** Empty the buffer pools (so the GC can free them). */
  trimPools(): void;
  /** The explicit GC, loaded on first use; null where there is none. */
  loadGc(): Promise<(() => void) | null>;
  /** malloc_trim, loaded on first use; null where there is none. */
  loadTrim(): (() => void) | null;
}

/**
 * One reclaim: pools, GC, malloc_trim. The GC and trim hooks are loaded once, on the first
 * reclaim (never for an idle node); a step that is missing or throws is skipped with one log
 * line and the others still run — a reclaim never takes the node down.
 */
export function makeReclaimer(
  logger: Logger,
  steps: ReclaimSteps = {
    trimPools: runIdleTrims,
    loadGc: () => loadGc(logger),
    loadTrim: () => loadTrim(logger),
  },
): Reclaim {
  let gc: Promise<(() => void) | null> | null = null;
  let trim: (() => void) | null | undefined;
  const failed = new Set<string>();
  const step = async (name: string, f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      if (failed.has(name)) return;
      failed.add(name);
      logger.warning(`memory: idle reclaim step ${name} failed (skipped): ${errorText(e)}`);
    }
  };
  return async () => {
    await step("pools", steps.trimPools);
    await step("gc", async () => (await (gc ??= steps.loadGc()))?.());
    await step("malloc_trim", () => {
      if (trim === undefined) {
        trim = null; // loaded once: a loader that throws is not tried again
        trim = steps.loadTrim();
      }
      trim?.();
    });
  };
}

/**
 * Native private memory (bytes) above which a fresh node's first idle moment runs malloc_trim
 * (12 MiB). Measured (Deno 2.9.6): an idle node's private anonymous RSS minus V8's heap is
 * ≈6–7 MiB when its modules came from V8's code cache, ≈17 MiB on the first start after
 * install or a bundle rebuild (building the code cache leaves ≈10 MiB freed in glibc's
 * arenas for the process's life); the trim gives that back (61 → 52–54 MiB RSS, private
 * 26 → 16–18) but costs a warm node ≈3 MiB of the runtime binary's pages (the FFI code).
 */
export const FIRST_TRIM_NATIVE = 12 * 1048576;

/** Private anonymous RSS minus V8's heap, in bytes; null where /proc is not readable. */
export function nativePrivate(status: string, v8HeapTotal: number): number | null {
  const kb = /^RssAnon:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? null : Number(kb) * 1024 - v8HeapTotal;
}

function selfNativePrivate(): number | null {
  try {
    return nativePrivate(Deno.readTextFileSync("/proc/self/status"), Deno.memoryUsage().heapTotal);
  } catch {
    return null;
  }
}

/**
 * Start sampling every `everyMs` (default 2 s); returns a stop function. Does nothing where
 * the process's CPU time cannot be read (non-Linux).
 */
export function startMemoryReclaimer(
  logger: Logger,
  opts: Partial<ReclaimOptions> & { everyMs?: number } = {},
): () => void {
  const everyMs = opts.everyMs ?? 2000;
  let lastCpu = selfCpuSeconds();
  if (lastCpu === null) return () => {};
  const policy = new ReclaimPolicy(opts, Deno.memoryUsage().rss);
  let trimHook: (() => void) | null | undefined;
  const trim = () => (trimHook === undefined ? (trimHook = loadTrim(logger)) : trimHook);
  const reclaim = makeReclaimer(logger, {
    trimPools: runIdleTrims,
    loadGc: () => loadGc(logger),
    loadTrim: trim,
  });
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    const cpu = selfCpuSeconds() ?? lastCpu!;
    const share = (cpu - lastCpu!) / (everyMs / 1000);
    lastCpu = cpu;
    const before = Deno.memoryUsage().rss;
    if (!policy.sample(before, share)) return;
    if (policy.noteOnly) {
      // First idle moment after start-up: note the resting level. Measured on a fresh node, a
      // GC and malloc_trim free nothing worth their cost here (loading the GC hook and FFI
      // touches ≈2–7 MiB more of the runtime binary than they free) — except after a start
      // that built V8's code cache: see FIRST_TRIM_NATIVE.
      if ((selfNativePrivate() ?? 0) > FIRST_TRIM_NATIVE) {
        try {
          trim()?.();
        } catch (e) {
          logger.debug(`memory: first-idle malloc_trim failed: ${errorText(e)}`);
        }
      }
      policy.reclaimed(Deno.memoryUsage().rss);
      return;
    }
    busy = true;
    try {
      await reclaim();
      const after = Deno.memoryUsage().rss;
      policy.reclaimed(after);
      lastCpu = selfCpuSeconds() ?? lastCpu; // our own GC is not load
      const mib = (n: number) => (n / 1048576).toFixed(0);
      const m = Deno.memoryUsage();
      logger.debug(
        `memory: idle, reclaimed ${mib(before - after)} MiB (RSS ${mib(before)} → ${mib(after)}` +
          ` MiB; V8 heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} MiB, external ${mib(m.external)})`,
      );
    } finally {
      busy = false;
    }
  }, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
