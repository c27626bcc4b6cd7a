/**
 * Async driver for a sans-IO {@link QuicEndpoint} over any datagram transport (loopback UDP, or
 * mesh datagrams through src/streams/). Exposes connections and streams as promises and web streams with
 * backpressure: a stream's writable resolves writes only as QUIC flow control and the send
 * buffer accept the bytes.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import type { QuicConnection } from "./connection.ts";
import type { QuicEndpoint } from "./endpoint.ts";
import { QuicError } from "./errors.ts";
import { AsyncQueue } from "../util/async_queue.ts";
import { DeadlineTimer } from "../util/deadline_timer.ts";

/** A datagram transport; remotes are opaque strings. */
export interface DatagramTransport {
  /** Sends one datagram (fire and forget). */
  send(remote: string, data: Uint8Array): void;
  /** Next received datagram, or null once closed. */
  receive(): Promise<{ remote: string; data: Uint8Array } | null>;
  /** Closes the transport; pending receive() resolves null. */
  close(): void;
  /**
   * Optional push mode: once called, the transport hands each datagram to `cb` synchronously as
   * it arrives (no Promise per datagram) and `receive()` is no longer used.
   */
  setReceiver?(cb: (remote: string, data: Uint8Array) => void): void;
  /**
   * True if send() is done with `data` when it returns (it copies or encodes it at once): the
   * driver then passes views of a reused buffer instead of a fresh array per datagram.
   */
  readonly copiesOnSend?: boolean;
}

/** One bidirectional QUIC stream as web streams. */
export interface QuicStream {
  /** Stream ID. */
  readonly id: number;
  /** Bytes from the peer; errors with a QuicError if the peer resets the stream. */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Reads the next bytes directly (at most `max`): null at the end of the stream; rejects with a
   * QuicError on reset or connection close. Only before `readable` is first read.
   */
  readChunk(max?: number): Promise<Uint8Array | null>;
  /** Bytes to the peer; close() sends FIN, abort() sends RESET_STREAM. */
  readonly writable: WritableStream<Uint8Array>;
  /** Sends FIN (half-close) once queued data is handed to QUIC. */
  closeWrite(): Promise<void>;
  /**
   * Resolves once everything written, FIN included, was acknowledged by the peer — or the
   * peer stopped the stream or the connection ended (nothing more will be delivered). Lets a
   * closer wait before CONNECTION_CLOSE so queued data is not thrown away.
   */
  readonly sendFinished: Promise<void>;
  /** Abandons our sending with RESET_STREAM carrying `code`. */
  reset(code: number): void;
  /** Asks the peer to stop sending (STOP_SENDING with `code`, e.g. 499 as Go receptor does). */
  stopSending(code: number): void;
}

/** A connection as the application sees it. */
export interface QuicConnHandle {
  /** Remote address string. */
  readonly remote: string;
  /** Peer's certificate chain (DER, leaf first). */
  readonly peerCertificates: Uint8Array[];
  /** Negotiated ALPN. */
  readonly alpn: string;
  /** The underlying sans-IO connection. */
  readonly connection: QuicConnection;
  /** Opens a bidirectional stream (waits while the peer's stream limit is reached). */
  openStream(): Promise<QuicStream>;
  /** Next stream opened by the peer, or null when the connection is closed. */
  acceptStream(): Promise<QuicStream | null>;
  /** Closes with an application error code (default 0) and reason. */
  close(code?: number, reason?: string): void;
  /** Sends a PING now (see QuicConnection.ping): probe a path that came back. */
  ping(): void;
  /** Resolves when the connection is closed, with the close code and reason. */
  readonly closed: Promise<
    { code: number; reason: string; byPeer: boolean; isApplication: boolean }
  >;
}

type Waiter = () => void;

/** Most bytes one readChunk() returns by default. */
const READ_CHUNK = 256 * 1024;
/** Most bytes one pull of a stream's readable hands over. */
const READ_BURST = 1024 * 1024;

