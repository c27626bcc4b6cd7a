/**
 * The local work engine ("workceptor"): owns `<datadir>/<nodeID>/`, unit IDs, the unit table,
 * status files and result streaming (control.md §4), and delegates how units run to
 * pluggable {@link WorkUnitType}s (`work-command` built in; `remote` and others register
 * later through {@link WorkEngine.registerType}).
 * @module
 */

import type { Clock } from "../clock.ts";
import { realClock } from "../clock.ts";
import type { Logger, LogLevel } from "../log.ts";
import { selfCommand } from "./self_exec.ts";
import type { RunnerArgv, WorkCommandConfig } from "./command_unit.ts";
import { CommandUnitType } from "./command_unit.ts";
import { BatchingWriter } from "./batching_writer.ts";
import type { StatusFileData } from "./status_file.ts";
import {
  isComplete,
  isFinal,
  loadStatus,
  saveStatus,
  stateName,
  unitPaths,
  updateStatus,
  WorkState,
} from "./status_file.ts";
import type { UnitContext, WorkOpResult, WorkUnitType } from "./unit_type.ts";
import { isValidUnitId, newUnitId } from "./unit_id.ts";

/** A work-layer failure whose message is the upstream error text (sent as `ERROR: <msg>`). */
export class WorkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkError";
  }
}

/** A status as control replies show it (adds StateName; upstream field order). */
export interface UnitStatus {
  State: number;
  StateName: string;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: unknown;
}

/** Options of {@link WorkEngine}. */
export interface WorkEngineOptions {
  nodeId: string;
  /** The node's datadir; units live in `<dataDir>/<nodeId>/`. Relative paths use the cwd. */
  dataDir: string;
  logger: Logger;
  clock?: Clock;
  /** Level handed to command runners (default: the logger's level). */
  logLevel?: LogLevel;
  /** Override how a command runner is started (tests). Default: selfCommand() + directive. */
  runnerArgv?: RunnerArgv;
  /** Runner stdout/stderr: inherit (upstream) or discard. Default inherit. */
  runnerStdio?: "inherit" | "null";
  /** `work-command` sections. */
  workTypes: WorkCommandConfig[];
  /** Poll period for result streaming (ms, default 100). */
  resultsPollMs?: number;
  /** Liveness poll period for adopted runners (ms, default 500). */
  monitorMs?: number;
  /** Cancel wait for the runner's exit after SIGINT (ms, default 12 000: runner's 10 s + slack). */
  cancelWaitMs?: number;
  /** Delay between non-forced delete attempts on release (ms, default 1 000). */
  releaseRetryMs?: number;
}

interface UnitRecord {
  id: string;
  dir: string;
  workType: string;
  /** null = work type not registered ("Unknown WorkType"). */
  type: WorkUnitType | null;
  ac: AbortController;
  ctx: UnitContext;
}

const UNKNOWN_EXTRA = "Unknown WorkType";
const READ_CHUNK = 256 * 1024;
/** Consecutive missing-stdout checks before a results stream gives up (upstream: 4 × 1 s). */
const STDOUT_MISSING_LIMIT_MS = 4000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });
}

/** The default runner argv: upstream's hidden directive on this same program. */
export function defaultRunnerArgv(level: () => LogLevel): RunnerArgv {
  return (command, params, unitdir) => [
    ...selfCommand(),
    "--node",
    "id=worker",
    "--log-level",
    level(),
    "--command-runner",
    `command=${command}`,
    `params=${params}`,
    `unitdir=${unitdir}`,
  ];
}

/** The local work engine. Call {@link init} once before use and {@link close} at shutdown. */
export class WorkEngine {
  readonly nodeId: string;
  /** `<dataDir>/<nodeId>`, absolute. */
  readonly unitsDir: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #types = new Map<string, WorkUnitType>();
  readonly #units = new Map<string, UnitRecord>();
  readonly #opts: WorkEngineOptions;
  readonly #closing = new AbortController();

