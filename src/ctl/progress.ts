/**
 * Progress of a long transfer on a terminal: bytes, rate and elapsed time, redrawn in place on
 * stderr. Shown only when stderr is a terminal and the transfer has run for longer than
 * {@link PROGRESS_AFTER_MS}, so piped runs and short transfers print nothing.
 * @module
 */

/** A transfer shorter than this prints no progress at all (the "longer than a second"). */
export const PROGRESS_AFTER_MS = 1000;
/** Redraws at most this often: often enough to look live, rarely enough to cost nothing. */
export const PROGRESS_EVERY_MS = 250;

/** Where a meter draws and how it tells time (injectable for tests). */
export interface ProgressSink {
  /** Write to stderr. */
  err(text: string): void;
  /** Whether stderr is a terminal. */
  isTerminal(): boolean;
  /** Milliseconds, monotonic enough for a rate. */
  now?(): number;
}

/** Human size in binary units with one decimal (`512 B`, `3.4 MiB`). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `m:ss` (or `h:mm:ss`) for an elapsed time in milliseconds. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Counts bytes of one transfer and draws `label: bytes  rate  elapsed` when it is worth it. */
export class ProgressMeter {
  #sink: ProgressSink;
  #label: string;
  #now: () => number;
  #start: number;
  #bytes = 0;
  #lastDraw = -Infinity;
  #drawn = false;
  #enabled: boolean;

  constructor(label: string, sink: ProgressSink) {
    this.#sink = sink;
    this.#label = label;
    this.#now = sink.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#enabled = sink.isTerminal();
  }

  /** Bytes counted so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Count `n` more bytes; redraws if due. */
  add(n: number): void {
    this.#bytes += n;
    if (!this.#enabled) return;
    const now = this.#now();
    if (now - this.#start < PROGRESS_AFTER_MS || now - this.#lastDraw < PROGRESS_EVERY_MS) return;
    this.#lastDraw = now;
    this.#drawn = true;
    this.#sink.err(`\r${this.#line(now)}\x1b[K`);
  }

  /** End the transfer: a final line if anything was drawn, else nothing. */
  done(): void {
    if (!this.#drawn) return;
    this.#sink.err(`\r${this.#line(this.#now())}, done\x1b[K\n`);
    this.#drawn = false;
  }

  #line(now: number): string {
    const ms = Math.max(1, now - this.#start);
    const rate = this.#bytes / (ms / 1000);
    return `${this.#label}: ${formatBytes(this.#bytes)}  ${formatBytes(Math.round(rate))}/s  ${
      formatElapsed(ms)
    }`;
  }
}

/** Pass `src` through unchanged while `meter` counts it; the meter finishes when it ends. */
export function metered(
  src: ReadableStream<Uint8Array>,
  meter: ProgressMeter,
): ReadableStream<Uint8Array> {
  return src.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        meter.add(chunk.length);
        c.enqueue(chunk);
      },
      flush() {
        meter.done();
      },
    }),
  );
}
