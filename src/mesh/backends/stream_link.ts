/**
 * A {@link Link} over any reliable byte stream (plain TCP, TLS): frames messages, reads
 * frames, and keeps a bounded send queue. Data is unreliable at this layer anyway, so when
 * the peer cannot keep up, excess messages are dropped rather than buffered without limit.
 * @module
 */
import type { Link, LinkOptions } from "../link.ts";
import { FrameReader, MAX_FRAMED_MESSAGE, writeFramed } from "./framing.ts";
import type { Logger } from "../../log.ts";

/** The minimal byte-stream surface a stream link needs (Deno.Conn satisfies it). */
export interface ByteStream {
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Bytes of queued frames above which new messages are dropped. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * Size of the reused buffer queued messages are framed into before one write, and of the
 * read buffer: a few 16 KiB QUIC datagrams per system call in each direction.
 */
const IO_BUFFER = 256 * 1024;

const EMPTY = new Uint8Array(0);

/** A Link carried over a framed byte stream. */
export class StreamLink implements Link {
  readonly options: LinkOptions;
  onMessage: (message: Uint8Array) => void = () => {};
  /** Received messages are never overwritten by the link (see FrameReader). */
  readonly freshMessages = true;
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
  #writeBuf: Uint8Array | undefined;
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
    // framed later, straight into the write buffer; the caller must not reuse `message`
    this.#queue.push(message);
    this.#queued += message.length + 2;
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
    // One reused buffer: the framing copy is the only one, and each write carries as many
    // queued messages as fit (the queue keeps growing while a write is in progress).
    const buf = this.#writeBuf ??= new Uint8Array(IO_BUFFER);
    try {
      let head = 0;
      while (head < this.#queue.length && !this.#closed) {
        let pos = 0;
        const q = this.#queue;
        while (head < q.length && pos + q[head].length + 2 <= buf.length) {
          const m = q[head];
          pos = writeFramed(m, buf, pos);
          q[head++] = EMPTY;
          this.#queued -= m.length + 2;
        }
        if (head === q.length) {
          this.#queue = [];
          head = 0;
        } else if (head > 1024) {
          this.#queue = q.slice(head);
          head = 0;
        }
        let off = 0;
        while (off < pos) {
          off += await this.#stream.write(buf.subarray(off, pos));
        }
      }
      this.#queue = this.#queue.slice(head);
    } catch (e) {
      this.#finish(`write error: ${e instanceof Error ? e.message : e}`);
    } finally {
      this.#writing = false;
      if (this.#closing) this.#drained?.();
    }
  }

  async #readLoop(): Promise<void> {
    const reader = new FrameReader(IO_BUFFER);
    try {
      while (!this.#closed) {
        const n = await this.#stream.read(reader.space());
        if (n === null) {
          this.#finish("connection closed by peer");
          return;
        }
        for (const m of reader.commit(n)) {
          if (this.#closed) return;
          try {
            // Data messages (type 0) are views of the read buffer, used and dropped at once;
            // anything else may be kept (service ads are), so it gets its own small copy.
            this.onMessage(m[0] === 0 ? m : m.slice());
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
