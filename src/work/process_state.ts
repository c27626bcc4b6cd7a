/**
 * Go's `os.ProcessState.String()` text for a finished child (`exit status 3`,
 * `signal: killed`), and Go's `exec.LookPath` for finding a command on PATH — the Detail
 * strings and errors a command unit reports (control.md §4.6).
 * @module
 */

import { errorText } from "../util/error_text.ts";
import { searchExecutable } from "./path_search.ts";

const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
  SIGSTKFLT: "stack fault",
  SIGCHLD: "child exited",
  SIGCONT: "continued",
  SIGSTOP: "stopped (signal)",
  SIGTSTP: "stopped",
  SIGTTIN: "stopped (tty input)",
  SIGTTOU: "stopped (tty output)",
  SIGURG: "urgent I/O condition",
  SIGXCPU: "CPU time limit exceeded",
  SIGXFSZ: "file size limit exceeded",
  SIGVTALRM: "virtual timer expired",
  SIGPROF: "profiling timer expired",
  SIGWINCH: "window changed",
  SIGIO: "I/O possible",
  SIGPWR: "power failure",
  SIGSYS: "bad system call",
};

/** How a child ended: an exit code, or the name of the signal (`SIGKILL`) that killed it. */
export interface ChildEnd {
  code: number | null;
  signal: string | null;
}

/** Go's ProcessState.String(): `exit status N` or `signal: <text>`. */
export function processStateText(end: ChildEnd): string {
  if (end.signal) {
    return `signal: ${SIGNAL_TEXT[end.signal] ?? end.signal}`;
  }
  return `exit status ${end.code ?? 0}`;
}

/** Go's ProcessState.ExitCode(): the code, or -1 when killed by a signal. */
export function processExitCode(end: ChildEnd): number {
  return end.signal ? -1 : end.code ?? 0;
}

/**
 * Resolve `command` like Go's exec.Command: names containing `/` are used as given; others
 * are searched on PATH for an executable regular file. Throws Go's
 * `exec: "<cmd>": executable file not found in $PATH`.
 */
export function lookPath(command: string, path = Deno.env.get("PATH") ?? ""): string {
  if (command.includes("/")) return command;
  if (command !== "") {
    const found = searchExecutable(path.split(":").map((d) => d === "" ? "." : d), command);
    if (found) return found;
  }
  throw new Error(`exec: "${command}": executable file not found in $PATH`);
}

const SIGNAL_NUMBERS: readonly string[] = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** Linux signal name for number `n` (`9` → `SIGKILL`), or null when not a known signal. */
export function signalName(n: number): string | null {
  return SIGNAL_NUMBERS[n] || null;
}

/** Go's text for an OS error in exec and open messages (`no such file or directory`). */
export function goOsErrorText(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  return errorText(e);
}

/** Go's exec errors for a path that cannot be executed (checked before the job is spawned). */
export function checkExecutable(file: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(file);
  } catch (e) {
    throw new Error(`fork/exec ${file}: ${goOsErrorText(e)}`);
  }
  if (!st.isFile || st.mode === null || (st.mode & 0o111) === 0) {
    throw new Error(`fork/exec ${file}: permission denied`);
  }
}

/**
 * Check that the unit's stdin opens and create its stdout with mode 0600 (the job only
 * appends), with Go's `open <path>: …` errors.
 */
export function openUnitFiles(paths: { stdin: string; stdout: string }): void {
  try {
    Deno.openSync(paths.stdin, { read: true }).close();
  } catch (e) {
    throw new Error(`open ${paths.stdin}: ${goOsErrorText(e)}`);
  }
  try {
    Deno.openSync(paths.stdout, { write: true, create: true, mode: 0o600 }).close();
  } catch (e) {
    throw new Error(`open ${paths.stdout}: ${goOsErrorText(e)}`);
  }
}
