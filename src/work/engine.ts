/**
 * The local work engine ("workceptor"): owns `<datadir>/<nodeID>/`, unit IDs, the unit table,
 * status files and result streaming (control.md §4), and delegates how units run to
 * pluggable {@link WorkUnitType}s (`work-command` sections built in; every other type registers
 * through {@link WorkEngine.registerType}). The engine never names a type.
 * @module
 */

import type { Clock } from "../clock.ts";
import { realClock } from "../clock.ts";
import type { Logger, LogLevel } from "../log.ts";
import type { RunnerArgv, WorkCommandConfig } from "./command_unit.ts";
import { CommandUnitType } from "./command_unit.ts";
import { BatchingWriter } from "./batching_writer.ts";
import type { StatusFileData } from "./status_file.ts";
import {
  isFinal,
  loadStatus,
  saveStatus,
  stateName,
  unitPaths,
  updateStatus,
  WorkState,
} from "./status_file.ts";
import type { UnitContext, WorkOpResult, WorkUnitType } from "./unit_type.ts";
import { failUnit } from "./unit_type.ts";
import { BUILT_IN_WORK_TYPES, type StartResult, type WorkUnitStatus } from "./submit_protocol.ts";
import { tailResults } from "./results_tail.ts";
import { isValidUnitId, newUnitId } from "./unit_id.ts";
import {
  OWNER_PARAM,
  type OwnerInfo,
  type OwnerLabel,
  ownerLabelError,
  readOwnerFile,
  writeOwnerFile,
} from "./owner.ts";
import type { RetentionUnit } from "./retention.ts";
import { delay } from "../util/delay.ts";
import { SpareDirs } from "./spare_dirs.ts";
import { errorText } from "../util/error_text.ts";

/** A work-layer failure whose message is the upstream error text (sent as `ERROR: <msg>`). */
export class WorkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkError";
  }
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
  /** Run units under this Deno command runner argv (tests). Default: the /bin/sh wrapper. */
  runnerArgv?: RunnerArgv;
  /** A Deno runner's stdout/stderr (with `runnerArgv`): inherit (upstream) or discard. Default inherit. */
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

/** A unit reached a final state (see {@link WorkEngine.onUnitFinal}). */
export interface UnitFinalEvent {
  id: string;
  workType: string;
  state: number;
  stateName: string;
  /** Seconds from start to final state, or null when the start was not seen by this engine. */
  seconds: number | null;
}

interface UnitRecord {
  id: string;
  dir: string;
  workType: string;
  /** null = work type not registered ("Unknown WorkType"). */
  type: WorkUnitType | null;
  ac: AbortController;
  ctx: UnitContext;
  /** Owner label and creation time (labelled units only). */
  owner?: OwnerLabel;
  /** Monotonic time this engine started it (undefined: not started here). */
  startedAt?: number;
  /** Already reported final through onUnitFinal (or final when loaded). */
  finalSeen: boolean;
  /** A release answered "pending" and has not finished. */
  releasePending: boolean;
}

