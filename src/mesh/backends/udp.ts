/**
 * UDP backends (`udp-listener`, `udp-peer`, wire.md §2.2): one netceptor message per datagram,
 * no framing, no TLS, no reliability. The listener keys sessions by sender `ip:port`: a
 * datagram from an unknown address starts a new session (a new {@link Link} for the mesh),
 * and the address is forgotten when the mesh closes the link (idle timeout, reject). The
 * peer "dials" by opening a fresh local socket (which always succeeds) and redials 5 s after
 * a session ends. Needs `--unstable-net` (Deno.listenDatagram).
 * @module
 */
import { errorText } from "../../util/error_text.ts";
import type { Link, LinkOptions } from "../link.ts";
import type { LinkSink } from "./tcp.ts";
import { type PeerSession, RedialLoop, splitHostPort } from "./redial.ts";
import type { Logger } from "../../log.ts";
import { Admission, type AdmissionLimits } from "./admission.ts";

/** Largest datagram payload we send (IPv4 UDP maximum, as Go's dialer enforces). */
export const MAX_UDP_MESSAGE = 65507;
/** Receive buffer size (Go reads into 65536 bytes). */
export const UDP_RECEIVE_BUFFER = 65536;

/** Settings shared by listener and peer. */
export interface UdpBackendCommon {
  cost: number;
  allowedPeers: string[] | null;
  logger: Logger;
}

/** The part of a datagram socket a session needs (Deno.DatagramConn satisfies it). */
export interface DatagramSender {
  send(p: Uint8Array, addr: Deno.Addr): Promise<number>;
}

/** One UDP session: sends to a fixed remote address; the owner feeds it received datagrams. */
export class UdpLink implements Link {
  onMessage: (message: Uint8Array) => void = () => {};
  onClose: (reason: string) => void = () => {};
  #closed = false;
  /** Resolves with the reason once the link has closed. */
  readonly done: Promise<string>;
  #resolveDone!: (reason: string) => void;

  constructor(
    readonly options: LinkOptions,
    private readonly socket: DatagramSender,
    private readonly remote: Deno.NetAddr,
    private readonly logger: Logger,
    private readonly onEnd: () => void = () => {},
  ) {
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  send(message: Uint8Array): void {
    if (this.#closed) return;
    if (message.length === 0 || message.length > MAX_UDP_MESSAGE) {
      this.logger.error(
        `${this.options.description}: not sending message of ${message.length} bytes (UDP limit ${MAX_UDP_MESSAGE})`,
      );
      return;
    }
    this.socket.send(message, this.remote).catch((e) => {
      this.end(`send error: ${errorText(e)}`);
    });
  }

  /** Deliver one received datagram (empty ones are ignored). */
  deliver(datagram: Uint8Array): void {
    if (this.#closed || datagram.length === 0) return;
    try {
      this.onMessage(datagram);
    } catch (e) {
      this.logger.error(`${this.options.description}: error handling message: ${e}`);
    }
  }

  close(): void {
    this.end("closed locally");
  }

  /** Called by the mesh once the peer completed the handshake (see Link.established). */
  established(): void {
    this.onEstablished();
    this.onEstablished = () => {};
  }

  /** Set by the listener: called once from {@link established}. */
  onEstablished: () => void = () => {};

  /** End the session with `reason` (idempotent). */
  end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onEnd();
    this.onClose(reason);
    this.#resolveDone(reason);
  }
}

function addrKey(a: Deno.NetAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

function linkOptions(
  c: UdpBackendCommon,
  description: string,
  nodeCost?: Record<string, number>,
): LinkOptions {
  return { cost: c.cost, nodeCost, allowedPeers: c.allowedPeers, description };
}

/** Settings of a `udp-listener`. */
export type UdpListenerOptions = UdpBackendCommon & AdmissionLimits & {
  bindaddr: string;
  port: number;
  nodeCost?: Record<string, number>;
};

/** A running `udp-listener`. */
export class UdpListenerBackend {
  #socket: Deno.DatagramConn;
  #closed = false;
  #sessions = new Map<string, UdpLink>();
  #loopDone: Promise<void> = Promise.resolve();
  /** Cap and timeout for sessions (source addresses) that have not completed the handshake. */
  readonly admission: Admission;

  private constructor(socket: Deno.DatagramConn, admission: Admission) {
    this.#socket = socket;
    this.admission = admission;
  }

  /** Bind and start receiving. Throws if the address cannot be bound. */
  static start(opts: UdpListenerOptions, sink: LinkSink): UdpListenerBackend {
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: opts.bindaddr || "0.0.0.0",
      port: opts.port,
    });
    const a = socket.addr as Deno.NetAddr;
    const admission = new Admission(`udp-listener :${a.port}`, opts, opts.logger);
    const b = new UdpListenerBackend(socket, admission);
    opts.logger.debug(`Listening on UDP ${a.hostname}:${a.port}`);
    b.#loopDone = b.#receiveLoop(opts, sink);
    return b;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.#socket.addr as Deno.NetAddr).port;
  }

  /** Number of live sessions (for tests and diagnostics). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  async #receiveLoop(opts: UdpListenerOptions, sink: LinkSink): Promise<void> {
    const buf = new Uint8Array(UDP_RECEIVE_BUFFER);
    while (!this.#closed) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await this.#socket.receive(buf);
        data = d;
        from = a as Deno.NetAddr;
      } catch (e) {
        if (this.#closed) return;
        // Transient errors (e.g. ICMP unreachable surfacing as ECONNREFUSED) must not stop us.
        opts.logger.debug(`UDP listener receive error: ${errorText(e)}`);
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (data.length === 0) continue;
      const key = addrKey(from);
      let link = this.#sessions.get(key);
      if (!link) {
        // a new source address: a session only within the cap (spoofed sources cost nothing)
        // deno-lint-ignore prefer-const -- the admission callback below closes over `l` before it is built
        let l: UdpLink | undefined;
        const desc = `udp-listener from ${key}`;
        const ticket = this.admission.admit(desc, () => l?.close());
        if (!ticket) continue;
        l = new UdpLink(
          linkOptions(opts, desc, opts.nodeCost),
          this.#socket,
          { transport: "udp", hostname: from.hostname, port: from.port },
          opts.logger,
          () => {
            ticket.closed();
            if (this.#sessions.get(key) === l) this.#sessions.delete(key);
          },
        );
        l.onEstablished = () => ticket.established();
        link = l;
        this.#sessions.set(key, l);
        opts.logger.debug(`udp-listener: new session from ${key}`);
        sink.attachLink(l);
        if (l.closed) continue; // the mesh refused it at once
      }
      link.deliver(data.slice());
    }
  }

  /** Stop receiving and end every session. Resolves once the socket is released. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.admission.close();
      for (const l of [...this.#sessions.values()]) l.close();
      try {
        this.#socket.close();
      } catch { /* closed */ }
    }
    return this.#loopDone;
  }
}

