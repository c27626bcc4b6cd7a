/**
 * A {@link Link} over an upgraded WebSocket connection (wire.md §2.3): each netceptor
 * message is one binary WebSocket message (clients mask their frames). Received text
 * messages are dropped with a log line (Go's external backend rejects text). Pings are
 * answered, a close frame is echoed and ends the link. The send queue is bounded like
 * {@link StreamLink}'s: excess data messages are dropped rather than buffered without limit.
 * @module
 */
import { closeQuietly } from "../../util/close_quietly.ts";
import { errorText } from "../../util/error_text.ts";
import type { Link, LinkOptions } from "../link.ts";
import type { ByteStream } from "./stream_link.ts";
import {
  CLOSE_CODE,
  closePayload,
  encodeFrame,
  OPCODE,
  type WsEvent,
  WsFrameDecoder,
} from "./ws_frames.ts";
import type { Logger } from "../../log.ts";

/** Bytes of queued frames above which new data messages are dropped. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** A Link carried by WebSocket binary messages. */
export class WsLink implements Link {
  readonly options: LinkOptions;
  onMessage: (message: Uint8Array) => void = () => {};
  onClose: (reason: string) => void = () => {};
  #stream: ByteStream;
  #logger: Logger;
  #client: boolean;
  #decoder: WsFrameDecoder;
  #initial: Uint8Array;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  #closing = false;
  #closeSent = false;
  #dropped = 0;
  #drained: (() => void) | null = null;
  #trusted = false;
  /** Resolves with the reason once the link has closed. */
  readonly done: Promise<string>;
  #resolveDone!: (reason: string) => void;

  /**
   * @param client true on the dialing side (frames are masked, server frames must not be)
   * @param initial bytes already read past the HTTP handshake
   */
  constructor(
    stream: ByteStream,
    options: LinkOptions,
    logger: Logger,
    client: boolean,
    initial: Uint8Array = new Uint8Array(0),
  ) {
    this.#stream = stream;
    this.options = options;
    this.#logger = logger;
    this.#client = client;
    this.#initial = initial;
    this.#decoder = new WsFrameDecoder({ expectMasked: !client });
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  /** Start the read loop; call after the mesh has set onMessage/onClose. */
  start(): void {
    this.#readLoop();
  }

  #frame(opcode: number, payload: Uint8Array): Uint8Array {
    return encodeFrame(opcode, payload, {
      mask: this.#client ? crypto.getRandomValues(new Uint8Array(4)) : undefined,
    });
  }

  #enqueue(frame: Uint8Array): void {
    this.#queue.push(frame);
    this.#queued += frame.length;
    if (!this.#writing) this.#writeLoop();
  }

  /** Bytes queued and not yet written (the mesh paces its floods by it). */
  backlog(): number {
    return this.#queued;
  }

  send(message: Uint8Array): void {
    if (this.#closed || this.#closing) return;
    if (message.length === 0) {
      this.#logger.error(`${this.options.description}: not sending an empty message`);
      return;
    }
    if (this.#queued > MAX_QUEUED_BYTES && message[0] === 0) {
      this.#dropped++;
      if (this.#dropped % 1000 === 1) {
        this.#logger.debug(`${this.options.description}: send queue full, dropping data`);
      }
      return;
    }
    this.#enqueue(this.#frame(OPCODE.binary, message));
  }

  /** Send a close frame after what is queued, then close (waiting at most 1 s to flush). */
  close(): void {
    this.#beginClose(CLOSE_CODE.normal, "");
  }

  #beginClose(code: number, reason: string, why = "closed locally"): void {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#enqueue(this.#frame(OPCODE.close, closePayload(code, reason)));
    }
    if (!this.#writing && this.#queue.length === 0) {
      this.#finish(why);
      return;
    }
    const t = setTimeout(() => this.#finish(why), 1000);
    this.#drained = () => {
      clearTimeout(t);
      this.#finish(why);
    };
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#stream);
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
        while (off < chunk.length) off += await this.#stream.write(chunk.subarray(off));
      }
    } catch (e) {
      this.#finish(`write error: ${errorText(e)}`);
    } finally {
      this.#writing = false;
      if (this.#closing) this.#drained?.();
    }
  }

  #handle(ev: WsEvent): void {
    switch (ev.kind) {
      case "message":
        if (!ev.binary) {
          this.#logger.warning(`${this.options.description}: ignoring a text WebSocket message`);
          return;
        }
        if (ev.data.length === 0) return;
        try {
          this.onMessage(ev.data);
        } catch (e) {
          this.#logger.error(`${this.options.description}: error handling message: ${e}`);
        }
        return;
      case "ping":
        if (!this.#closing) this.#enqueue(this.#frame(OPCODE.pong, ev.data));
        return;
      case "pong":
        return;
      case "close": {
        const why = `closed by peer (WebSocket close ${ev.code ?? "without code"}${
          ev.reason ? `: ${ev.reason}` : ""
        })`;
        // Echo the peer's code (RFC 6455 §5.5.1), then end.
        this.#beginClose(ev.code ?? CLOSE_CODE.normal, "", why);
        return;
      }
      case "error":
        this.#logger.warning(
          `${this.options.description}: WebSocket protocol error: ${ev.message}`,
        );
        this.#beginClose(ev.code, ev.message, `protocol error: ${ev.message}`);
        return;
    }
  }

  /**
   * Called by the mesh once the peer has completed the handshake: until then the link reads
   * into 2 KiB (an untrusted connection stays cheap), afterwards into 64 KiB.
   */
  established(): void {
    if (this.#trusted) return;
    this.#trusted = true;
    this.onEstablished();
  }

  /** Set by the backend: called once from {@link established}. */
  onEstablished: () => void = () => {};

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(this.#trusted ? 65536 : 2048);
    try {
      let chunk: Uint8Array | null = this.#initial.length ? this.#initial : null;
      while (!this.#closed) {
        if (chunk === null) {
          if (this.#trusted && buf.length < 65536) buf = new Uint8Array(65536);
          const n = await this.#stream.read(buf);
          if (n === null) {
            this.#finish("connection closed by peer");
            return;
          }
          chunk = buf.subarray(0, n);
        }
        for (const ev of this.#decoder.push(chunk)) {
          if (this.#closed) return;
          this.#handle(ev);
        }
        chunk = null;
        if (this.#decoder.finished && this.#closing) {
          // Close handshake in progress: the write side finishes the link.
          return;
        }
      }
    } catch (e) {
      this.#finish(`read error: ${errorText(e)}`);
    }
  }
}
