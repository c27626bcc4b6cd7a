/**
 * Reads newline-terminated command lines from a byte stream without losing the bytes that
 * follow a line: whatever was read past the newline is handed on by {@link LineReader.rest}
 * (a `work submit` payload sent in the same write as its command line, control.md §1.5).
 * @module
 */

const NL = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();

/** Longest command line accepted; longer lines are an error, not unbounded memory. */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * A byte source read directly, one chunk per call (`null` at EOF): a connection adapter's
 * `read`, which spares the runtime's web streams (see src/control/conn_duplex.ts).
 */
export interface ByteSource {
  read(): Promise<Uint8Array | null>;
}

/** The stream reader's interface, over a {@link ByteSource}. */
function sourceReader(src: ByteSource): Pick<ReadableStreamDefaultReader<Uint8Array>, "read"> & {
  cancel(): Promise<void>;
} {
  return {
    read: async () => {
      const value = await src.read();
      return value === null ? { done: true, value: undefined } : { done: false, value };
    },
    cancel: () => Promise.resolve(),
  };
}

/** Buffered line reader over a ReadableStream of bytes (or a direct {@link ByteSource}). */
export class LineReader {
  #reader: Pick<ReadableStreamDefaultReader<Uint8Array>, "read" | "cancel">;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  constructor(stream: ReadableStream<Uint8Array> | ByteSource) {
    this.#reader = "getReader" in stream ? stream.getReader() : sourceReader(stream);
  }

  /**
   * Next line without its `\n`, every `\r` removed. A partial line before EOF is returned as a
   * line; `null` at EOF. Throws if a line exceeds {@link MAX_LINE_BYTES}.
   */
  async readLine(): Promise<string | null> {
    let scanFrom = 0;
    while (true) {
      const i = this.#buf.indexOf(NL, scanFrom);
      if (i >= 0) {
        const line = this.#buf.subarray(0, i);
        this.#buf = this.#buf.subarray(i + 1);
        return stripCr(line);
      }
      scanFrom = this.#buf.length;
      if (this.#eof) {
        if (this.#buf.length === 0) return null;
        const line = this.#buf;
        this.#buf = new Uint8Array(0);
        return stripCr(line);
      }
      if (this.#buf.length > MAX_LINE_BYTES) throw new Error("command line too long");
      await this.#fill();
    }
  }

  async #fill(): Promise<void> {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await this.#reader.read();
    } catch (e) {
      // A TLS peer that half-closes without close_notify surfaces as an error: treat as EOF.
      if (isEofLike(e)) {
        this.#eof = true;
        return;
      }
      throw e;
    }
    if (r.done) {
      this.#eof = true;
      return;
    }
    if (this.#buf.length === 0) {
      this.#buf = r.value;
    } else {
      const n = new Uint8Array(this.#buf.length + r.value.length);
      n.set(this.#buf);
      n.set(r.value, this.#buf.length);
      this.#buf = n;
    }
  }

  /** The remaining stream: buffered leftovers first, then everything until EOF. */
  rest(): ReadableStream<Uint8Array> {
    let leftover: Uint8Array | null = this.#buf.length ? this.#buf : null;
    this.#buf = new Uint8Array(0);
    const reader = this.#reader;
    let eof = this.#eof;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (leftover) {
          controller.enqueue(leftover);
          leftover = null;
          return;
        }
        if (eof) {
          controller.close();
          return;
        }
        try {
          const r = await reader.read();
          if (r.done) {
            eof = true;
            controller.close();
          } else controller.enqueue(r.value);
        } catch (e) {
          if (isEofLike(e)) controller.close();
          else controller.error(e);
        }
      },
      cancel(reason) {
        return reader.cancel(reason).catch(() => {});
      },
    });
  }

  /** Release the underlying stream. */
  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

function stripCr(line: Uint8Array): string {
  if (line.indexOf(CR) < 0) return decoder.decode(line);
  return decoder.decode(line.filter((b) => b !== CR));
}

/** Errors that mean "the peer went away" rather than a real failure. */
export function isEofLike(e: unknown): boolean {
  const msg = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  return /UnexpectedEof|unexpected ?eof|close_notify|ConnectionReset|BrokenPipe|connection reset/i
    .test(msg);
}
