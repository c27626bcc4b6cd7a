/**
 * TCP backends (`tcp-listener`, `tcp-peer`): thin shells that turn TCP connections (optionally
 * wrapped in TLS by a {@link StreamWrapper}) into {@link StreamLink}s for the mesh.
 * @module
 */
import type { Link, LinkOptions } from "../link.ts";
import { type ByteStream, StreamLink } from "./stream_link.ts";
import { REDIAL_FIRST_MS, RedialBackoff, splitHostPort } from "./redial.ts";
import type { Logger } from "../../log.ts";

/** Longest pause between retries after accept errors (ms). */
const ACCEPT_RETRY_MAX_MS = 1000;

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

/** A running `tcp-listener`. */
export class TcpListenerBackend {
  #listener: Deno.TcpListener;
  #closed = false;
  #links = new Set<StreamLink>();
  #acceptDone: Promise<void> = Promise.resolve();
  private constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
  }

  /** Bind and start accepting. Throws if the address cannot be bound. */
  static start(
    opts: TcpBackendCommon & { bindaddr: string; port: number; nodeCost?: Record<string, number> },
    sink: LinkSink,
  ): TcpListenerBackend {
    const listener = Deno.listen({ hostname: opts.bindaddr || "0.0.0.0", port: opts.port });
    const b = new TcpListenerBackend(listener);
    const addr = listener.addr as Deno.NetAddr;
    opts.logger.debug(`Listening on TCP ${addr.hostname}:${addr.port}`);
    b.#acceptDone = b.#acceptLoop(opts, sink);
    return b;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #acceptLoop(
    opts: TcpBackendCommon & { nodeCost?: Record<string, number> },
    sink: LinkSink,
  ): Promise<void> {
    let delay = 0;
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        // Transient failures (EMFILE...) must not stop the listener: back off and retry.
        delay = Math.min(delay ? delay * 2 : 5, ACCEPT_RETRY_MAX_MS);
        opts.logger.error(`TCP listener accept failed: ${e}; retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      delay = 0;
      this.#handle(conn, opts, sink);
    }
  }

  async #handle(
    conn: Deno.TcpConn,
    opts: TcpBackendCommon & { nodeCost?: Record<string, number> },
    sink: LinkSink,
  ): Promise<void> {
    const ra = conn.remoteAddr as Deno.NetAddr;
    const desc = `tcp-listener from ${ra.hostname}:${ra.port}`;
    try {
      conn.setNoDelay(true);
    } catch { /* ignore */ }
    let stream: ByteStream = conn;
    let verified: string[] | undefined;
    if (opts.wrapper?.server) {
      try {
        const r = await opts.wrapper.server(conn);
        stream = r.stream;
        verified = r.verifiedNodeIds;
      } catch (e) {
        opts.logger.warning(
          `${desc}: TLS handshake refused: ${e instanceof Error ? e.message : e}`,
        );
        try {
          conn.close();
        } catch { /* closed */ }
        return;
      }
    }
    if (this.#closed) {
      stream.close();
      return;
    }
    const link = new StreamLink(
      stream,
      linkOptions(opts, desc, opts.nodeCost, verified),
      opts.logger,
    );
    this.#links.add(link);
    link.done.then(() => this.#links.delete(link));
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
      try {
        this.#listener.close();
      } catch { /* closed */ }
      for (const l of this.#links) l.close();
    }
    return this.#acceptDone;
  }
}

/** A running `tcp-peer`: dials, hands the session to the mesh, redials with back-off. */
export class TcpPeerBackend {
  #closed = false;
  #link: StreamLink | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | null = null;

  private constructor(
    private readonly opts: TcpBackendCommon & { address: string; redial: boolean },
    private readonly sink: LinkSink,
  ) {}

  /** Validate the address and start the dial loop. */
  static start(
    opts: TcpBackendCommon & { address: string; redial: boolean },
    sink: LinkSink,
  ): TcpPeerBackend {
    splitHostPort(opts.address);
    const b = new TcpPeerBackend(opts, sink);
    b.#loop();
    return b;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
    });
  }

  async #loop(): Promise<void> {
    const { logger } = this.opts;
    const backoff = new RedialBackoff();
    const { host, port } = splitHostPort(this.opts.address);
    while (!this.#closed) {
      let conn: Deno.TcpConn | null = null;
      try {
        conn = await Deno.connect({ hostname: host, port });
      } catch (e) {
        logger.warning(
          `Backend connection failed (will retry: ${this.opts.redial}): tcp-peer ${this.opts.address}: ${
            e instanceof Error ? e.message : e
          }`,
        );
      }
      if (conn && !this.#closed) {
        backoff.success();
        try {
          conn.setNoDelay(true);
        } catch { /* ignore */ }
        let stream: ByteStream | null = conn;
        let verified: string[] | undefined;
        if (this.opts.wrapper?.client) {
          try {
            const r = await this.opts.wrapper.client(conn, host);
            stream = r.stream;
            verified = r.verifiedNodeIds;
          } catch (e) {
            logger.warning(
              `tcp-peer ${this.opts.address}: TLS handshake failed: ${
                e instanceof Error ? e.message : e
              }`,
            );
            try {
              conn.close();
            } catch { /* closed */ }
            stream = null;
          }
        }
        if (stream && !this.#closed) {
          const link = new StreamLink(
            stream,
            linkOptions(this.opts, `tcp-peer ${this.opts.address}`, undefined, verified),
            logger,
          );
          this.#link = link;
          this.sink.attachLink(link);
          link.start();
          const reason = await link.done;
          this.#link = null;
          logger.debug(`tcp-peer ${this.opts.address}: session ended: ${reason}`);
        } else if (stream) {
          stream.close();
        }
        if (!this.opts.redial || this.#closed) return;
        await this.#sleep(REDIAL_FIRST_MS);
        continue;
      }
      if (!this.opts.redial || this.#closed) return;
      await this.#sleep(backoff.failure());
    }
  }

  /** Stop dialing and drop the current session. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    this.#link?.close();
  }
}
