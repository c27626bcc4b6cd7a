/**
 * TCP backends (`tcp-listener`, `tcp-peer`): thin shells that turn TCP connections (optionally
 * wrapped in TLS by a {@link StreamWrapper}) into {@link StreamLink}s for the mesh.
 * @module
 */
import { errorText } from "../../util/error_text.ts";
import { acceptLoop } from "../../util/accept_loop.ts";
import { closeQuietly } from "../../util/close_quietly.ts";
import type { Link, LinkOptions } from "../link.ts";
import { type ByteStream, StreamLink } from "./stream_link.ts";
import { type PeerSession, RedialLoop, splitHostPort } from "./redial.ts";
import type { Logger } from "../../log.ts";
import { Admission, type AdmissionLimits } from "./admission.ts";

/** What a listener reads while waiting for a new peer's first bytes. */
const FIRST_READ_BYTES = 64;

/** Longest pause between retries after accept errors (ms). */

/** Whoever takes new links (the mesh node). */
export interface LinkSink {
  attachLink(link: Link): void;
}

/** Optional transport wrapping (TLS): turns a raw connection into an authenticated stream. */
export interface StreamWrapper {
  /** Server side: handshake over an accepted connection. Rejects to refuse the peer. */
  server?(conn: Deno.TcpConn): Promise<{ stream: ByteStream; verifiedNodeIds?: string[] }>;
  /** Client side: handshake over a dialed connection. */
  client?(
    conn: Deno.TcpConn,
    host: string,
  ): Promise<{ stream: ByteStream; verifiedNodeIds?: string[] }>;
}

/** Settings shared by listener and peer. */
export interface TcpBackendCommon {
  cost: number;
  allowedPeers: string[] | null;
  logger: Logger;
  wrapper?: StreamWrapper;
}

function linkOptions(
  c: TcpBackendCommon,
  description: string,
  nodeCost?: Record<string, number>,
  verifiedNodeIds?: string[],
): LinkOptions {
  return { cost: c.cost, nodeCost, allowedPeers: c.allowedPeers, description, verifiedNodeIds };
}

/** Settings of a `tcp-listener`. */
export type TcpListenerOptions = TcpBackendCommon & AdmissionLimits & {
  bindaddr: string;
  port: number;
  nodeCost?: Record<string, number>;
};

/** A running `tcp-listener`. */
export class TcpListenerBackend {
  #listener: Deno.TcpListener;
  #closed = false;
  #links = new Set<StreamLink>();
  /** Connections accepted but not yet past the TLS handshake (closed on shutdown). */
  #raw = new Set<Deno.TcpConn>();
  /** Sessions waiting for the peer's first bytes (closed on shutdown). */
  #silent = new Set<ByteStream>();
  #acceptDone: Promise<void> = Promise.resolve();
  /** Cap and timeout for connections that have not completed the handshake. */
  readonly admission: Admission;
  private constructor(listener: Deno.TcpListener, admission: Admission) {
    this.#listener = listener;
    this.admission = admission;
  }