/** True if `host` is an IP literal (so the peer can match the sender address exactly). */
function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** A running `udp-peer`: opens a local socket per session and redials after it ends. */
export class UdpPeerBackend {
  #link: UdpLink | null = null;
  readonly #loop: RedialLoop;

  private constructor(
    private readonly opts: UdpBackendCommon & { address: string; redial: boolean },
    private readonly sink: LinkSink,
  ) {
    const { host, port } = splitHostPort(opts.address);
    this.#loop = new RedialLoop(
      { kind: "udp-peer", address: opts.address, redial: opts.redial, logger: opts.logger },
      () => {
        // A UDP "dial" only opens a local socket; it fails only if that fails.
        const socket = Deno.listenDatagram({
          transport: "udp",
          hostname: host.includes(":") ? "::" : "0.0.0.0",
          port: 0,
        });
        return Promise.resolve(this.#session(socket, host, port));
      },
    );
  }

  /** Validate the address and start the session loop. */
  static start(
    opts: UdpBackendCommon & { address: string; redial: boolean },
    sink: LinkSink,
  ): UdpPeerBackend {
    const b = new UdpPeerBackend(opts, sink);
    b.#loop.start();
    return b;
  }

  #session(socket: Deno.DatagramConn, host: string, port: number): PeerSession {
    const { logger } = this.opts;
    const exact = isIpLiteral(host);
    const link = new UdpLink(
      linkOptions(this.opts, `udp-peer ${this.opts.address}`),
      socket,
      { transport: "udp", hostname: host, port },
      logger,
      () => {
        try {
          socket.close();
        } catch { /* closed */ }
      },
    );
    this.#link = link;
    if (this.#loop.closed) link.close();
    else this.sink.attachLink(link);
    const buf = new Uint8Array(UDP_RECEIVE_BUFFER);
    (async () => {
      while (!link.closed) {
        try {
          const [d, a] = await socket.receive(buf);
          const from = a as Deno.NetAddr;
          if (from.port !== port || (exact && from.hostname !== host)) continue;
          link.deliver(d.slice());
        } catch (e) {
          if (link.closed) return;
          logger.debug(`udp-peer ${this.opts.address}: receive error: ${e}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
    return { done: link.done.finally(() => (this.#link = null)) };
  }

  /** Stop and end the current session. */
  close(): void {
    this.#loop.close();
    this.#link?.close();
  }
}
