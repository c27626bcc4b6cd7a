/**
 * The `work-command` work type (control.md §4.6–§4.8, §5.2, §5.3): each unit runs detached, in
 * a new session via `setsid(1)` when available (else Deno's `detached`), so jobs survive node
 * restarts and are shielded from signals sent to the node's process group. By default the job
 * runs under the small `/bin/sh` wrapper of sh_runner.ts and THIS process keeps the status
 * file (Running + StdoutSize, the final state from the wrapper's rc file), adopting wrappers
 * after a restart; with `runnerArgv` set, under upstream's Deno/Go-style command runner
 * (`--command-runner`), which keeps the status itself.
 *
 * Beyond upstream: runner liveness is checked through `/proc` (PID + argv), so a runner that
 * died makes its unit Failed instead of Running forever, and its leftover session processes
 * are killed; cancel never signals a reused PID.
 * @module
 */

import type { Logger, LogLevel } from "../log.ts";
import type { StatusFileData } from "./status_file.ts";
import { isFinal, stdoutSize, WorkState } from "./status_file.ts";
import type { UnitContext, WorkOpResult, WorkUnitType } from "./unit_type.ts";
import { findOnPath, killSessionOrphans, runnerAlive } from "./proc_info.ts";
import { type ChildEnd, processStateText } from "./process_state.ts";
import { delay } from "../util/delay.ts";
import { errorText } from "../util/error_text.ts";
import { isShWrapper, jobPid, prepareShJob, rcOutcome, readRc } from "./sh_runner.ts";

/** How often the node refreshes a wrapper-run unit's Running status and StdoutSize (ms). */
const SH_TICK_MS = 250;

/** A `work-command` section (config.md §3.10). */
export interface WorkCommandConfig {
  worktype: string;
  command: string;
  params?: string;
  allowruntimeparams?: boolean;
  verifysignature?: boolean;
}

/** Builds the argv that starts a command runner for one unit. */
export type RunnerArgv = (command: string, params: string, unitdir: string) => string[];

/** ExtraData of a command unit while its runner is active. */
export interface CommandExtraData {
  Pid: number;
  Params: string;
}

/** Shared dependencies of command unit types (provided by the engine). */
export interface CommandUnitDeps {
  logger: Logger;
  /**
   * Argv of a Deno command runner (`--command-runner`, command_runner.ts) per unit; absent:
   * units run under the light `/bin/sh` wrapper (sh_runner.ts), the node keeping the status.
   */
  runnerArgv?: RunnerArgv;
  /** Log level name handed to runners. */
  logLevel: () => LogLevel;
  /** Runner stdout/stderr: inherit the node's (upstream) or discard. */
  runnerStdio: "inherit" | "null";
  /** Liveness poll period for runners we did not spawn (ms). */
  monitorMs: number;
  /** How long cancel waits for the runner to exit after SIGINT (ms). */
  cancelWaitMs: number;
}

/** Upstream's combineParams: base, runtime, or `base + " " + runtime`. */
export function combineParams(base: string, runtime: string): string {
  if (runtime === "") return base;
  if (base === "") return runtime;
  return `${base} ${runtime}`;
}

function extraPid(s: StatusFileData): number {
  const ed = s.ExtraData as Partial<CommandExtraData> | null;
  return ed && typeof ed === "object" && typeof ed.Pid === "number" ? ed.Pid : 0;
}

interface OwnRunner {
  pid: number;
  /** Settles after the exit was recorded in the status file. */
  handled: Promise<void>;
}

/** One configured `work-command` type. */
export class CommandUnitType implements WorkUnitType {
  readonly name: string;
  readonly verifySignature: boolean;
  readonly advertise = true;
  readonly #cfg: WorkCommandConfig;
  readonly #deps: CommandUnitDeps;
  /** Runners this process spawned, by unit ID. */
  readonly #own = new Map<string, OwnRunner>();
  /** Liveness monitors for runners found at restart, by unit ID. */
  readonly #monitors = new Map<string, AbortController>();
  #closed = false;

  constructor(cfg: WorkCommandConfig, deps: CommandUnitDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
    this.name = cfg.worktype;
    this.verifySignature = cfg.verifysignature ?? false;
  }

