/**
 * WebSocket backends (`ws-listener`, `ws-peer`, wire.md §2.3): thin shells that accept or
 * dial TCP connections, optionally wrap them in TLS through the same {@link StreamWrapper}s
 * as the TCP backends (so client certificates and node-ID verification work identically),
 * run the RFC 6455 opening handshake ({@link ./ws_handshake.ts}) and hand a {@link WsLink}
 * to the mesh.
 *
 * Both sides are implemented directly on byte streams rather than with `Deno.serve` /
 * `Deno.upgradeWebSocket` and the `WebSocket` class: Deno's HTTPS server cannot request or
 * verify client certificates (`requireclientcert`) and its `WebSocket` client cannot use a
 * node's `tls-client` material nor expose the peer certificate for the node-ID check.
 * @module
 */
import { errorText } from "../../util/error_text.ts";
import { acceptLoop } from "../../util/accept_loop.ts";
import { closeQuietly } from "../../util/close_quietly.ts";
import type { LinkOptions } from "../link.ts";
import type { LinkSink, StreamWrapper } from "./tcp.ts";
import type { ByteStream } from "./stream_link.ts";
import { type PeerSession, RedialLoop } from "./redial.ts";
import { WsLink } from "./ws_link.ts";
import {
  buildClientRequest,
  buildServerAccept,
  buildServerRefusal,
  checkClientRequest,
  checkServerResponse,
  newClientKey,
  parseHttpHead,
  parseWsUrl,
  readHttpHead,
  splitExtraHeader,
  type WsTarget,
} from "./ws_handshake.ts";
import type { Logger } from "../../log.ts";
import { Admission, type AdmissionLimits } from "./admission.ts";

/** Listener: time allowed for the HTTP request head (Go: ReadHeaderTimeout 5 s). */
export const WS_HEADER_TIMEOUT_MS = 5000;
/** Dialer: time allowed for TCP connect, TLS and the upgrade reply together. */
export const WS_DIAL_TIMEOUT_MS = 15000;

/** Settings shared by listener and peer. */
export interface WsBackendCommon {
  cost: number;
  allowedPeers: string[] | null;
  logger: Logger;
  /** TLS for `wss` (listener: server side; peer: client side). */
  wrapper?: StreamWrapper;
}

function linkOptions(
  c: WsBackendCommon,
  description: string,
  nodeCost?: Record<string, number>,
  verifiedNodeIds?: string[],
): LinkOptions {
  return { cost: c.cost, nodeCost, allowedPeers: c.allowedPeers, description, verifiedNodeIds };
}

async function writeAll(stream: ByteStream, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await stream.write(bytes.subarray(off));
}

/** Options of a `ws-listener`. */
export interface WsListenerOptions extends WsBackendCommon, AdmissionLimits {
  bindaddr: string;
  port: number;
  /** Upgrade path (Go ServeMux pattern; default "/" matches every path). */
  path: string;
  nodeCost?: Record<string, number>;
}

/** A running `ws-listener`: an HTTP(S) server that upgrades requests on its path. */
export class WsListenerBackend {
  #listener: Deno.TcpListener;
  #closed = false;
  #links = new Set<WsLink>();
  #pending = new Set<Deno.Conn>();
  #acceptDone: Promise<void> = Promise.resolve();
  /** Cap and timeout for connections that have not completed the handshake. */
  readonly admission: Admission;

  private constructor(listener: Deno.TcpListener, admission: Admission) {
    this.#listener = listener;
    this.admission = admission;
  }

