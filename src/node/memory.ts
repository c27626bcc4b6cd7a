/**
 * Gives memory back when the node is idle. After a burst of work V8 keeps garbage (dead
 * ArrayBuffers from streams, finished units' objects) until its next allocation-driven GC,
 * which an idle process never reaches, and glibc keeps freed pages in its arenas; RSS then
 * stays at the peak (measured: 57 MiB idle → 170 MiB after 250 remote units, unchanged
 * minutes later). So, sampled every few seconds: once the process used almost no CPU for two
 * samples in a row after start-up, and later whenever it is idle again with RSS more than 10%
 * above that resting level, run a full GC and glibc's `malloc_trim(0)` (through FFI; skipped where there is no glibc or no FFI
 * permission). Busy nodes are never interrupted.
 * @module
 */
import { errorText } from "../util/error_text.ts";
import type { Logger } from "../log.ts";

/** Tunables of {@link ReclaimPolicy}. */
export interface ReclaimOptions {
  /** Reclaim when RSS exceeds the resting level by more than this fraction (0.1). */
  growth: number;
  /** CPU share (0..1) under which a sample counts as idle (0.03). */
  idleCpu: number;
  /** Consecutive idle samples needed (2). */
  idleSamples: number;
}

const DEFAULTS: ReclaimOptions = { growth: 0.1, idleCpu: 0.03, idleSamples: 2 };

/** Decides, sample by sample, when to reclaim; pure (no clock, no I/O). */
export class ReclaimPolicy {
  readonly #o: ReclaimOptions;
  /** RSS at rest: right after the first idle reclaim (start-up garbage gone), then the most
   * that a reclaim could not free. */
  #rest: number | null = null;
  #idleRun = 0;

  constructor(opts: Partial<ReclaimOptions> = {}) {
    this.#o = { ...DEFAULTS, ...opts };
  }

  /** The RSS level (bytes) above which an idle node reclaims; null until the first reclaim. */
  get threshold(): number | null {
    return this.#rest === null ? null : Math.round(this.#rest * (1 + this.#o.growth));
  }

  /** One sample: RSS in bytes and the CPU share used since the last one. True = reclaim now. */
  sample(rss: number, cpuShare: number): boolean {
    this.#idleRun = cpuShare < this.#o.idleCpu ? this.#idleRun + 1 : 0;
    if (this.#idleRun < this.#o.idleSamples) return false;
    return this.#rest === null || rss > this.threshold!;
  }

  /** After a reclaim: what is left is the resting level (it only ever rises). */
  reclaimed(rssAfter: number): void {
    this.#rest = Math.max(this.#rest ?? rssAfter, rssAfter);
    this.#idleRun = 0;
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

/** A full GC and malloc_trim, as far as this runtime allows; loaded on first use. */
async function makeReclaimer(logger: Logger): Promise<() => void> {
  let gc: (() => void) | null = null;
  try {
    const [{ default: v8 }, { default: vm }] = await Promise.all([
      import("node:v8"),
      import("node:vm"),
    ]);
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  } catch (e) {
    logger.debug(`memory: no explicit GC available: ${errorText(e)}`);
  }
  let trim: (() => void) | null = null;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    trim = () => void libc.symbols.malloc_trim(0n);
  } catch (e) {
    logger.debug(`memory: malloc_trim unavailable: ${errorText(e)}`);
  }
  return () => {
    gc?.();
    trim?.();
  };
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
  const policy = new ReclaimPolicy(opts);
  let reclaim: Promise<() => void> | null = null;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    const cpu = selfCpuSeconds() ?? lastCpu!;
    const share = (cpu - lastCpu!) / (everyMs / 1000);
    lastCpu = cpu;
    const before = Deno.memoryUsage().rss;
    if (!policy.sample(before, share)) return;
    busy = true;
    try {
      reclaim ??= makeReclaimer(logger);
      (await reclaim)();
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