  /** Validate runtime params; ExtraData `{Pid: 0, Params: combined}`. */
  allocate(params: Record<string, string>): CommandExtraData {
    const runtime = params["params"] ?? "";
    if (runtime !== "" && !this.#cfg.allowruntimeparams) {
      throw new Error("extra params provided but not allowed");
    }
    return { Pid: 0, Params: combineParams(this.#cfg.params ?? "", runtime) };
  }

  /** Launch the detached runner and record its PID. */
  async start(unit: UnitContext): Promise<void> {
    const runnerArgv = this.#deps.runnerArgv;
    if (!runnerArgv) return await this.#startSh(unit);
    const before = await unit.update((s) => {
      s.State = WorkState.Pending;
      s.Detail = "Launching command runner";
      s.StdoutSize = 0;
    });
    const ed = before.ExtraData as Partial<CommandExtraData> | null;
    const params = ed && typeof ed.Params === "string" ? ed.Params : (this.#cfg.params ?? "");
    const argv = runnerArgv(this.#cfg.command, params, unit.dir);
    let child: Deno.ChildProcess;
    try {
      child = spawnDetached(argv, this.#deps.runnerStdio);
    } catch (e) {
      const msg = errorText(e);
      await unit.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = `Failed to start command runner: ${msg}`;
        s.StdoutSize = 0;
      });
      throw e;
    }
    const pid = child.pid;
    await unit.update((s) => {
      // a runner that already finished cleared ExtraData with its final state: keep it so
      if (isFinal(s.State)) return;
      const cur = s.ExtraData as Partial<CommandExtraData> | null;
      s.ExtraData = { Pid: pid, Params: cur?.Params ?? params };
    });
    unit.logger.debug(`[${unit.id}] command runner started, PID ${pid}`);
    const handled = child.status.then(
      (st) =>
        this.#ownRunnerExited(unit, pid, { code: st.signal ? null : st.code, signal: st.signal }),
      () => this.#ownRunnerExited(unit, pid, { code: null, signal: null }),
    );
    this.#own.set(unit.id, { pid, handled });
    try {
      child.unref(); // the node may exit while the job runs on
    } catch {
      // older runtimes: harmless
    }
  }

  async #ownRunnerExited(
    unit: UnitContext,
    pid: number,
    end: { code: number | null; signal: string | null },
  ): Promise<void> {
    if (this.#closed || unit.signal.aborted) return;
    try {
      const died = await this.#recordRunnerEnd(
        unit,
        pid,
        `Command runner exited unexpectedly: ${processStateText(end)}`,
      );
      if (died) killSessionOrphans(pid);
    } catch (e) {
      unit.logger.error(`[${unit.id}] error recording runner exit: ${errorText(e)}`);
    } finally {
      if (this.#own.get(unit.id)?.pid === pid) this.#own.delete(unit.id);
    }
  }

  /** Params recorded at allocate time (or the configured ones). */
  async #pending(unit: UnitContext): Promise<string> {
    const before = await unit.update((s) => {
      s.State = WorkState.Pending;
      s.Detail = "Launching command runner";
      s.StdoutSize = 0;
    });
    const ed = before.ExtraData as Partial<CommandExtraData> | null;
    return ed && typeof ed.Params === "string" ? ed.Params : (this.#cfg.params ?? "");
  }

  /**
   * Start the unit under the `/bin/sh` wrapper (sh_runner.ts): a job that cannot start is
   * Failed with Go's text (the submit itself succeeds, as with upstream's runner); a wrapper
   * that cannot be spawned fails the start.
   */
  async #startSh(unit: UnitContext): Promise<void> {
    const params = await this.#pending(unit);
    let argv: string[];
    try {
      argv = prepareShJob(this.#cfg.command, params, unit.dir);
    } catch (e) {
      const msg = errorText(e);
      await unit.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = msg;
        s.StdoutSize = 0;
      });
      return;
    }
    let child: Deno.ChildProcess;
    try {
      // nothing the wrapper itself could print belongs anywhere: the job has its own files
      child = spawnDetached(argv, "null");
    } catch (e) {
      const msg = errorText(e);
      await unit.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = `Failed to start command runner: ${msg}`;
      });
      throw e;
    }
    const pid = child.pid;
    await unit.update((s) => {
      if (isFinal(s.State)) return;
      s.ExtraData = { Pid: pid, Params: params };
    });
    unit.logger.debug(`[${unit.id}] command wrapper started, PID ${pid}`);
    const exited = child.status.then(
      (st) => ({ code: st.signal ? null : st.code, signal: st.signal }),
      () => ({ code: null, signal: null }),
    );
    const handled = exited.then(() => {
      if (this.#own.get(unit.id)?.pid === pid) this.#own.delete(unit.id);
    });
    this.#own.set(unit.id, { pid, handled }); // cancel waits on it
    try {
      child.unref();
    } catch {
      // older runtimes: harmless
    }
    this.#watchSh(unit, pid, exited);
  }