  /** Bind and start accepting. Throws if the address cannot be bound. */
  static start(opts: WsListenerOptions, sink: LinkSink): WsListenerBackend {
    const listener = Deno.listen({ hostname: opts.bindaddr || "0.0.0.0", port: opts.port });
    const a = listener.addr as Deno.NetAddr;
    const admission = new Admission(`ws-listener :${a.port}`, opts, opts.logger);
    const b = new WsListenerBackend(listener, admission);
    opts.logger.debug(
      `Listening on ${opts.wrapper ? "wss" : "ws"} ${a.hostname}:${a.port}${opts.path || "/"}`,
    );
    b.#acceptDone = b.#acceptLoop(opts, sink);
    return b;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  #acceptLoop(opts: WsListenerOptions, sink: LinkSink): Promise<void> {
    const closed = () => this.#closed;
    return acceptLoop(this.#listener, "WebSocket listener", opts.logger, closed, (conn) => {
      this.#handle(conn, opts, sink);
    });
  }

  async #handle(conn: Deno.TcpConn, opts: WsListenerOptions, sink: LinkSink): Promise<void> {
    const ra = conn.remoteAddr as Deno.NetAddr;
    const desc = `ws-listener from ${ra.hostname}:${ra.port}`;
    let stream: ByteStream = conn;
    let link: WsLink | null = null;
    const ticket = this.admission.admit(desc, () => {
      if (link) return link.close();
      closeQuietly(stream);
      if (stream !== conn) closeQuietly(conn);
    });
    if (!ticket) return closeQuietly(conn);
    this.#pending.add(conn);
    try {
      conn.setNoDelay(true);
    } catch { /* ignore */ }
    let verified: string[] | undefined;
    try {
      if (opts.wrapper?.server) {
        try {
          const r = await opts.wrapper.server(conn);
          stream = r.stream;
          verified = r.verifiedNodeIds;
        } catch (e) {
          throw new Error(`TLS handshake refused: ${errorText(e)}`);
        }
      }
      const { head, rest } = await readHttpHead(stream, WS_HEADER_TIMEOUT_MS);
      const parsed = parseHttpHead(head);
      const decision = typeof parsed === "string"
        ? { ok: false as const, status: 400, text: "Bad Request", reason: parsed }
        : checkClientRequest(parsed, opts.path || "/");
      if (!decision.ok) {
        await writeAll(stream, buildServerRefusal(decision)).catch(() => {});
        throw new Error(`upgrade refused (${decision.status}): ${decision.reason}`);
      }
      await writeAll(stream, buildServerAccept(decision.key));
      this.#pending.delete(conn);
      if (this.#closed) {
        closeQuietly(stream);
        return;
      }
      const l = new WsLink(
        stream,
        linkOptions(opts, desc, opts.nodeCost, verified),
        opts.logger,
        false,
        rest,
      );
      link = l;
      l.onEstablished = () => ticket.established();
      this.#links.add(l);
      l.done.then(() => {
        ticket.closed();
        this.#links.delete(l);
      });
      sink.attachLink(l);
      l.start();
    } catch (e) {
      ticket.closed();
      this.#pending.delete(conn);
      if (!this.#closed) {
        opts.logger.warning(`${desc}: ${errorText(e)}`);
      }
      closeQuietly(stream);
      if (stream !== conn) closeQuietly(conn);
    }
  }

  /** Stop listening and drop every session. Resolves once the port is free again. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.#listener);
      this.admission.close();
      for (const c of this.#pending) closeQuietly(c);
      for (const l of this.#links) l.close();
    }
    return this.#acceptDone;
  }
}

/** Options of a `ws-peer`. */
export interface WsPeerOptions extends WsBackendCommon {
  /** `ws://` or `wss://` URL. */
  address: string;
  redial: boolean;
  /** Optional `Name:value` header (split at the first colon). */
  extraheader: string;
  /**
   * For `wss://` without a wrapper: connect with the platform's TLS client (system roots)
   * instead. Tests may override it.
   */
  defaultTls?: (conn: Deno.TcpConn, host: string) => Promise<ByteStream>;
}

/** Upgrade an already connected (and possibly TLS-wrapped) stream as a WebSocket client. */
export async function clientUpgrade(
  stream: ByteStream,
  target: WsTarget,
  extra: [string, string][],
  timeoutMs = WS_DIAL_TIMEOUT_MS,
): Promise<Uint8Array> {
  const key = newClientKey();
  await writeAll(stream, buildClientRequest(target, key, extra));
  const { head, rest } = await readHttpHead(stream, timeoutMs);
  const parsed = parseHttpHead(head);
  if (typeof parsed === "string") throw new Error(`bad handshake reply: ${parsed}`);
  const why = checkServerResponse(parsed, key);
  if (why) throw new Error(why);
  return rest;
}

