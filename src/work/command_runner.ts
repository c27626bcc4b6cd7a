/**
 * The detached command runner (control.md §5.3, config.md §2.7): the hidden mode
 * `<self> --node id=worker --log-level <lvl> --command-runner command=<c> params=<p> unitdir=<d>`.
 *
 * It runs one work-command unit to completion, independent of the node process: writes
 * Pending `Not started yet`, splits params with shlex, starts the command (stdin = the unit's
 * `stdin` file; stdout and stderr = ONE descriptor on the unit's `stdout` file, so both share
 * an offset and interleave in order), refreshes Running `Running: PID <pid>` + StdoutSize every
 * 250 ms, forwards SIGINT/SIGTERM as SIGINT (SIGKILL after 10 s; then Failed `Killed`, exit
 * 255), and finally writes Succeeded/Failed with Go's process-state text and returns the
 * child's exit code (255 when it died from a signal or the runner failed).
 * @module
 */

import { errorText } from "../util/error_text.ts";
import { Logger } from "../log.ts";
import { shlexSplit } from "../gocompat/shlex.ts";
import {
  stdoutSize,
  unitPaths,
  updateBasicStatus,
  updateStatus,
  WorkState,
} from "./status_file.ts";
import type { ChildEnd } from "./process_state.ts";
import {
  checkExecutable,
  goOsErrorText,
  lookPath,
  openUnitFiles,
  processExitCode,
  processStateText,
} from "./process_state.ts";
import { processGroupMembers, procStat } from "./proc_info.ts";

/** Parameters of the `--command-runner` directive. */
export interface CommandRunnerParams {
  command: string;
  params: string;
  unitdir: string;
  /** Logger for runner errors (defaults to an info-level stdout logger). */
  logger?: Logger;
  /** Running-status refresh period (ms); 250 like upstream. */
  pollMs?: number;
  /** Grace period between the forwarded SIGINT and SIGKILL (ms); 10 s like upstream. */
  killAfterMs?: number;
}

/**
 * Parse the directive's `key=value` tokens (`command=…`, `params=…`, `unitdir=…`, all
 * required). Values may contain `=` and spaces (each is one argv element).
 */
export function parseCommandRunnerArgs(
  tokens: string[],
): { command: string; params: string; unitdir: string } {
  const kv = new Map<string, string>();
  for (const t of tokens) {
    const i = t.indexOf("=");
    if (i <= 0) throw new Error(`command-runner: expected key=value, got ${JSON.stringify(t)}`);
    kv.set(t.slice(0, i).toLowerCase(), t.slice(i + 1));
  }
  for (const k of ["command", "params", "unitdir"]) {
    if (!kv.has(k)) throw new Error(`command-runner: missing required parameter ${k}`);
  }
  return { command: kv.get("command")!, params: kv.get("params")!, unitdir: kv.get("unitdir")! };
}

const RUNNER_FAILED = 255; // Go's os.Exit(-1)

