/**
 * The per-unit `status` file (control.md §4.3, §4.4): one compact JSON line
 * `{"State","Detail","StdoutSize","WorkType","ExtraData"}` plus `\n`, read and rewritten in
 * place (truncate + write, no rename) while holding an exclusive `flock` on `status.lock`,
 * exactly as Go receptor and its command runner do, so both can share a unit directory.
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

/** Decode a status file's text; missing keys keep Go's zero values. Throws StatusFileError. */
export function decodeStatus(text: string, path = "status"): StatusFileData {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
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
 * Run `fn` while holding the exclusive flock on `<unitDir>/status.lock`
 * (opened create+truncate, mode 0600, like Go's lockedfile).
 */
export async function withStatusLock<T>(unitDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = await Deno.open(unitPaths(unitDir).lock, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o600,
  });
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close(); // closing the descriptor drops the flock
  }
}

async function readAllFrom(file: Deno.FsFile): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return decoder.decode(all);
}

/** Load the status file under the lock. Throws Deno.errors.NotFound or StatusFileError. */
export function loadStatus(unitDir: string): Promise<StatusFileData> {
  const path = unitPaths(unitDir).status;
  return withStatusLock(unitDir, async () => decodeStatus(await Deno.readTextFile(path), path));
}

/** Overwrite the status file under the lock (create, truncate, 0600). */
export function saveStatus(unitDir: string, s: StatusFileData): Promise<void> {
  const path = unitPaths(unitDir).status;
  return withStatusLock(unitDir, async () => {
    const f = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      await writeAll(f, encoder.encode(encodeStatus(s)));
    } finally {
      f.close();
    }
  });
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await f.write(bytes.subarray(off));
}

/**
 * Read-modify-write under the lock: load (an empty or absent file counts as zero values),
 * let `change` edit the record, truncate and rewrite in place. Returns the new record.
 */
export function updateStatus(
  unitDir: string,
  change: (s: StatusFileData) => void,
): Promise<StatusFileData> {
  const path = unitPaths(unitDir).status;
  return withStatusLock(unitDir, async () => {
    const f = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
    try {
      const text = await readAllFrom(f);
      const s = text.trim() === "" ? emptyStatus() : decodeStatus(text, path);
      change(s);
      await f.truncate(0);
      await f.seek(0, Deno.SeekMode.Start);
      await writeAll(f, encoder.encode(encodeStatus(s)));
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

/** Size of `<unitDir>/stdout`, or 0 if it does not exist. */
export async function stdoutSize(unitDir: string): Promise<number> {
  try {
    return (await Deno.stat(unitPaths(unitDir).stdout)).size;
  } catch {
    // no stdout file yet: size 0, as upstream reports
    return 0;
  }
}