/** A running `ws-peer`: dials, upgrades, hands the session to the mesh, redials with back-off. */
export class WsPeerBackend {
  #link: WsLink | null = null;
  #conn: Deno.Conn | null = null;
  readonly #target: WsTarget;
  readonly #extra: [string, string][];
  readonly #loop: RedialLoop;

  private constructor(private readonly opts: WsPeerOptions, private readonly sink: LinkSink) {
    this.#target = parseWsUrl(opts.address);
    this.#extra = opts.extraheader ? [splitExtraHeader(opts.extraheader)] : [];
    this.#loop = new RedialLoop(
      { kind: "ws-peer", address: opts.address, redial: opts.redial, logger: opts.logger },
      () => this.#connect(),
    );
  }

  /** Validate the URL and extra header (throws with a clear message) and start dialing. */
  static start(opts: WsPeerOptions, sink: LinkSink): WsPeerBackend {
    const b = new WsPeerBackend(opts, sink);
    b.#loop.start();
    return b;
  }

  /** Connect, TLS, upgrade; returns the stream, leftover bytes and verified IDs. */
  async #dial(
    attempt: { abandoned: boolean },
  ): Promise<{ stream: ByteStream; rest: Uint8Array; verified?: string[] }> {
    const t = this.#target;
    const conn = await Deno.connect({ hostname: t.hostname, port: t.port });
    if (attempt.abandoned || this.#loop.closed) {
      // The attempt timed out (or the backend closed) while connecting.
      closeQuietly(conn);
      throw new Error("dial abandoned");
    }
    this.#conn = conn;
    let stream: ByteStream = conn;
    try {
      try {
        conn.setNoDelay(true);
      } catch { /* ignore */ }
      let verified: string[] | undefined;
      if (t.secure) {
        if (this.opts.wrapper?.client) {
          const r = await this.opts.wrapper.client(conn, t.hostname);
          stream = r.stream;
          verified = r.verifiedNodeIds;
        } else {
          stream = await (this.opts.defaultTls ?? defaultTls)(conn, t.hostname);
        }
      }
      if (this.#loop.closed) throw new Error("backend closed");
      const rest = await clientUpgrade(stream, t, this.#extra);
      return { stream, rest, verified };
    } catch (e) {
      closeQuietly(stream);
      if (stream !== conn) closeQuietly(conn);
      throw e;
    } finally {
      this.#conn = null;
    }
  }

  /** One dial (bounded by the WebSocket dial timeout) that starts a session. */
  async #connect(): Promise<PeerSession> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = { abandoned: false };
    let dialed: { stream: ByteStream; rest: Uint8Array; verified?: string[] };
    try {
      dialed = await Promise.race([
        this.#dial(attempt),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            attempt.abandoned = true;
            if (this.#conn) closeQuietly(this.#conn);
            reject(new Error("timed out"));
          }, WS_DIAL_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (this.#loop.closed) {
      closeQuietly(dialed.stream);
      throw new Error("backend closed");
    }
    const link = new WsLink(
      dialed.stream,
      linkOptions(this.opts, `ws-peer ${this.opts.address}`, undefined, dialed.verified),
      this.opts.logger,
      true,
      dialed.rest,
    );
    this.#link = link;
    this.sink.attachLink(link);
    link.start();
    return { done: link.done.finally(() => (this.#link = null)) };
  }

  /** Stop dialing and drop the current session. */
  close(): void {
    this.#loop.close();
    if (this.#conn) closeQuietly(this.#conn);
    this.#link?.close();
  }
}

/** `wss://` without a named `tls-client`: Deno's TLS client with the platform roots. */
async function defaultTls(conn: Deno.TcpConn, host: string): Promise<ByteStream> {
  const tls = await Deno.startTls(conn, { hostname: host, alpnProtocols: ["http/1.1"] });
  await tls.handshake();
  return tls;
}
