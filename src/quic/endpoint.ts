/**
 * A sans-IO QUIC endpoint: demultiplexes datagrams to connections by destination connection ID,
 * accepts new server connections from Initial packets of at least 1200 bytes, drops unknown
 * versions, sends stateless resets for unknown short-header packets, and multiplexes outgoing
 * datagrams. Remote addresses are opaque strings (`host:port`, or a mesh `node:service`).
 * @module
 */
import { createHmac } from "node:crypto";
import type { TlsFactory, TlsSession, TransportConfig } from "./config.ts";
import { DEFAULT_TRANSPORT } from "./config.ts";
import { QuicConnection } from "./connection.ts";
import { QUIC_V1 } from "./packet.ts";
import { TlsHandshake } from "./tls/handshake.ts";
import type { TlsClientOptions, TlsServerOptions } from "./tls/types.ts";

export type { TlsClientOptions, TlsServerOptions } from "./tls/types.ts";

/** TLS options without the transport parameters (the connection supplies those). */
export type EndpointTlsOptions =
  | Omit<TlsClientOptions, "transportParameters">
  | Omit<TlsServerOptions, "transportParameters">;

/** Endpoint construction options. */
export interface EndpointOptions {
  /** Whether this endpoint dials ("client") or accepts ("server"). */
  role: "client" | "server";
  /** TLS options per connection (called with the remote address and SNI). */
  tls: (ctx: { remote: string; serverName?: string }) => EndpointTlsOptions;
  /** Override for the TLS session itself (tests); defaults to the built-in TLS 1.3 engine. */
  tlsSession?: (
    ctx: { remote: string; serverName?: string; transportParameters: Uint8Array },
  ) => TlsSession;
  /** Transport settings. */
  transport?: Partial<TransportConfig>;
  /** Random bytes (connection IDs, reset key); defaults to crypto.getRandomValues. */
  random?: (n: number) => Uint8Array;
  /** Maximum concurrent connections a server accepts (default 10 000). */
  maxConnections?: number;
}

/** Events reported by the endpoint. */
export type EndpointEvent = { type: "newConnection"; conn: QuicConnection; remote: string };

interface Entry {
  conn: QuicConnection;
  remote: string;
  keys: string[];
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

/** Smallest unknown short-header packet answered with a (one byte shorter) stateless reset. */
export const MIN_RESET_TRIGGER = 22;

/** Demultiplexes datagrams among connections. */
export class QuicEndpoint {
  /** Role of this endpoint. */
  readonly role: "client" | "server";
  /** Effective transport settings. */
  readonly transport: TransportConfig;
  #opts: EndpointOptions;
  #random: (n: number) => Uint8Array;
  #resetKey: Uint8Array;
  #byCid = new Map<string, Entry>();
  #entries: Entry[] = [];
  #rr = 0;
  #events: EndpointEvent[] = [];
  #resets: Array<{ remote: string; data: Uint8Array }> = [];

  /** Creates an endpoint; a random stateless-reset key is drawn per endpoint. */
  constructor(opts: EndpointOptions) {
    this.role = opts.role;
    this.#opts = opts;
    this.transport = { ...DEFAULT_TRANSPORT, ...opts.transport };
    this.#random = opts.random ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
    this.#resetKey = this.#random(32);
  }

  /** Stateless reset token for one of our connection IDs. */
  resetToken(cid: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac("sha256", this.#resetKey).update(cid).digest()).subarray(
      0,
      16,
    );
  }

  #tlsFactory(remote: string, serverName?: string): TlsFactory {
    return (tp: Uint8Array) => {
      if (this.#opts.tlsSession) {
        return this.#opts.tlsSession({ remote, serverName, transportParameters: tp });
      }
      const o = this.#opts.tls({ remote, serverName });
      // ChaCha20-Poly1305 first: several times faster than AES-GCM in this runtime's node:crypto
      const cipherSuites = o.cipherSuites ?? [0x1303, 0x1301, 0x1302];
      return new TlsHandshake(
        { ...o, cipherSuites, transportParameters: tp } as TlsClientOptions | TlsServerOptions,
      );
    };
  }