class StreamImpl implements QuicStream {
  readonly id: number;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readWaiter?: Waiter;
  writeWaiter?: Waiter;
  resetCode?: number;
  stopCode?: number;
  readonly sendFinished: Promise<void>;
  markSendFinished!: () => void;
  #c: ConnImpl;
  constructor(c: ConnImpl, id: number) {
    this.id = id;
    this.#c = c;
    this.sendFinished = new Promise((r) => this.markSendFinished = r);
    const conn = c.connection;
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (ctrl) => {
        let d: Uint8Array | null;
        try {
          d = await this.readChunk();
        } catch (e) {
          ctrl.error(e);
          return;
        }
        if (d === null) {
          ctrl.close();
          return;
        }
        ctrl.enqueue(d);
        // hand over everything else already readable too (one pull per burst, not per packet)
        let budget = READ_BURST - d.length;
        while (budget > 0) {
          let more: Uint8Array | null;
          try {
            more = conn.read(id, budget);
          } catch {
            // the stream was reset or closed meanwhile: nothing more to read
            break;
          }
          if (!more || !more.length) break;
          ctrl.enqueue(more);
          budget -= more.length;
        }
        // reading freed flow-control credit: let window updates go out
        if (budget < READ_BURST - d.length) c.driver.kick();
      },
      cancel: () => {
        try {
          conn.stopSending(id, 0);
        } catch { /* gone */ }
        c.driver.kick();
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        // the stream's send buffer copies what it accepts, so the chunk is only read here
        let data = chunk;
        while (data.length) {
          if (c.closedInfo) {
            throw new QuicError(c.closedInfo.code, `connection closed: ${c.closedInfo.reason}`);
          }
          if (this.stopCode !== undefined) {
            throw new QuicError(this.stopCode, `stream ${id} stopped by peer`, true);
          }
          const n = conn.write(id, data);
          if (n) c.driver.kick();
          if (n === data.length) return;
          data = data.subarray(n);
          await new Promise<void>((r) => this.writeWaiter = r);
        }
      },
      close: () => this.closeWrite(),
      abort: () => {
        try {
          conn.resetStream(id, 0);
        } catch { /* gone */ }
        c.driver.kick();
      },
    });
  }
  async readChunk(max = READ_CHUNK): Promise<Uint8Array | null> {
    const c = this.#c, conn = c.connection, id = this.id;
    for (;;) {
      // Bytes that arrived before a CONNECTION_CLOSE are still delivered; the close is
      // reported once nothing readable is left.
      const d = conn.read(id, max);
      if (d === null) {
        c.driver.kick();
        if (this.resetCode !== undefined) {
          throw new QuicError(this.resetCode, `stream ${id} reset by peer`, true);
        }
        return null;
      }
      if (d.length) {
        c.driver.kick();
        return d;
      }
      if (c.closedInfo) {
        throw new QuicError(
          c.closedInfo.code,
          `connection closed: ${c.closedInfo.reason}`,
          c.closedInfo.isApplication,
        );
      }
      await new Promise<void>((r) => this.readWaiter = r);
    }
  }
  reset(code: number): void {
    try {
      this.#c.connection.resetStream(this.id, code);
    } catch { /* gone */ }
    this.wakeWrite();
    this.#c.driver.kick();
  }
  stopSending(code: number): void {
    try {
      this.#c.connection.stopSending(this.id, code);
    } catch { /* gone */ }
    this.wakeRead();
    this.#c.driver.kick();
  }
  closeWrite(): Promise<void> {
    try {
      this.#c.connection.finish(this.id);
    } catch { /* already reset */ }
    this.#c.driver.kick();
    return Promise.resolve();
  }
  wakeRead(): void {
    const w = this.readWaiter;
    this.readWaiter = undefined;
    w?.();
  }
  wakeWrite(): void {
    const w = this.writeWaiter;
    this.writeWaiter = undefined;
    w?.();
  }
}

