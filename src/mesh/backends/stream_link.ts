/**
 * A {@link Link} over any reliable byte stream (plain TCP, TLS): frames messages, reads
 * frames, and keeps a bounded send queue. Data is unreliable at this layer anyway, so when
 * the peer cannot keep up, excess messages are dropped rather than buffered without limit.
 * @module
 */
import type { Link, LinkOptions } from "../link.ts";
import { FrameDecoder, frameMessage, MAX_FRAMED_MESSAGE } from "./framing.ts";
import type { Logger } from "../../log.ts";

/** The minimal byte-stream surface a stream link needs (Deno.Conn satisfies it). */
export interface ByteStream {
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Bytes of queued frames above which new messages are dropped. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** A Link carried over a framed byte stream. */
export class StreamLink implements Link {
  readonly options: LinkOptions;
  onMessage: (message: Uint8Array) => void = () => {};
  onClose: (reason: string) => void = () => {};
  #stream: ByteStream;
  #logger: Logger;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  #dropped = 0;
  #closing = false;
  #drained: (() => void) | null = null;
  /** Resolves once the link has closed. */
  readonly done: Promise<string>;
  #resolveDone!: (reason: string) => void;

  constructor(stream: ByteStream, options: LinkOptions, logger: Logger) {
    this.#stream = stream;
    this.options = options;
    this.#logger = logger;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  /** Start the read loop; call after the mesh has set onMessage/onClose. */
  start(): void {
    this.#readLoop();
  }

  send(message: Uint8Array): void {
    if (this.#closed || this.#closing) return;
    if (message.length === 0 || message.length > MAX_FRAMED_MESSAGE) {
      this.#logger.error(
        `${this.options.description}: not sending message of ${message.length} bytes`,
      );
      return;
    }
    if (this.#queued > MAX_QUEUED_BYTES && message[0] === 0) {
      this.#dropped++;
      if (this.#dropped % 1000 === 1) {
        this.#logger.debug(`${this.options.description}: send queue full, dropping data`);
      }
      return;
    }
    const f = frameMessage(message);
    this.#queue.push(f);
    this.#queued += f.length;
    if (!this.#writing) this.#writeLoop();
  }

  /** Close after flushing what is queued (e.g. a reject), waiting at most 1 s for it. */
  close(): void {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    if (!this.#writing && this.#queue.length === 0) {
      this.#finish("closed locally");
      return;
    }
    const t = setTimeout(() => this.#finish("closed locally"), 1000);
    this.#drained = () => {
      clearTimeout(t);
      this.#finish("closed locally");
    };
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#stream.close();
    } catch {
      // already closed
    }
    this.#queue = [];
    this.#queued = 0;
    this.onClose(reason);
    this.#resolveDone(reason);
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length && !this.#closed) {
        let chunk: Uint8Array;
        if (this.#queue.length === 1) {
          chunk = this.#queue[0];
        } else {
          chunk = new Uint8Array(this.#queued);
          let o = 0;
          for (const f of this.#queue) {
            chunk.set(f, o);
            o += f.length;
          }
        }
        this.#queue = [];
        this.#queued = 0;
        let off = 0;
        while (off < chunk.length) {
          off += await this.#stream.write(chunk.subarray(off));
        }
      }
    } catch (e) {
      this.#finish(`write error: ${e instanceof Error ? e.message : e}`);
    } finally {
      this.#writing = false;
      if (this.#closing) this.#drained?.();
    }
  }

  async #readLoop(): Promise<void> {
    const dec = new FrameDecoder();
    const buf = new Uint8Array(65536 + 2);
    try {
      while (!this.#closed) {
        const n = await this.#stream.read(buf);
        if (n === null) {
          this.#finish("connection closed by peer");
          return;
        }
        for (const m of dec.push(buf.subarray(0, n))) {
          if (this.#closed) return;
          try {
            this.onMessage(m);
          } catch (e) {
            this.#logger.error(`${this.options.description}: error handling message: ${e}`);
          }
        }
      }
    } catch (e) {
      this.#finish(`read error: ${e instanceof Error ? e.message : e}`);
    }
  }
}