const UNKNOWN_EXTRA = "Unknown WorkType";

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
  readonly #finalListeners = new Set<(e: UnitFinalEvent) => void>();
  /** Released units' directories kept for new units (see spare_dirs.ts). */
  readonly #spares: SpareDirs;

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
    const root = base.replace(/\/+$/, "");
    this.unitsDir = `${root}/${opts.nodeId}`;
    this.#spares = new SpareDirs(`${root}/.${opts.nodeId}.spare`);
    const level = () => opts.logLevel ?? opts.logger.level;
    const deps = {
      logger: opts.logger,
      runnerArgv: opts.runnerArgv,
      logLevel: level,
      runnerStdio: opts.runnerStdio ?? "inherit",
      monitorMs: opts.monitorMs ?? 500,
      cancelWaitMs: opts.cancelWaitMs ?? 12_000,
    };
    for (const cfg of opts.workTypes) {
      if (BUILT_IN_WORK_TYPES.has(cfg.worktype) || this.#types.has(cfg.worktype)) {
        throw new Error(`work type ${cfg.worktype} already registered`);
      }
      this.#types.set(cfg.worktype, new CommandUnitType(cfg, deps));
    }
  }

  /** Create the node's unit directory and load the units found there (control.md §4.5). */
  async init(): Promise<void> {
    await Deno.mkdir(this.unitsDir, { recursive: true, mode: 0o700 });
    await this.#spares.init();
    await this.#scan();
  }

  /**
   * Register another work type (`remote`, `work-deno`, ...); units of that type found
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

  /** `WorkCommands` for the control-service advertisement (types with `advertise` set). */
  advertisedWorkCommands(): { WorkType: string; Secure: boolean }[] {
    return [...this.#types.values()].filter((t) => t.advertise).map((t) => ({
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
        this.#log.error(`Error loading work unit ${id}: ${errorText(e)}`);
        continue;
      }
      const type = this.#types.get(s.WorkType) ?? null;
      const rec = this.#record(id, dir, s.WorkType, type);
      rec.finalSeen = isFinal(s.State);
      rec.owner = await readOwnerFile(dir, (m) => this.#log.warning(`[${id}] ${m}`));
      rec.releasePending = !!type?.releasePending?.(s);
      this.#units.set(id, rec);
      if (!type) continue;
      try {
        await type.restart(rec.ctx);
      } catch (e) {
        const msg = errorText(e);
        this.#log.error(`[${id}] restart failed: ${msg}`);
        await failUnit(rec.ctx, `Failed to restart: ${msg}`);
      }
    }
  }

  #record(id: string, dir: string, workType: string, type: WorkUnitType | null): UnitRecord {
    const ac = new AbortController();
    const signal = AbortSignal.any([ac.signal, this.#closing.signal]);
    const rec: UnitRecord = {
      id,
      dir,
      workType,
      type,
      ac,
      finalSeen: false,
      releasePending: false,
      ctx: {
        id,
        dir,
        workType,
        logger: this.#log,
        signal,
        load: () => loadStatus(dir),
        update: async (change) => {
          const s = await updateStatus(dir, change);
          if (isFinal(s.State)) this.#reachedFinal(rec, s.State);
          return s;
        },
      },
    };
    return rec;
  }

  /** First time a unit is seen final: report it (once). */
  #reachedFinal(rec: UnitRecord, state: number): void {
    if (rec.finalSeen) return;
    rec.finalSeen = true;
    if (this.#finalListeners.size === 0) return;
    const seconds = rec.startedAt === undefined
      ? null
      : Math.max(0, (this.#clock.now() - rec.startedAt) / 1000);
    const ev = { id: rec.id, workType: rec.workType, state, stateName: stateName(state), seconds };
    for (const fn of [...this.#finalListeners]) {
      try {
        fn(ev);
      } catch (e) {
        this.#log.error(`[${rec.id}] unit-final listener failed: ${errorText(e)}`);
      }
    }
  }

  /**
   * Call `fn` once for each unit seen reaching a final state (Succeeded, Failed, Canceled) through
   * this engine, with its type, state and seconds since it was started here (null when started
   * before this process, e.g. found on disk at start-up). Returns the unsubscribe function.
   */
  onUnitFinal(fn: (e: UnitFinalEvent) => void): () => void {
    this.#finalListeners.add(fn);
    return () => this.#finalListeners.delete(fn);
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
    const ownerLabel = params[OWNER_PARAM];
    if (ownerLabel !== undefined) {
      const bad = ownerLabelError(ownerLabel);
      if (bad) throw new WorkError(bad);
    }
    let extra: unknown;
    try {
      extra = type.allocate(params);
    } catch (e) {
      throw new WorkError(errorText(e));
    }
    let id: string;
    let dir: string;
    let owner: OwnerLabel | undefined;
    for (;;) {
      id = newUnitId();
      dir = `${this.unitsDir}/${id}`;
      if (this.#units.has(id)) continue;
      if (this.#spares.take(dir)) break;
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
      // a new file: off the event loop (finding a free inode can take ms on ext4 after churn)
      (await Deno.open(unitPaths(dir).stdin, {
        write: true,
        create: true,
        truncate: true,
        mode: 0o600,
      })).close();
      await updateStatus(dir, (s) => {
        s.Detail = "Waiting for Input Data";
      });
      if (ownerLabel !== undefined) {
        owner = { Owner: ownerLabel, Created: this.#clock.wallNow().toISOString() };
        await writeOwnerFile(dir, owner);
      }
    } catch (e) {
      await Deno.remove(dir, { recursive: true }).catch((r) =>
        this.#log.error(`could not remove half-created unit ${dir}: ${errorText(r)}`)
      );
      throw e;
    }
    const rec = this.#record(id, dir, workType, type);
    rec.owner = owner;
    this.#units.set(id, rec);
    return id;
  }

  /**
   * Stream a payload into the unit's `stdin` (no size cap). A read error marks the unit
   * Failed `Error reading input data: <err>` and rethrows. Returns the byte count.
   */
  async writeStdin(unitId: string, payload: ReadableStream<Uint8Array>): Promise<number> {
    const rec = this.#get(unitId);
    // the file exists (allocate made it): a plain syscall is cheaper than a thread-pool hop
    const f = Deno.openSync(unitPaths(rec.dir).stdin, {
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
      const msg = errorText(e);
      await failUnit(rec.ctx, `Error reading input data: ${msg}`);
      throw new WorkError(msg);
    } finally {
      f.close();
    }
    return total;
  }

  /**
   * Start a unit: Pending `Starting Worker`, then the type's start. A failure marks it
   * Failed `Error starting worker: <err>` and throws a WorkError with `<err>`. Resolves how the
   * type started it (`deferred`: accepted, continuing in the background).
   */
  async start(unitId: string): Promise<StartResult> {
    const rec = this.#get(unitId);
    if (!rec.type) return "started";
    rec.startedAt = this.#clock.now();
    await rec.ctx.update((s) => {
      s.State = WorkState.Pending;
      s.Detail = "Starting Worker";
    });
    try {
      return (await rec.type.start(rec.ctx)) ?? "started";
    } catch (e) {
      const msg = errorText(e);
      await failUnit(rec.ctx, `Error starting worker: ${msg}`);
      throw new WorkError(msg);
    }
  }

  /**
   * A unit's work type and whether requests about it must carry a verified signature (the
   * type's {@link WorkUnitType.signatureRequired}, else its `verifySignature`).
   */
  async signatureRequired(unitId: string): Promise<{ workType: string; required: boolean }> {
    const rec = this.#get(unitId);
    const s = await this.#loadKnown(rec);
    const t = rec.type;
    const required = t ? (t.signatureRequired?.(s) ?? t.verifySignature) : false;
    return { workType: s.WorkType, required };
  }

  async #loadKnown(rec: UnitRecord): Promise<StatusFileData> {
    try {
      return await loadStatus(rec.dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new WorkError(`unknown work unit ${rec.id}`);
      throw e;
    }
  }

  #present(rec: UnitRecord, s: StatusFileData): WorkUnitStatus {
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
  async status(unitId: string): Promise<WorkUnitStatus> {
    const rec = this.#get(unitId);
    return this.#present(rec, await this.#loadKnown(rec));
  }

  /** All units (or just `unitId`) keyed by ID. */
  async list(unitId?: string): Promise<Record<string, WorkUnitStatus>> {
    if (unitId !== undefined) {
      const rec = this.#get(unitId);
      const s = await this.#loadKnown(rec);
      const one = this.#present(rec, s);
      if (rec.owner) Object.assign(one, await this.#ownerInfo(rec, s.State));
      return { [unitId]: one };
    }
    const out: Record<string, WorkUnitStatus> = {};
    for (const rec of this.#units.values()) {
      try {
        const s = await loadStatus(rec.dir);
        out[rec.id] = this.#present(rec, s);
        if (rec.owner) Object.assign(out[rec.id], await this.#ownerInfo(rec, s.State));
      } catch (e) {
        this.#log.debug(`[${rec.id}] status unreadable: ${errorText(e)}`);
      }
    }
    return out;
  }

  async #ownerInfo(rec: UnitRecord, state: number): Promise<OwnerInfo> {
    const at = isFinal(state) ? await this.#finishedAt(rec) : null;
    return {
      Owner: rec.owner!.Owner,
      Created: rec.owner!.Created,
      Finished: at === null ? null : new Date(at).toISOString(),
    };
  }

  /** When a final unit finished: its status file's last write (wall ms), null if unknown. */
  async #finishedAt(rec: UnitRecord): Promise<number | null> {
    try {
      return (await Deno.stat(unitPaths(rec.dir).status)).mtime?.getTime() ?? null;
    } catch {
      return null; // status file gone: the unit is being released
    }
  }

  /**
   * Every unit as retention sees it (state, when it finished, release pending), for the
   * retention sweep (src/work/retention_sweep.ts). Unreadable units are left out.
   */
  async retentionView(): Promise<RetentionUnit[]> {
    const out: RetentionUnit[] = [];
    for (const rec of [...this.#units.values()]) {
      let s: StatusFileData;
      try {
        s = await loadStatus(rec.dir);
      } catch {
        continue; // unreadable or being released: not a candidate
      }
      const final = isFinal(s.State);
      out.push({
        id: rec.id,
        state: s.State,
        finishedAt: final ? await this.#finishedAt(rec) : null,
        releasePending: rec.releasePending || !!rec.type?.releasePending?.(s),
      });
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
    return tailResults({
      unitId: rec.id,
      dir: rec.dir,
      startpos,
      pollMs: this.#opts.resultsPollMs ?? 100,
      signal: this.#closing.signal,
      clock: this.#clock,
      logger: this.#log,
    });
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
        if (!force) throw new WorkError(errorText(e));
      }
      if (r === "pending") {
        rec.releasePending = true;
        return r;
      }
    }
    rec.ac.abort();
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < (force ? 1 : 3); attempt++) {
      if (attempt > 0) await delay(this.#opts.releaseRetryMs ?? 1000);
      try {
        await this.#spares.retire(rec.dir);
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
    if (lastErr && !force) throw new WorkError(errorText(lastErr));
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