  #register(e: Entry, cid: Uint8Array): void {
    const k = hex(cid);
    e.keys.push(k);
    this.#byCid.set(k, e);
  }

  /** Starts a client connection to `remote`. */
  connect(now: number, remote: string, serverName?: string): QuicConnection {
    const localCid = this.#random(this.transport.cidLength);
    const dcid = this.#random(8);
    const conn = new QuicConnection({
      role: "client",
      tls: this.#tlsFactory(remote, serverName),
      transport: this.transport,
      localCid,
      remoteCid: dcid,
      serverName,
      now,
    });
    const e: Entry = { conn, remote, keys: [] };
    this.#register(e, localCid);
    this.#entries.push(e);
    return conn;
  }

  /** Feeds a datagram received from `remote`. Never throws. */
  handle(now: number, remote: string, dg: Uint8Array): void {
    try {
      this.#handle(now, remote, dg);
    } catch {
      // hostile input must never escape; drop it
    }
  }

  #handle(now: number, remote: string, dg: Uint8Array): void {
    if (dg.length < 1) return;
    const first = dg[0];
    const cidLen = this.transport.cidLength;
    if (first & 0x80) {
      if (dg.length < 7) return;
      const version = ((dg[1] << 24) >>> 0) + ((dg[2] << 16) | (dg[3] << 8) | dg[4]);
      const dl = dg[5];
      if (dl > 20 || dg.length < 6 + dl) return;
      const dcid = dg.subarray(6, 6 + dl);
      const e = this.#byCid.get(hex(dcid));
      if (e) {
        if (e.remote === remote) e.conn.handle(now, dg);
        return;
      }
      if (version !== QUIC_V1 || this.role !== "server") return;
      if (((first >> 4) & 3) !== 0 || dg.length < 1200 || dl < 8) return;
      if (this.#entries.length >= (this.#opts.maxConnections ?? 10000)) return;
      const sl = dg[6 + dl];
      if (sl > 20 || dg.length < 7 + dl + sl) return;
      const scid = dg.slice(7 + dl, 7 + dl + sl);
      const localCid = this.#random(cidLen);
      const conn = new QuicConnection({
        role: "server",
        tls: this.#tlsFactory(remote),
        transport: this.transport,
        localCid,
        remoteCid: scid,
        originalDcid: dcid.slice(),
        statelessResetToken: this.resetToken(localCid),
        now,
      });
      const ne: Entry = { conn, remote, keys: [] };
      this.#register(ne, localCid);
      this.#register(ne, dcid);
      this.#entries.push(ne);
      this.#events.push({ type: "newConnection", conn, remote });
      conn.handle(now, dg);
      return;
    }
    if (dg.length < 1 + cidLen) return;
    const e = this.#byCid.get(hex(dg.subarray(1, 1 + cidLen)));
    if (e) {
      e.conn.handle(now, dg);
      return;
    }
    // a stateless reset from a peer that lost our connection? (RFC 9000 §10.3.1)
    if (dg.length >= 21) {
      const tail = dg.subarray(dg.length - 16);
      for (const en of this.#entries) {
        if (
          en.remote === remote &&
          en.conn.peerResetTokens.some((t) => t.every((b, i) => b === tail[i]))
        ) {
          en.conn.handle(now, dg);
          return;
        }
      }
    }
    // Unknown short-header packet: stateless reset, one byte shorter than the trigger (so two
    // endpoints that both lost state cannot loop, RFC 9000 §10.3.3) and at least 21 bytes
    // (§10.3). Small packets are answered too (quic-go skips those up to 42 bytes): a keep-alive
    // or probe PING is what a peer sends after a path comes back, and a reset to it ends the
    // peer's dead connection at once instead of at its idle timeout.
    if (dg.length >= MIN_RESET_TRIGGER && this.#resets.length < 64) {
      const len = Math.min(dg.length - 1, 43);
      const out = this.#random(len);
      out[0] = 0x40 | (out[0] & 0x3f);
      out.set(this.resetToken(dg.subarray(1, 1 + cidLen)), len - 16);
      this.#resets.push({ remote, data: out });
    }
  }

  /**
   * Next datagram to send, round-robin across connections. With `borrow`, a connection's
   * datagram may be a view of its scratch buffer, valid only until the next call.
   */
  pollTransmit(now: number, borrow = false): { remote: string; data: Uint8Array } | undefined {
    const r = this.#resets.shift();
    if (r) return r;
    const n = this.#entries.length;
    for (let i = 0; i < n; i++) {
      const e = this.#entries[(this.#rr + i) % n];
      const d = e.conn.pollTransmit(now, borrow);
      if (d) {
        this.#rr = (this.#rr + i + 1) % n;
        return { remote: e.remote, data: d };
      }
    }
    this.#reap();
    return undefined;
  }

  /** Earliest timer deadline across connections. */
  pollTimeout(): number | undefined {
    let t: number | undefined;
    for (const e of this.#entries) {
      const x = e.conn.pollTimeout();
      if (x !== undefined && (t === undefined || x < t)) t = x;
    }
    return t;
  }

  /** Fires expired timers. */
  handleTimeout(now: number): void {
    for (const e of this.#entries) {
      const t = e.conn.pollTimeout();
      if (t !== undefined && t <= now) e.conn.handleTimeout(now);
    }
    this.#reap();
  }

  #reap(): void {
    if (!this.#entries.some((e) => e.conn.isClosed)) return;
    this.#entries = this.#entries.filter((e) => {
      if (!e.conn.isClosed) return true;
      for (const k of e.keys) if (this.#byCid.get(k) === e) this.#byCid.delete(k);
      return false;
    });
    this.#rr = 0;
  }

  /** Next endpoint event (new incoming connections). */
  poll(): EndpointEvent | undefined {
    return this.#events.shift();
  }

  /** Live connections with their remotes. */
  connections(): Array<{ conn: QuicConnection; remote: string }> {
    return this.#entries.map((e) => ({ conn: e.conn, remote: e.remote }));
  }
}
