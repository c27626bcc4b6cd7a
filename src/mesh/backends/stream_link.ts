/**
 * A {@link Link} over any reliable byte stream (plain TCP, TLS): frames messages, reads
 * frames, and keeps a bounded send queue. Data is unreliable at this layer anyway, so when
 * the peer cannot keep up, excess messages are dropped rather than buffered without limit.
 * @module
 */
import { closeQuietly } from "../../util/close_quietly.ts";
import { errorText } from "../../util/error_text.ts";
import { registerIdleTrim } from "../../util/idle_trim.ts";
import type { Link, LinkOptions } from "../link.ts";
import { FrameReader, MAX_FRAMED_MESSAGE } from "./framing.ts";
import type { Logger } from "../../log.ts";

/** The minimal byte-stream surface a stream link needs (Deno.Conn satisfies it). */
export interface ByteStream {
  read(buf: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Bytes of queued frames above which new messages are dropped. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** Read buffer size: a dozen 16 KiB QUIC datagrams per read system call. */
const IO_BUFFER = 256 * 1024;
/** Size of each of the two buffers messages are framed into for writing. */
const WRITE_BUFFER = 256 * 1024;

const EMPTY = new Uint8Array(0);

/** Handling one read's messages yields to the event loop after this much time (ms). */
const YIELD_AFTER_MS = 10;

/** A macrotask turn: pending I/O and timers run first. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/**
 * Written buffers, shared by every link of the process: a link that goes idle between bursts
 * (as a relay does after each read) picks one up again instead of allocating 256 KiB.
 */
const writeBuffers: Uint8Array[] = [];
const MAX_POOLED_WRITE_BUFFERS = 16;
// an idle process gives them back (src/util/idle_trim.ts)
registerIdleTrim(() => void (writeBuffers.length = 0));

function takeWriteBuffer(): Uint8Array {
  return writeBuffers.pop() ?? new Uint8Array(WRITE_BUFFER);
}

function giveWriteBuffer(b: Uint8Array): void {
  if (b.length === WRITE_BUFFER && writeBuffers.length < MAX_POOLED_WRITE_BUFFERS) {
    writeBuffers.push(b);
  }
}

/** A Link carried over a framed byte stream. */
export class StreamLink implements Link {
  readonly options: LinkOptions;
  onMessage: (message: Uint8Array) => void = () => {};
  /** Received messages are never overwritten by the link (see FrameReader). */
  readonly freshMessages = true;
  onClose: (reason: string) => void = () => {};
  #stream: ByteStream;
  #logger: Logger;
  /** Frames waiting to be written, already copied: the `#ready` buffers, then `#fill`. */
  #ready: { buf: Uint8Array; len: number }[] = [];
  #fill: Uint8Array = EMPTY;
  #fillLen = 0;
  #queued = 0;
  #writing = false;
  #closed = false;
  #dropped = 0;
  #closing = false;
  #drained: (() => void) | null = null;
  /** The mesh accepted the peer: large buffers from now on (see {@link established}). */
  #trusted = false;
  #reader = new FrameReader();
  /** Resolves once the link has closed. */
  readonly done: Promise<string>;
  #resolveDone!: (reason: string) => void;

  /** Bytes already read from `stream` (by a listener waiting for the peer to speak first). */
  #initial: Uint8Array | undefined;

  constructor(stream: ByteStream, options: LinkOptions, logger: Logger, initial?: Uint8Array) {
    this.#stream = stream;
    this.#initial = initial;
    this.options = options;
    this.#logger = logger;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  /**
   * Called by the mesh once the peer has completed the handshake: until then the link reads
   * into a few KiB and frames each outgoing message into its own small buffer, so an idle or
   * untrusted connection costs little; afterwards it uses the large shared buffers.
   */
  established(): void {
    if (this.#trusted) return;
    this.#trusted = true;
    this.#reader.bulk(IO_BUFFER);
    this.onEstablished();
  }

  /** Set by the backend: called once from {@link established}. */
  onEstablished: () => void = () => {};

  /** Whether {@link established} has been called. */
  get isEstablished(): boolean {
    return this.#trusted;
  }

  /** Start the read loop; call after the mesh has set onMessage/onClose. */
  start(): void {
    this.#readLoop();
  }

  send(message: Uint8Array): void {
    this.#enqueue(message, EMPTY);
  }

  /** Sends `head` followed by `tail` as one message; both are copied before this returns. */
  sendParts(head: Uint8Array, tail: Uint8Array): void {
    this.#enqueue(head, tail);
  }

  /**
   * Frames the message into the buffer being filled (a copy made now, so callers may reuse
   * their arrays at once); a full buffer joins the ready list and a fresh one is started.
   */
  #enqueue(head: Uint8Array, tail: Uint8Array): void {
    if (this.#closed || this.#closing) return;
    const len = head.length + tail.length;
    if (len === 0 || len > MAX_FRAMED_MESSAGE) {
      this.#logger.error(`${this.options.description}: not sending message of ${len} bytes`);
      return;
    }
    if (this.#queued > MAX_QUEUED_BYTES && (head.length ? head[0] : tail[0]) === 0) {
      this.#dropped++;
      if (this.#dropped % 1000 === 1) {
        this.#logger.debug(`${this.options.description}: send queue full, dropping data`);
      }
      return;
    }
    if (this.#fillLen + len + 2 > this.#fill.length) {
      if (this.#fillLen > 0) this.#ready.push({ buf: this.#fill, len: this.#fillLen });
      this.#fill = this.#trusted ? takeWriteBuffer() : new Uint8Array(len + 2);
      this.#fillLen = 0;
    }
    const out = this.#fill, pos = this.#fillLen;
    out[pos] = len & 0xff;
    out[pos + 1] = len >> 8;
    out.set(head, pos + 2);
    if (tail.length) out.set(tail, pos + 2 + head.length);
    this.#fillLen += len + 2;
    this.#queued += len + 2;
    if (!this.#writing) {
      // start writing once the current burst of sends is queued (fewer, larger writes)
      this.#writing = true;
      queueMicrotask(() => this.#writeLoop());
    }
  }

  /** Bytes queued and not yet written (the mesh paces its floods by it). */
  backlog(): number {
    return this.#queued;
  }

  get #hasQueued(): boolean {
    return this.#fillLen > 0 || this.#ready.length > 0;
  }

  /** Close after flushing what is queued (e.g. a reject), waiting at most 1 s for it. */
  close(): void {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    if (!this.#writing && !this.#hasQueued) {
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
    closeQuietly(this.#stream);
    if (this.#fill.length) giveWriteBuffer(this.#fill);
    this.#fill = EMPTY;
    this.#fillLen = 0;
    this.#ready = [];
    this.#queued = 0;
    this.onClose(reason);
    this.#resolveDone(reason);
  }

  async #writeLoop(): Promise<void> {
    // Senders keep framing into the fill buffer while a write is in progress; each write then
    // carries everything queued meanwhile, up to a whole buffer.
    try {
      while (this.#hasQueued && !this.#closed) {
        let item = this.#ready.shift();
        if (!item) {
          item = { buf: this.#fill, len: this.#fillLen };
          this.#fill = EMPTY; // the next send takes a buffer
          this.#fillLen = 0;
        }
        this.#queued -= item.len;
        await this.#writeAll(item.buf, item.len);
        giveWriteBuffer(item.buf);
      }
    } catch (e) {
      this.#finish(`write error: ${errorText(e)}`);
    } finally {
      this.#writing = false;
      if (this.#closing) this.#drained?.();
    }
  }

  async #writeAll(buf: Uint8Array, len: number): Promise<void> {
    let off = 0;
    while (off < len) off += await this.#stream.write(buf.subarray(off, len));
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader;
    try {
      while (!this.#closed) {
        let n: number | null;
        if (this.#initial) {
          const space = reader.space();
          space.set(this.#initial);
          n = this.#initial.length;
          this.#initial = undefined;
        } else n = await this.#stream.read(reader.space());
        if (n === null) {
          this.#finish("connection closed by peer");
          return;
        }
        let sliceStart = performance.now();
        for (const m of reader.commit(n)) {
          if (this.#closed) return;
          try {
            // Data messages (type 0) are views of the read buffer, used and dropped at once;
            // anything else may be kept (service ads are), so it gets its own small copy.
            this.onMessage(m[0] === 0 ? m : m.slice());
          } catch (e) {
            this.#logger.error(`${this.options.description}: error handling message: ${e}`);
          }
          // One busy peer must not hold the event loop: after a slice of work, let the other
          // links (keepalives), timers and the control service run before going on.
          if (performance.now() - sliceStart >= YIELD_AFTER_MS) {
            await yieldToEventLoop();
            sliceStart = performance.now();
          }
        }
      }
    } catch (e) {
      this.#finish(`read error: ${errorText(e)}`);
    }
  }
}