  constructor(opts: WorkEngineOptions) {
    if (
      opts.nodeId === "" || opts.nodeId.includes("/") || opts.nodeId === "." || opts.nodeId === ".."
    ) {
      throw new Error(`node ID ${JSON.stringify(opts.nodeId)} cannot name a work directory`);
    }
    this.#opts = opts;
    this.nodeId = opts.nodeId;
    this.#log = opts.logger;
    this.#clock = opts.clock ?? realClock;
    const base = opts.dataDir.startsWith("/") ? opts.dataDir : `${Deno.cwd()}/${opts.dataDir}`;
    this.unitsDir = `${base.replace(/\/+$/, "")}/${opts.nodeId}`;
    const level = () => opts.logLevel ?? opts.logger.level;
    const deps = {
      logger: opts.logger,
      runnerArgv: opts.runnerArgv ?? defaultRunnerArgv(level),
      logLevel: level,
      runnerStdio: opts.runnerStdio ?? "inherit",
      monitorMs: opts.monitorMs ?? 500,
      cancelWaitMs: opts.cancelWaitMs ?? 12_000,
    };
    for (const cfg of opts.workTypes) {
      if (cfg.worktype === "remote" || this.#types.has(cfg.worktype)) {
        throw new Error(`work type ${cfg.worktype} already registered`);
      }
      this.#types.set(cfg.worktype, new CommandUnitType(cfg, deps));
    }
  }

  /** Create the node's unit directory and load the units found there (control.md §4.5). */
  async init(): Promise<void> {
    await Deno.mkdir(this.unitsDir, { recursive: true, mode: 0o700 });
    await this.#scan();
  }

  /**
   * Register another work type (e.g. `remote`, a sandboxed type); units of that type found
   * earlier as "unknown" are reloaded through its restart hook.
   */
  async registerType(type: WorkUnitType): Promise<void> {
    if (this.#types.has(type.name)) throw new Error(`work type ${type.name} already registered`);
    this.#types.set(type.name, type);
    for (const rec of [...this.#units.values()]) {
      if (rec.type === null && rec.workType === type.name) this.#units.delete(rec.id);
    }
    await this.#scan();
  }

  /** The registered type called `name`, if any. */
  workType(name: string): WorkUnitType | undefined {
    return this.#types.get(name);
  }

  /** The work type name of a unit (for signature checks), or throws `unknown work unit`. */
  unitWorkType(unitId: string): string {
    return this.#get(unitId).workType;
  }

  /** `WorkCommands` for the control-service advertisement (never `remote`). */
  advertisedWorkCommands(): { WorkType: string; Secure: boolean }[] {
    return [...this.#types.values()].filter((t) => t.advertise && t.name !== "remote").map((t) => ({
      WorkType: t.name,
      Secure: t.verifySignature,
    }));
  }

  /** Absolute directory of a unit (validated ID; throws `unknown work unit` otherwise). */
  unitDir(unitId: string): string {
    return this.#get(unitId).dir;
  }

  async #scan(): Promise<void> {
    const found: string[] = [];
    for await (const e of Deno.readDir(this.unitsDir)) {
      if (e.isDirectory && isValidUnitId(e.name) && !this.#units.has(e.name)) found.push(e.name);
    }
    for (const id of found) {
      const dir = `${this.unitsDir}/${id}`;
      let s: StatusFileData;
      try {
        s = await loadStatus(dir);
      } catch (e) {
        this.#log.error(`Error loading work unit ${id}: ${(e as Error).message}`);
        continue;
      }
      const type = this.#types.get(s.WorkType) ?? null;
      const rec = this.#record(id, dir, s.WorkType, type);
      this.#units.set(id, rec);
      if (!type) continue;
      try {
        await type.restart(rec.ctx);
      } catch (e) {
        const msg = (e as Error).message;
        this.#log.error(`[${id}] restart failed: ${msg}`);
        await rec.ctx.update((t) => {
          t.State = WorkState.Failed;
          t.Detail = `Failed to restart: ${msg}`;
        }).catch(() => {});
      }
    }
  }

  #record(id: string, dir: string, workType: string, type: WorkUnitType | null): UnitRecord {
    const ac = new AbortController();
    const signal = AbortSignal.any([ac.signal, this.#closing.signal]);
    const ctx: UnitContext = {
      id,
      dir,
      workType,
      logger: this.#log,
      signal,
      load: () => loadStatus(dir),
      update: (change) => updateStatus(dir, change),
    };
    return { id, dir, workType, type, ac, ctx };
  }

  #get(unitId: string): UnitRecord {
    const rec = isValidUnitId(unitId) ? this.#units.get(unitId) : undefined;
    if (!rec) throw new WorkError(`unknown work unit ${unitId}`);
    return rec;
  }

