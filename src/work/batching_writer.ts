/**
 * Write-behind batching for files that receive many small chunks (a unit's stdout mirrored from
 * a remote node, a submitted payload): at most one write is in flight, and chunks arriving
 * meanwhile are copied into the next batch. An idle writer writes a chunk at once, so output
 * still reaches the file promptly; a busy one makes one system call per batch instead of one
 * per chunk.
 * @module
 */

/** Batch size: the most bytes one write carries. */
const BATCH = 256 * 1024;
/** A batch buffer's first size. */
const MIN_BATCH = 4096;
const EMPTY = new Uint8Array(0);

/** The sink a {@link BatchingWriter} writes to (Deno.FsFile satisfies it). */
export interface ChunkSink {
  write(p: Uint8Array): Promise<number>;
}

/** Batches chunks written to a {@link ChunkSink}; call {@link flush} before closing the sink. */
export class BatchingWriter {
  #sink: ChunkSink;
  // Grown on demand up to BATCH: most payloads are a few bytes, and two zeroed 256 KiB
  // buffers per unit (a submit writes stdin through one of these on both nodes) cost page
  // faults, zeroing and external-memory GC pressure for nothing.
  #batch = EMPTY;
  #spare = EMPTY;
  #len = 0;
  #loop: Promise<void> | null = null;
  #error: unknown = undefined;

  /** Batches writes to `sink`. */
  constructor(sink: ChunkSink) {
    this.#sink = sink;
  }

  /**
   * Queues a copy of `chunk` (the caller may reuse it at once). Resolves when the chunk is
   * queued, which waits only while a full batch is being written; rejects after a write error.
   */
  async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#len === BATCH) {
        await this.#loop;
        continue;
      }
      if (this.#len === this.#batch.length) this.#grow(chunk.length - off);
      const n = Math.min(this.#batch.length - this.#len, chunk.length - off);
      this.#batch.set(chunk.subarray(off, off + n), this.#len);
      this.#len += n;
      off += n;
      this.#loop ??= this.#run();
    }
  }

  /** Room for `want` more bytes (at least doubling, at least MIN_BATCH, at most BATCH). */
  #grow(want: number): void {
    const size = Math.min(BATCH, Math.max(MIN_BATCH, this.#batch.length * 2, this.#len + want));
    const bigger = new Uint8Array(size);
    bigger.set(this.#batch.subarray(0, this.#len));
    this.#batch = bigger;
  }

  /** Resolves once everything queued is written; rejects with the first write error. */
  async flush(): Promise<void> {
    while (this.#loop) await this.#loop;
    if (this.#error !== undefined) throw this.#error;
  }

  async #run(): Promise<void> {
    try {
      while (this.#len > 0 && this.#error === undefined) {
        const buf = this.#batch, len = this.#len;
        this.#batch = this.#spare;
        this.#spare = buf;
        this.#len = 0;
        let off = 0;
        while (off < len) off += await this.#sink.write(buf.subarray(off, len));
      }
    } catch (e) {
      this.#error = e;
    } finally {
      this.#loop = null;
    }
  }
}
