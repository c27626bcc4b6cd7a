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

/** A stream of the unit's stdout from byte `startpos`. */
export function tailResults(o: TailOptions): ReadableStream<Uint8Array> {
  const paths = unitPaths(o.dir);
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, o.signal]);
  let file: Deno.FsFile | null = null;
  let offset = Math.max(0, Math.trunc(o.startpos));
  let missingSince = -1;
  /** A final status was seen after the last empty read: one more empty read ends the stream. */
  let lastLook = false;
  const readStatus = o.readStatus ?? loadStatus;
  let buf = new Uint8Array(READ_CHUNK);
  const finish = (c: ReadableStreamDefaultController<Uint8Array>) => {
    file?.close();
    file = null;
    stop.abort();
    try {
      c.close();
    } catch {
      // already closed (the consumer cancelled): nothing left to end
    }
  };
  return new ReadableStream<Uint8Array>({
    pull: async (c) => {
      try {
        for (;;) {
          if (signal.aborted) return finish(c);
          if (!file) {
            file = await openOrNull(paths.stdout);
            if (!file) {
              // no stdout yet (or any more): the status decides whether to wait
              const s = await statusOrGone(o.dir, readStatus);
              if (!s) return finish(c);
              // final: the output (if any) is complete now, but it may have appeared since
              // the failed open — look once more before concluding there is none
              if (isFinal(s.State)) file = await openOrNull(paths.stdout);
              if (!file) {
                if (isFinal(s.State)) return finish(c);
                await delay(o.pollMs, signal);
                continue;
              }
            }
            // reads continue from where the last one ended, also after end of file
            if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
          }
          const n = await file.read(buf);
          if (n !== null && n > 0) {
            offset += n;
            missingSince = -1;
            lastLook = false;
            // a big read hands its buffer over; a small one (tailing a slow job) a copy
            if (n < READ_CHUNK / 4) c.enqueue(buf.slice(0, n));
            else {
              c.enqueue(buf.subarray(0, n));
              buf = new Uint8Array(READ_CHUNK);
            }
            return;
          }
          if (lastLook) return finish(c);
          const s = await statusOrGone(o.dir, readStatus);
          if (!s) return finish(c);
          if (isComplete(s.State) && offset >= s.StdoutSize) return finish(c);
          if (s.State === WorkState.Canceled) {
            // output written between the empty read and the Canceled status is still sent
            lastLook = true;
            continue;
          }
          try {
            await Deno.stat(paths.stdout);
            missingSince = -1;
          } catch {
            // stdout removed under us: give up after STDOUT_MISSING_LIMIT_MS like upstream
            if (missingSince < 0) missingSince = o.clock.now();
            else if (o.clock.now() - missingSince >= STDOUT_MISSING_LIMIT_MS) return finish(c);
          }
          await delay(o.pollMs, signal);
        }
      } catch (e) {
        if (!signal.aborted) o.logger.warning(`[${o.unitId}] results stream: ${errorText(e)}`);
        finish(c);
      }
    },
    cancel: () => {
      stop.abort();
      // the pull loop closes the file when it notices
    },
  }, { highWaterMark: 0 });
}