  /**
   * Create a unit: validate params (before touching the disk), make the directory, write
   * Pending `Unit Created`, create an empty `stdin` and move to Pending
   * `Waiting for Input Data`. Returns the unit ID.
   */
  async allocate(workType: string, params: Record<string, string>): Promise<string> {
    const type = this.#types.get(workType);
    if (!type) throw new WorkError(`unknown work type ${workType}`);
    let extra: unknown;
    try {
      extra = type.allocate(params);
    } catch (e) {
      throw new WorkError((e as Error).message);
    }
    let id: string;
    let dir: string;
    for (;;) {
      id = newUnitId();
      dir = `${this.unitsDir}/${id}`;
      if (this.#units.has(id)) continue;
      try {
        await Deno.mkdir(dir, { mode: 0o700 });
        break;
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue;
        throw e;
      }
    }
    try {
      await saveStatus(dir, {
        State: WorkState.Pending,
        Detail: "Unit Created",
        StdoutSize: 0,
        WorkType: workType,
        ExtraData: extra ?? null,
      });
      (await Deno.open(unitPaths(dir).stdin, {
        write: true,
        create: true,
        truncate: true,
        mode: 0o600,
      })).close();
      await updateStatus(dir, (s) => {
        s.Detail = "Waiting for Input Data";
      });
    } catch (e) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw e;
    }
    this.#units.set(id, this.#record(id, dir, workType, type));
    return id;
  }

