/**
 * Tailing a unit's stdout for `work results` (control.md §4.9): streams output as it appears
 * and ends once the unit is complete and everything up to StdoutSize was sent, when it is
 * Canceled and the file is drained, or when the unit directory / stdout file disappears.
 *
 * Order matters: every "nothing (more) to read" observation is followed by a status read, and
 * the runner writes its final status only after all output is in the file. So a final status
 * seen AFTER a failed open or an empty read does not prove the output is absent — a fast job can
 * create its stdout, write it and finish in between (seen under load: `work submit -f` printing
 * nothing). The stream therefore looks at the file once more after seeing a final status and
 * ends only when that second look finds nothing.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { delay } from "../util/delay.ts";
import { errorText } from "../util/error_text.ts";
import type { StatusFileData } from "./status_file.ts";
import { isComplete, isFinal, loadStatus, unitPaths, WorkState } from "./status_file.ts";

/** Read size while tailing stdout. */
const READ_CHUNK = 256 * 1024;
/** Consecutive missing-stdout checks before a results stream gives up (upstream: 4 × 1 s). */
const STDOUT_MISSING_LIMIT_MS = 4000;

/** What {@link tailResults} needs. */
export interface TailOptions {
  unitId: string;
  /** The unit directory. */
  dir: string;
  /** First byte to send. */
  startpos: number;
  /** Poll period while waiting for output (ms). */
  pollMs: number;
  /** Ends the stream (engine shutdown). */
  signal: AbortSignal;
  clock: Clock;
  logger: Logger;
  /** Reads the unit's status (default {@link loadStatus}); tests interpose on it. */
  readStatus?: (dir: string) => Promise<StatusFileData>;
}

/** The unit's status, or null when the unit is gone (its status file no longer exists). */
async function statusOrGone(
  dir: string,
  read: (dir: string) => Promise<StatusFileData>,
): Promise<StatusFileData | null> {
  try {
    return await read(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e; // logged by the pull loop, which then ends the stream
  }
}

/** The stdout file opened for reading, or null while it does not exist (or cannot be opened). */
async function openOrNull(path: string): Promise<Deno.FsFile | null> {
  try {
    return await Deno.open(path, { read: true });
  } catch {
    return null;
  }
}

/** What the tail does next after a step: end the stream, look again now, or wait a poll. */
type Next = "end" | "again" | "wait";

/** The state of one results stream (see the module doc for the order of looks). */
class Tail {
  readonly #o: TailOptions;
  readonly #paths: ReturnType<typeof unitPaths>;
  readonly #stop = new AbortController();
  readonly signal: AbortSignal;
  readonly #readStatus: (dir: string) => Promise<StatusFileData>;
  #file: Deno.FsFile | null = null;
  #offset: number;
  #missingSince = -1;
  /** A final status was seen after the last empty read: one more empty read ends the stream. */
  #lastLook = false;
  #buf = new Uint8Array(READ_CHUNK);

  constructor(o: TailOptions) {
    this.#o = o;
    this.#paths = unitPaths(o.dir);
    this.signal = AbortSignal.any([this.#stop.signal, o.signal]);
    this.#offset = Math.max(0, Math.trunc(o.startpos));
    this.#readStatus = o.readStatus ?? loadStatus;
  }

  /** Send the next chunk, or end the stream; waits while there is nothing yet. */
  async pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        if (this.signal.aborted) return this.finish(c);
        let next: Next | null = this.#file ? null : await this.#open();
        if (next === null) {
          const n = await this.#file!.read(this.#buf);
          if (n !== null && n > 0) return this.#emit(c, n);
          next = await this.#afterEmptyRead();
        }
        if (next === "end") return this.finish(c);
        if (next === "wait") await delay(this.#o.pollMs, this.signal);
      }
    } catch (e) {
      if (!this.signal.aborted) {
        this.#o.logger.warning(`[${this.#o.unitId}] results stream: ${errorText(e)}`);
      }
      this.finish(c);
    }
  }

  /** Open stdout at the offset (null = opened); without it, the status decides. */
  async #open(): Promise<Next | null> {
    this.#file = await openOrNull(this.#paths.stdout);
    if (!this.#file) {
      // no stdout yet (or any more): the status decides whether to wait
      const s = await statusOrGone(this.#o.dir, this.#readStatus);
      if (!s) return "end";
      // final: the output (if any) is complete now, but it may have appeared since the
      // failed open — look once more before concluding there is none
      if (isFinal(s.State)) this.#file = await openOrNull(this.#paths.stdout);
      if (!this.#file) return isFinal(s.State) ? "end" : "wait";
    }
    // reads continue from where the last one ended, also after end of file
    if (this.#offset > 0) await this.#file.seek(this.#offset, Deno.SeekMode.Start);
    return null;
  }

  #emit(c: ReadableStreamDefaultController<Uint8Array>, n: number): void {
    this.#offset += n;
    this.#missingSince = -1;
    this.#lastLook = false;
    // a big read hands its buffer over; a small one (tailing a slow job) a copy
    if (n < READ_CHUNK / 4) c.enqueue(this.#buf.slice(0, n));
    else {
      c.enqueue(this.#buf.subarray(0, n));
      this.#buf = new Uint8Array(READ_CHUNK);
    }
  }

  /** Nothing to read: the status says whether the output is complete. */
  async #afterEmptyRead(): Promise<Next> {
    if (this.#lastLook) return "end";
    const s = await statusOrGone(this.#o.dir, this.#readStatus);
    if (!s) return "end";
    if (isComplete(s.State) && this.#offset >= s.StdoutSize) return "end";
    if (s.State === WorkState.Canceled) {
      // output written between the empty read and the Canceled status is still sent
      this.#lastLook = true;
      return "again";
    }
    const now = this.#o.clock.now();
    try {
      await Deno.stat(this.#paths.stdout);
      this.#missingSince = -1;
    } catch {
      // stdout removed under us: give up after STDOUT_MISSING_LIMIT_MS like upstream
      if (this.#missingSince < 0) this.#missingSince = now;
      else if (now - this.#missingSince >= STDOUT_MISSING_LIMIT_MS) return "end";
    }
    return "wait";
  }

  finish(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.#file?.close();
    this.#file = null;
    this.#stop.abort();
    try {
      c.close();
    } catch {
      // already closed (the consumer cancelled): nothing left to end
    }
  }

  /** The consumer cancelled: the pull loop closes the file when it notices. */
  cancel(): void {
    this.#stop.abort();
  }
}

/** A stream of the unit's stdout from byte `startpos`. */
export function tailResults(o: TailOptions): ReadableStream<Uint8Array> {
  const t = new Tail(o);
  return new ReadableStream<Uint8Array>({
    pull: (c) => t.pull(c),
    cancel: () => t.cancel(),
  }, { highWaterMark: 0 });
}
