/**
 * The shell wrapper that runs a `work-command` unit's job (issue #11: a unit's start costs a
 * `/bin/sh` start, not a Deno start). The node prepares the unit (resolves the command on
 * PATH, splits params with shlex, checks stdin, creates stdout 0600) and starts, in a new
 * session,
 *
 * `/bin/sh -c <SCRIPT> --command-runner unitdir=<dir> <command> <args…>`
 *
 * The wrapper runs the job as its child (stdin = the unit's `stdin` file; stdout and stderr =
 * ONE append descriptor on `stdout`, so both interleave in write order), survives SIGINT,
 * SIGTERM and SIGHUP itself (traps; the job gets the default actions back), and writes the
 * job's `$?` to `<dir>/rc` when it ends. Everything else — Running with the job's PID,
 * StdoutSize, the final state — is written by the node, which watches the wrapper (its own
 * child, or one adopted after a restart through `/proc`, see proc_info.ts) and the rc file.
 * User strings never enter the script text: they are positional parameters.
 *
 * The argv keeps `--command-runner` and `unitdir=<dir>` so {@link runnerAlive} recognises
 * both these wrappers and the older Deno runners.
 * @module
 */

import { shlexSplit } from "../gocompat/shlex.ts";
import { unitPaths, WorkState } from "./status_file.ts";
import {
  checkExecutable,
  lookPath,
  openUnitFiles,
  processStateText,
  signalName,
} from "./process_state.ts";
import { procCmdline } from "./proc_info.ts";

/**
 * The wrapper script; `$1` is `unitdir=<dir>`, the rest is the job's argv. The job runs in a
 * subshell that execs it, so the redirections never apply to the wrapper itself: the shell's
 * own notes (`Killed`, `Terminated`) go to the wrapper's stderr (discarded), not the output.
 */
export const SH_SCRIPT =
  'd=${1#unitdir=}; shift; trap : INT TERM HUP; (exec "$@") <"$d/stdin" >>"$d/stdout" 2>&1; echo $? >"$d/rc"';

/** Path of the file the wrapper writes the job's exit status to. */
export function rcPath(unitDir: string): string {
  return `${unitDir}/rc`;
}

/**
 * Prepare a unit for its wrapper and return the wrapper's argv (without the session helper).
 * Throws with Go's text (`exec: "x": executable file not found in $PATH`, shlex errors,
 * `open <dir>/stdin: …`, `fork/exec <file>: permission denied`) when the job cannot start; in
 * that case no stdout file is created when the command is not found.
 */
export function prepareShJob(command: string, params: string, unitDir: string): string[] {
  const args = params === "" ? [] : shlexSplit(params);
  const file = lookPath(command);
  const paths = unitPaths(unitDir);
  openUnitFiles(paths);
  checkExecutable(file);
  return ["/bin/sh", "-c", SH_SCRIPT, "--command-runner", `unitdir=${unitDir}`, file, ...args];
}

/** The job's exit status from the rc file, or null while it is absent or not yet written. */
export function readRc(unitDir: string): number | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(rcPath(unitDir));
  } catch {
    // not finished yet
    return null;
  }
  const m = /^(\d+)\n?$/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Final state and Go's ProcessState text for a wrapper's `$?`. The shell reports a job killed
 * by signal N as 128+N, so 129–159 read as `signal: <name>` (a job that itself exits with
 * such a code is reported as that signal — the one difference from the Deno runner).
 */
export function rcOutcome(rc: number): { state: number; detail: string } {
  const sig = rc > 128 && rc < 160 ? signalName(rc - 128) : null;
  const detail = processStateText(sig ? { code: null, signal: sig } : { code: rc, signal: null });
  return { state: rc === 0 ? WorkState.Succeeded : WorkState.Failed, detail };
}

/** True if `pid` runs the shell wrapper (not an older Deno runner). */
export function isShWrapper(pid: number): boolean {
  const argv = procCmdline(pid);
  return argv !== null && argv[1] === "-c" && argv[2] === SH_SCRIPT;
}

/** PID of the wrapper's job (its first child), or 0 when it has none (yet, or any more). */
export function jobPid(wrapperPid: number): number {
  try {
    const t = Deno.readTextFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`).trim();
    const first = Number(t.split(" ")[0]);
    return Number.isInteger(first) && first > 0 ? first : 0;
  } catch {
    // gone, or no children file on this kernel
    return 0;
  }
}
