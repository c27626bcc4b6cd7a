/**
 * Linux `/proc` probes for detached command runners: is the process recorded in a unit's
 * `ExtraData.Pid` still OUR runner for THAT unit (not a zombie, not a reused PID), and which
 * processes were left behind in a dead runner's session. Upstream never checks this
 * (control.md §4.5 quirk); we do, so a unit is never stuck Running and cancel never signals
 * a stranger.
 * @module
 */

import { searchExecutable } from "./path_search.ts";

/** Fields of `/proc/<pid>/stat` we use. */
export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

/** Parse `/proc/<pid>/stat` text (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  if (rest.length < 4 || !Number.isInteger(pid)) return null;
  return {
    pid,
    state: rest[0],
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
  };
}

/** Read `/proc/<pid>/stat`, or null if the process does not exist. */
export function procStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    // process gone (or /proc unreadable): no stat
    return null;
  }
}

/** True if `pid` is absent or a zombie (it will never run again). */
export function processGone(pid: number): boolean {
  const st = procStat(pid);
  return st === null || st.state === "Z" || st.state === "X";
}

/** The argv of a live process (`/proc/<pid>/cmdline`), or null (absent, zombie, no access). */
export function procCmdline(pid: number): string[] | null {
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    if (raw === "") return null; // zombies and kernel threads have none
    const parts = raw.split("\0");
    if (parts[parts.length - 1] === "") parts.pop();
    return parts;
  } catch {
    // process gone (or /proc unreadable): no argv
    return null;
  }
}

/**
 * True if `pid` is alive and is a command runner for `unitDir`: its argv holds
 * `--command-runner` and `unitdir=<unitDir>`.
 */
export function runnerAlive(pid: number, unitDir: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (processGone(pid)) return false;
  const argv = procCmdline(pid);
  if (argv === null || !argv.includes("--command-runner")) return false;
  const arg = argv.find((a) => a.startsWith("unitdir="));
  if (arg === undefined) return false;
  const theirs = arg.slice("unitdir=".length);
  if (theirs === unitDir) return true;
  // Same directory spelled differently (relative to the runner's cwd, extra slashes, links)?
  try {
    const abs = theirs.startsWith("/")
      ? theirs
      : `${Deno.readLinkSync(`/proc/${pid}/cwd`)}/${theirs}`;
    return Deno.realPathSync(abs) === Deno.realPathSync(unitDir);
  } catch {
    // process gone or cwd unreadable: not ours
    return false;
  }
}

/**
 * SIGKILL every process left in the session a dead runner led (session id = runner PID,
 * since the runner was started with setsid). Does nothing if a live process now owns that
 * PID as its own session leader (PID reused for an unrelated session). Returns the PIDs
 * signalled.
 */
export function killSessionOrphans(runnerPid: number): number[] {
  if (!Number.isInteger(runnerPid) || runnerPid <= 1) return [];
  const leader = procStat(runnerPid);
  if (leader && leader.state !== "Z" && leader.session === runnerPid) return [];
  const killed: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    // no /proc: nothing to scan
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (pid === Deno.pid || pid === runnerPid) continue;
    const st = procStat(pid);
    if (!st || st.session !== runnerPid || st.state === "Z") continue;
    try {
      Deno.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // raced with its exit
    }
  }
  return killed;
}

/** Absolute path of an executable named `name` on PATH, or null. */
export function findOnPath(name: string, path = Deno.env.get("PATH") ?? ""): string | null {
  return searchExecutable(path.split(":").filter((d) => d !== ""), name);
}

/** PIDs of live (non-zombie) processes whose process group is `pgid`, excluding `except`. */
export function processGroupMembers(pgid: number, except: number[] = []): number[] {
  const out: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    // no /proc: nothing to scan
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (except.includes(pid)) continue;
    const st = procStat(pid);
    if (st && st.pgrp === pgid && st.state !== "Z" && st.state !== "X") out.push(pid);
  }
  return out;
}
