/**
 * The per-unit `status` file (control.md §4.3, §4.4): one compact JSON line
 * `{"State","Detail","StdoutSize","WorkType","ExtraData"}` plus `\n`, read and rewritten in
 * place (write, then truncate to length; no rename) while holding an exclusive `flock` on
 * `status.lock`, the lock Go receptor and its command runner take, so both can share a unit
 * directory.
 * @module
 */

import { errorText } from "../util/error_text.ts";

/** Numeric work states (control.md §4.2). */
export const WorkState = {
  Pending: 0,
  Running: 1,
  Succeeded: 2,
  Failed: 3,
  Canceled: 4,
} as const;

/** The record stored in `<unitdir>/status`. */
export interface StatusFileData {
  State: number;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: unknown;
}

/** Upstream's state names; other values become `Unknown: <n>`. */
export function stateName(state: number): string {
  switch (state) {
    case 0:
      return "Pending";
    case 1:
      return "Running";
    case 2:
      return "Succeeded";
    case 3:
      return "Failed";
    case 4:
      return "Canceled";
    default:
      return `Unknown: ${state}`;
  }
}

/** Upstream's "complete" test: Succeeded or Failed only (Canceled is not complete). */
export function isComplete(state: number): boolean {
  return state === WorkState.Succeeded || state === WorkState.Failed;
}

/** Complete or Canceled: nothing will change this unit's output any more. */
export function isFinal(state: number): boolean {
  return isComplete(state) || state === WorkState.Canceled;
}

/** Error for an unreadable or malformed status file, naming the file. */
export class StatusFileError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "StatusFileError";
  }
}

/** JSON.stringify plus Go's HTML-safe escapes (`<`, `>`, `&`, U+2028, U+2029). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** Encode a status record as the file's single line (fixed key order, trailing `\n`). */
export function encodeStatus(s: StatusFileData): string {
  return goJson({
    State: s.State,
    Detail: s.Detail,
    StdoutSize: s.StdoutSize,
    WorkType: s.WorkType,
    ExtraData: s.ExtraData === undefined ? null : s.ExtraData,
  }) + "\n";
}

/** A fresh record (Go zero values). */
export function emptyStatus(): StatusFileData {
  return { State: 0, Detail: "", StdoutSize: 0, WorkType: "", ExtraData: null };
}

/**
 * Decode a status file's text (its first line); missing keys keep Go's zero values. Throws
 * StatusFileError.
 */