  /** Bind and start accepting. Throws if the address cannot be bound. */
  static start(opts: TcpListenerOptions, sink: LinkSink): TcpListenerBackend {
    const listener = Deno.listen({ hostname: opts.bindaddr || "0.0.0.0", port: opts.port });
    const addr0 = listener.addr as Deno.NetAddr;
    const admission = new Admission(`tcp-listener :${addr0.port}`, opts, opts.logger);
    const b = new TcpListenerBackend(listener, admission);
    const addr = listener.addr as Deno.NetAddr;
    opts.logger.debug(`Listening on TCP ${addr.hostname}:${addr.port}`);
    b.#acceptDone = b.#acceptLoop(opts, sink);
    return b;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  #acceptLoop(opts: TcpListenerOptions, sink: LinkSink): Promise<void> {
    const closed = () => this.#closed;
    return acceptLoop(this.#listener, "TCP listener", opts.logger, closed, (conn) => {
      this.#handle(conn, opts, sink);
    });
  }

  async #handle(conn: Deno.TcpConn, opts: TcpListenerOptions, sink: LinkSink): Promise<void> {
    const ra = conn.remoteAddr as Deno.NetAddr;
    const desc = `tcp-listener from ${ra.hostname}:${ra.port}`;
    let link: StreamLink | null = null;
    let stream: ByteStream = conn;
    const ticket = this.admission.admit(desc, () => {
      if (link) return link.close();
      closeQuietly(stream);
      closeQuietly(conn);
    });
    if (!ticket) return closeQuietly(conn);
    try {
      conn.setNoDelay(true);
    } catch { /* ignore */ }
    let verified: string[] | undefined;
    if (opts.wrapper?.server) {
      this.#raw.add(conn);
      try {
        const r = await opts.wrapper.server(conn);
        stream = r.stream;
        verified = r.verifiedNodeIds;
      } catch (e) {
        opts.logger.warning(
          `${desc}: TLS handshake refused: ${errorText(e)}`,
        );
        ticket.closed();
        closeQuietly(conn);
        return;
      } finally {
        this.#raw.delete(conn);
      }
    }
    // Plain TCP: wait for the peer to speak before building anything for it. A dialing mesh
    // peer (Go or ours) sends its first routing update at once, so this costs honest peers
    // nothing, and a silent connection holds one tiny pending read instead of a link, its
    // timers and the initial updates it would be sent. With TLS the peer has spoken already
    // (and proved a certificate if the server requires one): start at once, as Go does.
    let first: Uint8Array | undefined;
    let n: number | null = 0;
    if (!opts.wrapper?.server) {
      first = new Uint8Array(FIRST_READ_BYTES);
      n = null;
      try {
        this.#silent.add(stream);
        n = await stream.read(first);
      } catch {
        /* closed by the timeout or reset */
      } finally {
        this.#silent.delete(stream);
      }
    }
    if (n === null || this.#closed) {
      ticket.closed();
      closeQuietly(stream);
      return;
    }
    link = new StreamLink(
      stream,
      linkOptions(opts, desc, opts.nodeCost, verified),
      opts.logger,
      first?.subarray(0, n),
    );
    link.onEstablished = () => ticket.established();
    this.#links.add(link);
    const l = link;
    link.done.then(() => {
      ticket.closed();
      this.#links.delete(l);
    });
    sink.attachLink(link);
    link.start();
  }

  /**
   * Stop listening and drop every session it accepted. Resolves once the pending accept has
   * ended: only then has Deno released the socket, so the port can be bound again (reload).
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.#listener);
      this.admission.close();
      for (const l of this.#links) l.close();
      for (const c of [...this.#raw, ...this.#silent]) {
        closeQuietly(c);
      }
    }
    return this.#acceptDone;
  }
}

/** A running `tcp-peer`: dials, hands the session to the mesh, redials with back-off. */
export class TcpPeerBackend {
  #link: StreamLink | null = null;
  readonly #loop: RedialLoop;

  private constructor(
    private readonly opts: TcpBackendCommon & { address: string; redial: boolean },
    private readonly sink: LinkSink,
  ) {
    const { host, port } = splitHostPort(opts.address);
    this.#loop = new RedialLoop(
      { kind: "tcp-peer", address: opts.address, redial: opts.redial, logger: opts.logger },
      () => this.#connect(host, port),
    );
  }

  /** Validate the address and start the dial loop. */
  static start(
    opts: TcpBackendCommon & { address: string; redial: boolean },
    sink: LinkSink,
  ): TcpPeerBackend {
    const b = new TcpPeerBackend(opts, sink);
    b.#loop.start();
    return b;
  }

  async #connect(host: string, port: number): Promise<PeerSession> {
    const conn = await Deno.connect({ hostname: host, port });
    try {
      conn.setNoDelay(true);
    } catch { /* ignore */ }
    let stream: ByteStream = conn;
    let verified: string[] | undefined;
    if (this.opts.wrapper?.client) {
      try {
        const r = await this.opts.wrapper.client(conn, host);
        stream = r.stream;
        verified = r.verifiedNodeIds;
      } catch (e) {
        closeQuietly(conn);
        throw new Error(`TLS handshake failed: ${errorText(e)}`);
      }
    }
    if (this.#loop.closed) {
      stream.close();
      throw new Error("backend closed");
    }
    const link = new StreamLink(
      stream,
      linkOptions(this.opts, `tcp-peer ${this.opts.address}`, undefined, verified),
      this.opts.logger,
    );
    this.#link = link;
    this.sink.attachLink(link);
    link.start();
    return { done: link.done.finally(() => (this.#link = null)) };
  }

  /** Stop dialing and drop the current session. */
  close(): void {
    this.#loop.close();
    this.#link?.close();
  }
}