class ConnImpl implements QuicConnHandle {
  readonly remote: string;
  /** The sans-IO connection (the one field for it). */
  readonly connection: QuicConnection;
  readonly driver: QuicDriver;
  readonly closed: Promise<
    { code: number; reason: string; byPeer: boolean; isApplication: boolean }
  >;
  closedInfo?: { code: number; reason: string; byPeer: boolean; isApplication: boolean };
  streams = new Map<number, StreamImpl>();
  /** Peer-opened bidirectional streams not yet accepted; closed with the connection. */
  incoming = new AsyncQueue<StreamImpl>();
  openWaiters: Array<() => void> = [];
  ready?: { resolve: (c: ConnImpl) => void; reject: (e: unknown) => void };
  #resolveClosed!: (
    v: { code: number; reason: string; byPeer: boolean; isApplication: boolean },
  ) => void;
  constructor(driver: QuicDriver, conn: QuicConnection, remote: string) {
    this.driver = driver;
    this.connection = conn;
    this.remote = remote;
    this.closed = new Promise((r) => this.#resolveClosed = r);
  }
  get peerCertificates(): Uint8Array[] {
    return this.connection.peerCertificates;
  }
  get alpn(): string {
    return this.connection.alpn;
  }
  #stream(id: number): StreamImpl {
    let s = this.streams.get(id);
    if (!s) {
      s = new StreamImpl(this, id);
      this.streams.set(id, s);
    }
    return s;
  }
  async openStream(): Promise<QuicStream> {
    for (;;) {
      if (this.closedInfo) {
        throw new QuicError(this.closedInfo.code, `connection closed: ${this.closedInfo.reason}`);
      }
      const id = this.connection.openBidi();
      if (id !== null) {
        this.driver.kick();
        return this.#stream(id);
      }
      await new Promise<void>((r) => this.openWaiters.push(r));
    }
  }
  acceptStream(): Promise<QuicStream | null> {
    return this.incoming.take();
  }
  close(code = 0, reason = ""): void {
    this.connection.close(this.driver.now(), code, reason, true);
    this.driver.kick();
  }
  ping(): void {
    this.connection.ping(this.driver.now());
    this.driver.kick();
  }
  /** Dispatches connection events; returns false once closed. */
  pump(): void {
    for (let e = this.connection.poll(); e; e = this.connection.poll()) {
      switch (e.type) {
        case "handshakeComplete":
          this.ready?.resolve(this);
          this.ready = undefined;
          break;
        case "streamOpened": {
          if (!e.bidi) break;
          const s = this.#stream(e.id);
          this.incoming.push(s);
          break;
        }
        case "streamReadable":
          this.streams.get(e.id)?.wakeRead();
          break;
        case "streamWritable":
          this.streams.get(e.id)?.wakeWrite();
          break;
        case "streamFinished":
          this.streams.get(e.id)?.markSendFinished();
          break;
        case "streamReset": {
          const s = this.streams.get(e.id);
          if (s) {
            s.resetCode = e.code;
            s.wakeRead();
          }
          break;
        }
        case "streamStopped": {
          const s = this.streams.get(e.id);
          if (s) {
            s.stopCode = e.code;
            s.wakeWrite();
            s.markSendFinished();
          }
          break;
        }
        case "connectionClosed":
          this.closedInfo = {
            code: e.code,
            reason: e.reason,
            byPeer: e.byPeer,
            isApplication: e.isApplication,
          };
          this.ready?.reject(
            new QuicError(e.code, `connection failed: ${e.reason}`, e.isApplication),
          );
          this.ready = undefined;
          this.#resolveClosed(this.closedInfo);
          for (const s of this.streams.values()) {
            s.wakeRead();
            s.wakeWrite();
            s.markSendFinished();
          }
          this.incoming.close();
          for (const w of this.openWaiters.splice(0)) w();
          break;
      }
    }
    if (this.openWaiters.length) { for (const w of this.openWaiters.splice(0)) w(); }
  }
}