  /**
   * Stream a payload into the unit's `stdin` (no size cap). A read error marks the unit
   * Failed `Error reading input data: <err>` and rethrows. Returns the byte count.
   */
  async writeStdin(unitId: string, payload: ReadableStream<Uint8Array>): Promise<number> {
    const rec = this.#get(unitId);
    const f = await Deno.open(unitPaths(rec.dir).stdin, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    let total = 0;
    try {
      const reader = payload.getReader();
      const out = new BatchingWriter(f);
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          await out.write(value);
          total += value.length;
        }
      } finally {
        reader.releaseLock();
        await out.flush();
      }
    } catch (e) {
      const msg = (e as Error).message;
      await rec.ctx.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = `Error reading input data: ${msg}`;
      }).catch(() => {});
      throw new WorkError(msg);
    } finally {
      f.close();
    }
    return total;
  }

  /**
   * Start a unit: Pending `Starting Worker`, then the type's start. A failure marks it
   * Failed `Error starting worker: <err>` and throws a WorkError with `<err>`.
   */
  async start(unitId: string): Promise<void> {
    const rec = this.#get(unitId);
    if (!rec.type) return;
    await rec.ctx.update((s) => {
      s.State = WorkState.Pending;
      s.Detail = "Starting Worker";
    });
    try {
      await rec.type.start(rec.ctx);
    } catch (e) {
      const msg = (e as Error).message;
      await rec.ctx.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = `Error starting worker: ${msg}`;
      }).catch(() => {});
      throw new WorkError(msg);
    }
  }

  #present(rec: UnitRecord, s: StatusFileData): UnitStatus {
    const shown = rec.type?.redact ? rec.type.redact(s) : s;
    return {
      State: shown.State,
      StateName: stateName(shown.State),
      Detail: shown.Detail,
      StdoutSize: shown.StdoutSize,
      WorkType: shown.WorkType,
      ExtraData: rec.type ? shown.ExtraData : UNKNOWN_EXTRA,
    };
  }

  /** Status of one unit as control replies show it; `unknown work unit <id>` otherwise. */
  async status(unitId: string): Promise<UnitStatus> {
    const rec = this.#get(unitId);
    try {
      return this.#present(rec, await loadStatus(rec.dir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new WorkError(`unknown work unit ${unitId}`);
      throw e;
    }
  }

  /** All units (or just `unitId`) keyed by ID. */
  async list(unitId?: string): Promise<Record<string, UnitStatus>> {
    if (unitId !== undefined) return { [unitId]: await this.status(unitId) };
    const out: Record<string, UnitStatus> = {};
    for (const rec of this.#units.values()) {
      try {
        out[rec.id] = this.#present(rec, await loadStatus(rec.dir));
      } catch (e) {
        this.#log.debug(`[${rec.id}] status unreadable: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /**
   * The unit's stdout from byte `startpos` (control.md §4.9): streams as output appears and
   * ends once the unit is complete and everything up to StdoutSize was sent, when it is
   * Canceled and the file is drained, or when the unit directory / stdout file disappears.
   * Throws `unknown work unit <id>` synchronously. A negative `startpos` gives no output (Go's
   * seek fails and it ends the stream), with upstream's warning.
   */
  results(unitId: string, startpos = 0): ReadableStream<Uint8Array> {
    const rec = this.#get(unitId);
    if (startpos < 0) {
      this.#log.warning(
        `Seek error processing stdout: seek ${unitPaths(rec.dir).stdout}: invalid argument`,
      );
      return new ReadableStream({ start: (c) => c.close() });
    }
    const paths = unitPaths(rec.dir);
    const pollMs = this.#opts.resultsPollMs ?? 100;
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#closing.signal]);
    let file: Deno.FsFile | null = null;
    let offset = Math.max(0, Math.trunc(startpos));
    let missingSince = -1;
    let buf = new Uint8Array(READ_CHUNK);
    const clock = this.#clock;
    const log = this.#log;
    const finish = (c: ReadableStreamDefaultController<Uint8Array>) => {
      file?.close();
      file = null;
      stop.abort();
      try {
        c.close();
      } catch {
        // already closed
      }
    };
    // Status read; null when the unit is gone.
    const status = async (): Promise<StatusFileData | null> => {
      try {
        return await loadStatus(rec.dir);
      } catch {
        return null;
      }
    };
    return new ReadableStream<Uint8Array>({
      pull: async (c) => {
        try {
          for (;;) {
            if (signal.aborted) return finish(c);
            if (!file) {
              try {
                file = await Deno.open(paths.stdout, { read: true });
              } catch {
                const s = await status();
                if (!s || isFinal(s.State)) return finish(c);
                await sleep(pollMs, signal);
                continue;
              }
              // reads continue from where the last one ended, also after end of file
              if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
            }
            const n = await file.read(buf);
            if (n !== null && n > 0) {
              offset += n;
              missingSince = -1;
              // a big read hands its buffer over; a small one (tailing a slow job) a copy
              if (n < READ_CHUNK / 4) c.enqueue(buf.slice(0, n));
              else {
                c.enqueue(buf.subarray(0, n));
                buf = new Uint8Array(READ_CHUNK);
              }
              return;
            }
            const s = await status();
            if (!s) return finish(c);
            if (isComplete(s.State) && offset >= s.StdoutSize) return finish(c);
            if (s.State === WorkState.Canceled) return finish(c);
            try {
              await Deno.stat(paths.stdout);
              missingSince = -1;
            } catch {
              if (missingSince < 0) missingSince = clock.now();
              else if (clock.now() - missingSince >= STDOUT_MISSING_LIMIT_MS) return finish(c);
            }
            await sleep(pollMs, signal);
          }
        } catch (e) {
          if (!signal.aborted) log.warning(`[${rec.id}] results stream: ${(e as Error).message}`);
          finish(c);
        }
      },
      cancel: () => {
        stop.abort();
        // the pull loop closes the file when it notices
      },
    }, { highWaterMark: 0 });
  }

  /** Cancel a unit (finished units unchanged). */
  async cancel(unitId: string): Promise<WorkOpResult> {
    const rec = this.#get(unitId);
    if (!rec.type) return "done";
    return await rec.type.cancel(rec.ctx);
  }

  /**
   * Release: cancel, delete the unit directory, drop the unit. Non-forced: errors are thrown
   * (delete retried 3 times, 1 s apart) and the unit stays. Forced: errors are ignored.
   */
  async release(unitId: string, force: boolean): Promise<WorkOpResult> {
    const rec = this.#get(unitId);
    if (rec.type) {
      let r: WorkOpResult = "done";
      try {
        r = await rec.type.release(rec.ctx, force);
      } catch (e) {
        if (!force) throw new WorkError((e as Error).message);
      }
      if (r === "pending") return r;
    }
    rec.ac.abort();
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < (force ? 1 : 3); attempt++) {
      if (attempt > 0) await sleep(this.#opts.releaseRetryMs ?? 1000);
      try {
        await Deno.remove(rec.dir, { recursive: true });
        lastErr = null;
        break;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          lastErr = null;
          break;
        }
        lastErr = e;
      }
    }
    if (lastErr && !force) throw new WorkError((lastErr as Error).message);
    this.#units.delete(rec.id);
    return "done";
  }

  /** Stop background tasks and streams; running jobs continue in their runners. */
  close(): Promise<void> {
    this.#closing.abort();
    for (const t of this.#types.values()) t.close?.();
    return Promise.resolve();
  }
}