  /**
   * Keep a wrapper-run unit's status: Running `Running: PID <job>` with StdoutSize every
   * {@link SH_TICK_MS}, then the final state from the rc file. `exited` is the wrapper's end
   * when this process spawned it; adopted wrappers are checked through `/proc`.
   */
  #watchSh(unit: UnitContext, pid: number, exited: Promise<ChildEnd> | null): void {
    const ac = new AbortController();
    this.#monitors.set(unit.id, ac);
    const signal = AbortSignal.any([ac.signal, unit.signal]);
    let ended: ChildEnd | null = null;
    exited?.then((e) => (ended = e));
    const tickMs = exited ? SH_TICK_MS : Math.min(SH_TICK_MS, this.#deps.monitorMs);
    (async () => {
      let shown = "";
      let job = 0;
      while (!signal.aborted) {
        const tick = new AbortController();
        const wake = AbortSignal.any([signal, tick.signal]);
        await Promise.race([delay(tickMs, wake), exited ?? delay(tickMs, wake)]);
        tick.abort();
        if (signal.aborted || this.#closed) return;
        const gone = exited ? ended !== null : !runnerAlive(pid, unit.dir);
        const rc = readRc(unit.dir);
        if (rc !== null) return await this.#finishSh(unit, pid, rc);
        if (gone) return await this.#shVanished(unit, pid, ended);
        if (job === 0) job = jobPid(pid);
        const shownPid = job || pid; // the wrapper's own while its job cannot be seen
        const size = await stdoutSize(unit.dir);
        const now = `${shownPid}/${size}`;
        if (now === shown) continue;
        await unit.update((s) => {
          if (isFinal(s.State)) return;
          s.State = WorkState.Running;
          s.Detail = `Running: PID ${shownPid}`;
          s.StdoutSize = size;
        });
        shown = now;
      }
    })().catch((e) => unit.logger.error(`[${unit.id}] wrapper watch failed: ${errorText(e)}`))
      .finally(() => {
        if (this.#monitors.get(unit.id) === ac) this.#monitors.delete(unit.id);
      });
  }

  /** Record the job's end from its rc file (a unit already final is left as it is). */
  async #finishSh(unit: UnitContext, pid: number, rc: number): Promise<void> {
    const { state, detail } = rcOutcome(rc);
    const size = await stdoutSize(unit.dir);
    await unit.update((s) => {
      if (!isFinal(s.State)) {
        s.State = state;
        s.Detail = detail;
        s.StdoutSize = size;
      }
      if (extraPid(s) === pid) s.ExtraData = null;
    });
  }

  /** The wrapper ended without an rc file: it was killed; fail the unit, kill leftovers. */
  async #shVanished(unit: UnitContext, pid: number, end: ChildEnd | null): Promise<void> {
    if (end === null) return await this.#runnerVanished(unit, pid);
    const died = await this.#recordRunnerEnd(
      unit,
      pid,
      `Command runner exited unexpectedly: ${processStateText(end)}`,
    );
    if (died) killSessionOrphans(pid);
  }

  /** Startup: leave finished units; fail Pending ones; resume or fail Running ones. */
  async restart(unit: UnitContext): Promise<void> {
    const s = await unit.load();
    if (isFinal(s.State)) return;
    const pid = extraPid(s);
    const alive = runnerAlive(pid, unit.dir);
    if (alive && isShWrapper(pid)) return this.#watchSh(unit, pid, null);
    const rc = alive ? null : readRc(unit.dir);
    if (rc !== null) return await this.#finishSh(unit, pid, rc); // it ended while we were down
    if (s.State === WorkState.Pending && !alive) {
      const size = await stdoutSize(unit.dir);
      await unit.update((t) => {
        t.State = WorkState.Failed;
        t.Detail = "Pending at restart";
        t.StdoutSize = size;
      });
      return;
    }
    if (!alive) {
      await this.#runnerVanished(unit, pid);
      return;
    }
    this.#monitor(unit, pid);
  }

  /**
   * The runner `pid` ended: a unit it left unfinished becomes Failed with `detail` (true is
   * returned then), and its PID is cleared from ExtraData.
   */
  async #recordRunnerEnd(unit: UnitContext, pid: number, detail: string): Promise<boolean> {
    const size = await stdoutSize(unit.dir);
    let died = false;
    await unit.update((s) => {
      if (!isFinal(s.State)) {
        died = true;
        s.State = WorkState.Failed;
        s.Detail = detail;
        s.StdoutSize = size;
      }
      if (extraPid(s) === pid) s.ExtraData = null;
    });
    return died;
  }

  async #runnerVanished(unit: UnitContext, pid: number): Promise<void> {
    const died = await this.#recordRunnerEnd(
      unit,
      pid,
      pid > 0
        ? `Runner process ${pid} vanished while unit was running`
        : "Runner process vanished while unit was running",
    );
    if (died && pid > 0) {
      const killed = killSessionOrphans(pid);
      if (killed.length) {
        unit.logger.warning(`[${unit.id}] killed processes left by runner ${pid}: ${killed}`);
      }
    }
  }

  #monitor(unit: UnitContext, pid: number): void {
    const ac = new AbortController();
    this.#monitors.set(unit.id, ac);
    const signal = AbortSignal.any([ac.signal, unit.signal]);
    (async () => {
      while (!signal.aborted) {
        await delay(this.#deps.monitorMs, signal);
        if (signal.aborted || this.#closed) return;
        if (!runnerAlive(pid, unit.dir)) {
          await this.#runnerVanished(unit, pid);
          return;
        }
      }
    })().catch((e) => unit.logger.error(`[${unit.id}] runner monitor failed: ${errorText(e)}`))
      .finally(() => {
        if (this.#monitors.get(unit.id) === ac) this.#monitors.delete(unit.id);
      });
  }

  /** SIGINT the runner, wait for it, then Canceled `Canceled` (finished units unchanged). */
  async cancel(unit: UnitContext): Promise<WorkOpResult> {
    this.#monitors.get(unit.id)?.abort();
    const s = await unit.load();
    if (isFinal(s.State)) return "done"; // finished: state unchanged
    const pid = extraPid(s);
    if (pid <= 0) return "done";
    if (!runnerAlive(pid, unit.dir)) {
      // Runner already gone: nothing to signal (and the PID may belong to someone else).
      const rc = readRc(unit.dir);
      if (rc !== null) await this.#finishSh(unit, pid, rc); // finished: record, not cancel
      else await this.#runnerVanished(unit, pid);
      return "done";
    }
    // a shell wrapper leads the job's process group: the job gets the SIGINT (a Deno runner
    // forwards it itself)
    const group = isShWrapper(pid) ? -pid : pid;
    try {
      Deno.kill(group, "SIGINT");
    } catch {
      // the runner is already gone: nothing left to signal
      return "done";
    }
    const own = this.#own.get(unit.id);
    const deadline = Date.now() + this.#deps.cancelWaitMs;
    if (own && own.pid === pid) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        own.handled,
        new Promise<void>((r) => (timer = setTimeout(r, this.#deps.cancelWaitMs))),
      ]);
      clearTimeout(timer);
    }
    while (runnerAlive(pid, unit.dir) && Date.now() < deadline) await delay(100);
    if (runnerAlive(pid, unit.dir)) {
      unit.logger.warning(`[${unit.id}] runner ${pid} ignored SIGINT; killing it`);
      try {
        Deno.kill(group, "SIGKILL");
      } catch {
        // gone
      }
      killSessionOrphans(pid);
    }
    await unit.update((t) => {
      t.State = WorkState.Canceled;
      t.Detail = "Canceled";
      if (extraPid(t) === pid) t.ExtraData = null;
    });
    return "done";
  }

  /** Release implies cancel. */
  async release(unit: UnitContext, force: boolean): Promise<WorkOpResult> {
    try {
      await this.cancel(unit);
    } catch (e) {
      if (!force) throw e;
    }
    return "done";
  }

  /** Stop monitors; running jobs keep running. */
  close(): void {
    this.#closed = true;
    for (const ac of this.#monitors.values()) ac.abort();
    this.#monitors.clear();
  }
}

/**
 * Start `argv` in a new session: through `setsid(1)` if it is on PATH (it execs without
 * forking, so the PID is the runner's), else with Deno's `detached` option.
 */
export function spawnDetached(argv: string[], stdio: "inherit" | "null"): Deno.ChildProcess {
  const setsid = findOnPath("setsid");
  if (setsid) {
    return new Deno.Command(setsid, { args: argv, stdin: "null", stdout: stdio, stderr: stdio })
      .spawn();
  }
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: stdio,
    stderr: stdio,
    detached: true,
  }).spawn();
}