/** Drives a QuicEndpoint over a DatagramTransport with real timers. */
export class QuicDriver {
  readonly #ep: QuicEndpoint;
  readonly #tr: DatagramTransport;
  readonly #clock: Clock;
  #conns = new Map<QuicConnection, ConnImpl>();
  #accepted = new AsyncQueue<ConnImpl>();
  readonly #timer = new DeadlineTimer(() => this.now(), () => this.#run());
  #scheduled = false;
  #closed = false;
  #loop: Promise<void>;

  /** Starts receiving from `transport` at once; timers use `clock`. */
  constructor(endpoint: QuicEndpoint, transport: DatagramTransport, clock: Clock = realClock) {
    this.#ep = endpoint;
    this.#tr = transport;
    this.#clock = clock;
    if (transport.setReceiver) {
      // push mode: every datagram delivered in one burst is handled before the (coalesced)
      // processing pass runs once
      transport.setReceiver((remote, data) => {
        if (this.#closed) return;
        this.#ep.handle(this.now(), remote, data);
        this.kick();
      });
      this.#loop = Promise.resolve();
    } else this.#loop = this.#receiveLoop();
  }

  /** Current time in ms from the driver's clock. */
  now(): number {
    return this.#clock.now();
  }

  async #receiveLoop(): Promise<void> {
    for (;;) {
      let d: { remote: string; data: Uint8Array } | null;
      try {
        d = await this.#tr.receive();
      } catch {
        // a failing transport is treated as closed
        d = null;
      }
      if (!d || this.#closed) return;
      this.#ep.handle(this.now(), d.remote, d.data);
      this.kick();
    }
  }

  /** Schedules a processing pass (coalesced into one microtask). */
  kick(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#run();
    });
  }

  #run(): void {
    if (this.#closed) return;
    const now = this.now();
    const t = this.#ep.pollTimeout();
    if (t !== undefined && t <= now) this.#ep.handleTimeout(now);
    for (let round = 0; round < 4; round++) {
      for (let e = this.#ep.poll(); e; e = this.#ep.poll()) {
        const c = new ConnImpl(this, e.conn, e.remote);
        c.ready = {
          resolve: (x) => {
            this.#accepted.push(x);
          },
          reject: () => {},
        };
        this.#conns.set(e.conn, c);
      }
      for (const c of this.#conns.values()) c.pump();
      let sent = 0;
      const borrow = this.#tr.copiesOnSend === true;
      for (let d = this.#ep.pollTransmit(now, borrow); d; d = this.#ep.pollTransmit(now, borrow)) {
        this.#tr.send(d.remote, d.data);
        sent++;
      }
      for (const [k, c] of this.#conns) {
        c.pump();
        if (k.isClosed) this.#conns.delete(k);
      }
      if (!sent) break;
    }
    this.#arm();
  }

  #arm(): void {
    this.#timer.arm(this.#ep.pollTimeout());
  }

  /** Dials `remote`; resolves once the handshake completes. */
  connect(remote: string, opts: { serverName?: string } = {}): Promise<QuicConnHandle> {
    if (this.#closed) return Promise.reject(new Error("driver closed"));
    const conn = this.#ep.connect(this.now(), remote, opts.serverName);
    const c = new ConnImpl(this, conn, remote);
    this.#conns.set(conn, c);
    const p = new Promise<QuicConnHandle>((resolve, reject) => {
      c.ready = { resolve: (x) => resolve(x), reject };
    });
    this.kick();
    return p;
  }

  /** Next incoming connection whose handshake completed, or null once the driver is closed. */
  accept(): Promise<QuicConnHandle | null> {
    return this.#accepted.take();
  }

  /** Closes every connection (code 0), sends the closes, stops timers and closes the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const now = this.now();
    for (const c of this.#conns.values()) {
      if (!c.closedInfo) c.connection.close(now, 0, "endpoint closed", true);
    }
    for (let d = this.#ep.pollTransmit(now); d; d = this.#ep.pollTransmit(now)) {
      this.#tr.send(d.remote, d.data);
    }
    for (const c of this.#conns.values()) c.pump();
    this.#closed = true;
    this.#timer.cancel();
    this.#accepted.close();
    this.#tr.close();
    await this.#loop;
  }
}