export function decodeStatus(text: string, path = "status"): StatusFileData {
  let raw: unknown;
  // one JSON line; anything after its newline is left over from an interrupted rewrite
  const nl = text.indexOf("\n");
  try {
    raw = JSON.parse(nl >= 0 ? text.slice(0, nl) : text);
  } catch (e) {
    throw new StatusFileError(path, `invalid JSON: ${errorText(e)}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new StatusFileError(path, "status is not a JSON object");
  }
  const o = raw as Record<string, unknown>;
  const s = emptyStatus();
  if (o.State !== undefined && o.State !== null) {
    if (typeof o.State !== "number") throw new StatusFileError(path, "State is not a number");
    s.State = Math.trunc(o.State);
  }
  if (o.Detail !== undefined && o.Detail !== null) {
    if (typeof o.Detail !== "string") throw new StatusFileError(path, "Detail is not a string");
    s.Detail = o.Detail;
  }
  if (o.StdoutSize !== undefined && o.StdoutSize !== null) {
    if (typeof o.StdoutSize !== "number") {
      throw new StatusFileError(path, "StdoutSize is not a number");
    }
    s.StdoutSize = Math.trunc(o.StdoutSize);
  }
  if (o.WorkType !== undefined && o.WorkType !== null) {
    if (typeof o.WorkType !== "string") throw new StatusFileError(path, "WorkType is not a string");
    s.WorkType = o.WorkType;
  }
  s.ExtraData = o.ExtraData === undefined ? null : o.ExtraData;
  return s;
}

/** Paths of a unit directory's files. */
export function unitPaths(unitDir: string): {
  status: string;
  lock: string;
  stdin: string;
  stdout: string;
} {
  return {
    status: `${unitDir}/status`,
    lock: `${unitDir}/status.lock`,
    stdin: `${unitDir}/stdin`,
    stdout: `${unitDir}/stdout`,
  };
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Run `fn` while holding the exclusive flock on `<unitDir>/status.lock` (opened create, mode
 * 0600; Go's lockedfile also truncates it, but nobody ever writes it, and on ext4 truncating
 * even an empty file updates the inode: one metadata write per status read). Only the flock
 * itself is an async op (it can wait for a runner); the open is a plain syscall.
 */
export async function withStatusLock<T>(unitDir: string, fn: () => T | Promise<T>): Promise<T> {
  const lock = Deno.openSync(unitPaths(unitDir).lock, { write: true, create: true, mode: 0o600 });
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close(); // closing the descriptor drops the flock
  }
}

/**
 * The whole content of an open file and its length in bytes, read synchronously (status files
 * are one short line).
 */
function readAllSync(file: Deno.FsFile): { text: string; length: number } {
  let buf = new Uint8Array(1024);
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const r = file.readSync(buf.subarray(n));
    if (r === null || r === 0) break;
    n += r;
  }
  return { text: decoder.decode(buf.subarray(0, n)), length: n };
}

/**
 * Rewrite an open status file in place: write the new line at offset 0, then cut the file to
 * its length. Readers hold the same lock, so they never see the step in between; unlike
 * truncate-to-zero-then-write, ext4 does not force a data flush at close for this pattern
 * (its replace-via-truncate heuristic), which made every status write cost ~1 ms of wall time.
 * A crash between the two steps leaves the new line followed by old bytes: readers use the
 * first line only ({@link decodeStatus}).
 */
function rewriteSync(f: Deno.FsFile, s: StatusFileData, oldLength = Infinity): void {
  const bytes = encoder.encode(encodeStatus(s));
  f.seekSync(0, Deno.SeekMode.Start);
  let off = 0;
  while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
  // cutting a file that did not shrink is one inode update (ext4) for nothing
  if (bytes.length < oldLength) f.truncateSync(bytes.length);
}

/** Load the status file under the lock. Throws Deno.errors.NotFound or StatusFileError. */
export function loadStatus(unitDir: string): Promise<StatusFileData> {
  const path = unitPaths(unitDir).status;
  return withStatusLock(unitDir, () => decodeStatus(Deno.readTextFileSync(path), path));
}

/** Overwrite the status file under the lock (create, 0600, rewritten in place). */
export function saveStatus(unitDir: string, s: StatusFileData): Promise<void> {
  const path = unitPaths(unitDir).status;
  return withStatusLock(unitDir, () => {
    const f = Deno.openSync(path, { write: true, create: true, mode: 0o600 });
    try {
      rewriteSync(f, s);
    } finally {
      f.close();
    }
  });
}

/**
 * Read-modify-write under the lock: load (an empty or absent file counts as zero values),
 * let `change` edit the record, rewrite it in place. Returns the new record.
 */
export function updateStatus(
  unitDir: string,
  change: (s: StatusFileData) => void,
): Promise<StatusFileData> {
  const path = unitPaths(unitDir).status;
  return withStatusLock(unitDir, () => {
    const f = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
    try {
      const { text, length } = readAllSync(f);
      const s = text.trim() === "" ? emptyStatus() : decodeStatus(text, path);
      change(s);
      rewriteSync(f, s, length);
      return s;
    } finally {
      f.close();
    }
  });
}

/**
 * Upstream's UpdateBasicStatus: set State and Detail, and StdoutSize unless it is negative.
 */
export function updateBasicStatus(
  unitDir: string,
  state: number,
  detail: string,
  stdoutSize: number,
): Promise<StatusFileData> {
  return updateStatus(unitDir, (s) => {
    s.State = state;
    s.Detail = detail;
    if (stdoutSize >= 0) s.StdoutSize = stdoutSize;
  });
}

/** Size of `<unitDir>/stdout`, or 0 if it does not exist (one stat syscall, no thread hop). */
export function stdoutSize(unitDir: string): Promise<number> {
  try {
    return Promise.resolve(Deno.statSync(unitPaths(unitDir).stdout).size);
  } catch {
    // no stdout file yet: size 0, as upstream reports
    return Promise.resolve(0);
  }
}