/** Run one unit's command to completion; resolves to the process exit code to use. */
export async function runCommandRunner(p: CommandRunnerParams): Promise<number> {
  const log = p.logger ?? new Logger();
  const dir = p.unitdir;
  try {
    await updateBasicStatus(dir, WorkState.Pending, "Not started yet", 0);
  } catch (e) {
    log.error(`Error updating status file ${dir}/status: ${errorText(e)}`);
  }
  try {
    return await runChild(p, log);
  } catch (e) {
    const msg = errorText(e);
    await writeOrLog(dir, WorkState.Failed, msg, log);
    log.error(`Command runner exited with error: ${msg}`);
    return RUNNER_FAILED;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The trampoline that wires stdio: `sh` opens the unit's stdin file, opens the stdout file
 * ONCE in append mode and dups it onto both fd 1 and fd 2 (one shared offset, so stdout and
 * stderr interleave in write order), then `exec`s the command with its argv untouched. The
 * shell never parses user data (paths and argv arrive as positional parameters), and after
 * `exec` the child's PID is the command's PID.
 */
const TRAMPOLINE = 'i=$1; o=$2; shift 2; exec "$@" <"$i" >>"$o" 2>&1';

async function runChild(p: CommandRunnerParams, log: Logger): Promise<number> {
  const dir = p.unitdir;
  const paths = unitPaths(dir);
  const args = p.params === "" ? [] : shlexSplit(p.params);
  const file = lookPath(p.command);

  // Signals can arrive at any time from here on; remember them until the child exists.
  const term = deferred<void>();
  const onSignal = () => term.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    openUnitFiles(paths);
    checkExecutable(file);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("/bin/sh", {
        // a leading "-" would read as an option to `exec`
        args: [
          "-c",
          TRAMPOLINE,
          "sh",
          paths.stdin,
          paths.stdout,
          file.startsWith("-") ? `./${file}` : file,
          ...args,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (e) {
      throw new Error(`fork/exec ${file}: ${goOsErrorText(e)}`);
    }
    const exited: Promise<ChildEnd> = child.status.then((s) => ({
      code: s.signal ? null : s.code,
      signal: s.signal,
    }));
    return await superviseChild(child, exited, term.promise, p, log);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

function sleep(ms: number): { promise: Promise<"tick">; cancel: () => void } {
  const t = AbortSignal.timeout(ms);
  let fire: () => void = () => {};
  const promise = new Promise<"tick">((r) => (fire = () => r("tick")));
  t.addEventListener("abort", () => fire(), { once: true });
  return { promise, cancel: () => (fire = () => {}) };
}

async function superviseChild(
  proc: Deno.ChildProcess,
  exited: Promise<ChildEnd>,
  term: Promise<void>,
  p: CommandRunnerParams,
  log: Logger,
): Promise<number> {
  const dir = p.unitdir;
  const pid = proc.pid;
  const pollMs = p.pollMs ?? 250;
  let failures = 0;
  for (;;) {
    const tick = sleep(pollMs);
    const ev = await Promise.race([
      exited.then((end) => ({ kind: "exit" as const, end })),
      term.then(() => ({ kind: "term" as const })),
      tick.promise.then(() => ({ kind: "tick" as const })),
    ]);
    tick.cancel();
    if (ev.kind === "exit") {
      const state = ev.end.code === 0 && !ev.end.signal ? WorkState.Succeeded : WorkState.Failed;
      await writeOrLog(dir, state, processStateText(ev.end), log);
      return processExitCode(ev.end) & 0xff;
    }
    if (ev.kind === "term") {
      await termThenKill(proc, pid, exited, p.killAfterMs ?? 10_000, log);
      await writeOrLog(dir, WorkState.Failed, "Killed", log);
      return RUNNER_FAILED;
    }
    try {
      await updateBasicStatus(dir, WorkState.Running, `Running: PID ${pid}`, await stdoutSize(dir));
      failures = 0;
    } catch (e) {
      log.error(`Error updating status file ${dir}/status: ${errorText(e)}`);
      if (++failures > 3) {
        log.error(`Exceeded retries for updating status file ${dir}/status`);
        proc.kill("SIGKILL"); // nobody could track it any more
        await exited;
        return RUNNER_FAILED;
      }
    }
  }
}

/**
 * Forward SIGINT and escalate to SIGKILL after `killAfterMs`. When this runner leads its own
 * process group (it was started with setsid, the normal case) the whole job's group gets the
 * signals — like a terminal's Ctrl-C — so a shell's children are not left behind; leftovers
 * are SIGKILLed once the command is gone. Otherwise only the command is signalled (upstream).
 */
async function termThenKill(
  proc: Deno.ChildProcess,
  pid: number,
  exited: Promise<ChildEnd>,
  killAfterMs: number,
  log: Logger,
): Promise<void> {
  const leader = procStat(Deno.pid)?.pgrp === Deno.pid;
  const signalJob = (sig: Deno.Signal) => {
    try {
      proc.kill(sig);
    } catch {
      // already gone
    }
    if (!leader) return;
    for (const member of processGroupMembers(Deno.pid, [Deno.pid, pid])) {
      try {
        Deno.kill(member, sig);
      } catch {
        // raced with its exit
      }
    }
  };
  signalJob("SIGINT");
  const t = sleep(killAfterMs);
  const r = await Promise.race([exited.then(() => "exit" as const), t.promise]);
  t.cancel();
  if (r !== "exit") {
    log.warning(`timed out waiting for pid ${pid} to terminate with SIGINT`);
    log.info(`sending SIGKILL to pid ${pid}`);
    signalJob("SIGKILL");
    await exited;
  }
  if (leader) {
    for (const member of processGroupMembers(Deno.pid, [Deno.pid])) {
      try {
        Deno.kill(member, "SIGKILL");
      } catch {
        // raced with its exit
      }
    }
  }
}

async function writeOrLog(dir: string, state: number, detail: string, log: Logger) {
  try {
    await writeFinalStatus(dir, state, detail);
  } catch (e) {
    log.error(`Error updating status file ${dir}/status: ${errorText(e)}`);
  }
}

/**
 * The runner's last status write: the final state, the stdout size and — in the same update —
 * ExtraData cleared when it names this runner (or no runner yet), so no reader ever sees a
 * finished unit that still carries a live-looking PID. (Upstream leaves that to the node,
 * which clears it a moment later when it reaps the runner; the node still does, for runners
 * that die before getting here.)
 */
export async function writeFinalStatus(dir: string, state: number, detail: string) {
  const size = await stdoutSize(dir);
  await updateStatus(dir, (s) => {
    s.State = state;
    s.Detail = detail;
    s.StdoutSize = size;
    const ed = s.ExtraData as { Pid?: unknown } | null;
    const pid = ed && typeof ed === "object" ? ed.Pid : undefined;
    if (pid === Deno.pid || pid === 0) s.ExtraData = null;
  });
}
