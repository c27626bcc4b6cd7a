/**
 * The thin async shell around the sans-IO {@link Router}: it owns the links, one timer re-armed
 * from `pollTimeout()`, and drains `pollOutput()` after every input. On top it offers datagram
 * endpoints (wire.md §11), ping and traceroute (§8.2, §8.3) and advertisements.
 *
 * @example
 * ```ts
 * const node = new MeshNode({ nodeId: "a", logger });
 * node.attachLink(link);
 * const r = await node.ping("b"); // { from: "b", timeNs: 1234567n } or { error: "timeout" }
 * node.close();
 * ```
 * @module
 */

import { errorText } from "../util/error_text.ts";
import { type Clock, preciseWallMs, realClock } from "../clock.ts";
import type { Link } from "./link.ts";
import type { WorkCommand } from "./messages.ts";
import { Router, type RouterOptions, type RouterStatus, type UnreachableNotice } from "./router.ts";
import { AsyncQueue } from "../util/async_queue.ts";
import { DeadlineTimer } from "../util/deadline_timer.ts";

/** Options of a {@link MeshNode}: those of the Router, with a clock instead of its times. */
export interface MeshNodeOptions extends Omit<RouterOptions, "now" | "wallMs"> {
  /** The clock this shell reads and hands to the router. Defaults to the real clock. */
  clock?: Clock;
}

/** A datagram received by an endpoint. */
export interface Datagram {
  fromNode: string;
  fromService: string;
  payload: Uint8Array;
}

/** A bound (node, service) datagram endpoint. */
export interface DatagramEndpoint {
  /** The bound service name. */
  readonly service: string;
  /** Send one datagram; throws an Error with Go's text for local errors (e.g. "no route to node"). */
  send(toNode: string, toService: string, bytes: Uint8Array, hopsToLive?: number): void;
  /** The next datagram, or null once closed. Unread datagrams beyond 1024 are dropped. */
  receive(): Promise<Datagram | null>;
  /** If set, datagrams are handed here instead of being queued for `receive()`. */
  onDatagram?: (d: Datagram) => void;
  /** Called for unreachable notices about datagrams this endpoint sent. */
  onUnreachable?: (n: UnreachableNotice) => void;
  /** Unbind the service; pending and later `receive()` calls return null. */
  close(): void;
}

/** Result of a ping: the responder and round-trip time, or an error text. */
export type PingResult = { from: string; timeNs: bigint } | {
  error: string;
  from?: string;
  timeNs?: bigint;
};

/** One traceroute hop. */
export interface TracerouteHop {
  from: string;
  timeNs: bigint;
  /** Set on a failed hop (any error other than "message expired"). */
  error?: string;
}

const INBOX_LIMIT = 1024;
const EMPTY = new Uint8Array(0);

class Endpoint implements DatagramEndpoint {
  onDatagram?: (d: Datagram) => void;
  onUnreachable?: (n: UnreachableNotice) => void;
  #inbox = new AsyncQueue<Datagram>(INBOX_LIMIT);

  constructor(readonly service: string, readonly node: MeshNode) {}

  send(toNode: string, toService: string, bytes: Uint8Array, hopsToLive?: number): void {
    if (this.#inbox.closed) throw new Error("endpoint is closed");
    const err = this.node.sendRaw(this.service, toNode, toService, bytes, hopsToLive);
    if (err) throw new Error(err);
  }

  receive(): Promise<Datagram | null> {
    return this.#inbox.take();
  }

  deliver(d: Datagram): void {
    if (this.#inbox.closed) return;
    if (this.onDatagram) return this.onDatagram(d);
    // a payload relayed without a copy is a view of a link's read buffer: do not pin that
    // buffer while the datagram waits to be read
    const p = d.payload;
    if (p.byteLength !== p.buffer.byteLength) d = { ...d, payload: p.slice() };
    this.#inbox.push(d); // beyond INBOX_LIMIT unread datagrams are dropped (datagrams may be)
  }

  close(): void {
    if (this.#inbox.closed) return;
    this.#inbox.close(true);
    this.node.unbind(this.service);
  }
}

/** Traffic of one link, or of closed links folded per backend kind and peer (metrics). */
export interface LinkTraffic {
  /** Backend kind: the first word of the link description (`tcp-peer`, `ws-listener`, …). */
  backend: string;
  /** Peer node ID once the handshake named it ("" before). */
  peer: string;
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
}

/** Most (backend, peer) pairs kept for closed links; beyond it they fold into peer "other". */
const MAX_CLOSED_TRAFFIC_KEYS = 256;

function backendKind(description: string): string {
  const w = description.split(" ", 1)[0];
  return /^[a-z][a-z0-9-]{0,31}$/.test(w) ? w : "other";
}

/** A running mesh node: Router + links + timer + endpoints. */
export class MeshNode {
  readonly router: Router;
  readonly #clock: Clock;
  readonly #links = new Map<number, Link>();
  readonly #traffic = new Map<number, LinkTraffic>();
  readonly #closedTraffic = new Map<string, LinkTraffic>();
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #shutdownCbs: ((reason: string) => void)[] = [];
  readonly #restartCbs = new Set<(node: string) => void>();
  readonly #routeCbs = new Set<(node: string) => void>();
  readonly #unreachCbs: ((n: UnreachableNotice) => void)[] = [];
  #nextLinkId = 1;
  readonly #timer: DeadlineTimer;
  #pumping = false;
  #closed = false;
  /** Inside a link's send, called from the router (a close then waits a microtask). */
  #inSend = false;

  /** Build the router; throws only for invalid options. */
  constructor(opts: MeshNodeOptions) {
    this.#clock = opts.clock ?? realClock;
    this.#timer = new DeadlineTimer(() => this.#clock.now(), () => this.#onTimer());
    const clock = this.#clock;
    const { clock: _, ...routerOpts } = opts;
    this.router = new Router({
      splitDataSends: true,
      linkBacklog: (id) => this.#links.get(id)?.backlog?.() ?? 0,
      ...routerOpts,
      send: (id, bytes, tail) => this.#send(id, bytes, tail),
      now: clock.now(),
      // own ads' Time keeps sub-millisecond detail with the real clock (Go writes ns)
      wallMs: clock === realClock ? preciseWallMs : () => clock.wallNow().getTime(),
    });
    this.#pump();
  }

  /** This node's ID. */
  get nodeId(): string {
    return this.router.nodeId;
  }

  /** Hand a backend session to the mesh: the handshake starts at once. */
  attachLink(link: Link): void {
    if (this.#closed) {
      link.close();
      return;
    }
    const id = this.#nextLinkId++;
    this.#links.set(id, link);
    const t: LinkTraffic = {
      backend: backendKind(link.options.description),
      peer: "",
      messagesIn: 0,
      bytesIn: 0,
      messagesOut: 0,
      bytesOut: 0,
    };
    this.#traffic.set(id, t);
    const owned = link.freshMessages === true;
    let told = link.established === undefined;
    link.onMessage = (m) => {
      if (this.#closed) return;
      t.messagesIn++;
      t.bytesIn += m.length;
      this.router.handleMessage(this.#clock.now(), id, m, owned);
      if (!told && this.router.linkPeer(id) !== undefined) {
        told = true;
        link.established!();
      }
      if (t.peer === "") t.peer = this.router.linkPeer(id) ?? "";
      this.#pump();
    };
    link.onClose = (reason) => {
      if (this.#inSend) return queueMicrotask(() => link.onClose(reason)); // not re-entrant
      this.#foldTraffic(id);
      if (!this.#links.delete(id) || this.#closed) return;
      this.router.linkClosed(this.#clock.now(), id, reason);
      this.#pump();
    };
    this.router.addLink(this.#clock.now(), id, link.options);
    this.#pump();
  }

  /** Bind a datagram endpoint (ephemeral name if `service` is omitted). */
  listen(service?: string): DatagramEndpoint {
    const name = this.router.bindService(service);
    const ep = new Endpoint(name, this);
    this.#endpoints.set(name, ep);
    return ep;
  }

  /** @internal Used by endpoints. */
  sendRaw(
    fromService: string,
    toNode: string,
    toService: string,
    bytes: Uint8Array,
    hopsToLive?: number,
  ): string | undefined {
    // Sends reach the link (which copies) before this returns, and other outputs (a delivery
    // to ourselves) are carried out by the pump below, so the router may hold `bytes` by
    // reference — unless a pump is already running further up the stack.
    if (this.#pumping) bytes = bytes.slice();
    const now = this.#clock.now();
    const err = this.router.sendDatagram(now, fromService, toNode, toService, bytes, hopsToLive);
    this.#pump();
    return err;
  }

  /** @internal Used by endpoints. */
  unbind(service: string): void {
    this.#endpoints.delete(service);
    this.router.unbindService(service);
  }

  /** Subscribe to every unreachable notice delivered to this node. */
  onUnreachable(cb: (n: UnreachableNotice) => void): void {
    this.#unreachCbs.push(cb);
  }

  /**
   * Call `cb` with the ID of any node seen restarting (a larger epoch): connections to its
   * old incarnation cannot work any more. Returns a function that removes the callback.
   */
  onNodeRestart(cb: (node: string) => void): () => void {
    this.#restartCbs.add(cb);
    return () => this.#restartCbs.delete(cb);
  }

  /**
   * Call `cb` with the ID of a node whose route (re)appears, e.g. after a middle hop came back.
   * Returns a function that removes the callback.
   */
  onRouteAdded(cb: (node: string) => void): () => void {
    this.#routeCbs.add(cb);
    return () => this.#routeCbs.delete(cb);
  }

  /** Called once if the router shuts down (duplicate node ID). */
  onShutdown(cb: (reason: string) => void): void {
    this.#shutdownCbs.push(cb);
  }

  /**
   * Ping `node` (wire.md §8.2): the first datagram back wins; an unreachable ends the ping with
   * its Problem as the error; `timeout` after `timeoutMs` (10 s).
   */
  ping(node: string, opts: { htl?: number; timeoutMs?: number } = {}): Promise<PingResult> {
    const start = this.#clock.now();
    const elapsed = () => BigInt(Math.round((this.#clock.now() - start) * 1e6));
    let ep: DatagramEndpoint;
    try {
      ep = this.listen();
    } catch (e) {
      return Promise.resolve({ error: errorText(e) });
    }
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: PingResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        ep.close();
        resolve(r);
      };
      const timer = setTimeout(
        () => finish({ error: "timeout", timeNs: elapsed() }),
        opts.timeoutMs ?? 10_000,
      );
      ep.onUnreachable = (n) =>
        finish({ error: n.Problem, from: n.ReceivedFromNode, timeNs: elapsed() });
      ep.onDatagram = (d) => finish({ from: d.fromNode, timeNs: elapsed() });
      try {
        ep.send(node, "ping", EMPTY, opts.htl ?? this.router.maxHops);
      } catch (e) {
        finish({ error: errorText(e), from: this.nodeId, timeNs: elapsed() });
      }
    });
  }

  /**
   * Traceroute (wire.md §8.3): pings with HTL 0, 1, 2… ; "message expired" answers are normal
   * hops; stops at the first reply or any other error.
   */
  async traceroute(node: string, opts: { timeoutMs?: number } = {}): Promise<TracerouteHop[]> {
    const hops: TracerouteHop[] = [];
    for (let htl = 0; htl <= this.router.maxHops; htl++) {
      const r = await this.ping(node, { htl, timeoutMs: opts.timeoutMs });
      if ("error" in r) {
        const hop: TracerouteHop = { from: r.from ?? "", timeNs: r.timeNs ?? 0n };
        if (r.error !== "message expired") {
          hop.error = r.error;
          hops.push(hop);
          return hops;
        }
        hops.push(hop);
        if (this.#closed) return hops;
      } else {
        hops.push({ from: r.from, timeNs: r.timeNs });
        return hops;
      }
    }
    return hops;
  }

  /** Advertise a local service (see Router.addAdvertisement). */
  advertise(
    service: string,
    connType: 0 | 1 | 2,
    tags: Record<string, string> | null,
    workCommands?: WorkCommand[],
  ): void {
    this.router.addAdvertisement(this.#clock.now(), service, connType, tags, workCommands);
    this.#pump();
  }

  /** Withdraw an advertisement (a Cancel ad is flooded). */
  unadvertise(service: string): void {
    this.router.removeAdvertisement(service);
    this.#pump();
  }

  /** Set the node's work types (shown on control-service ads and in status). */
  setWorkCommands(list: WorkCommand[]): void {
    this.router.setWorkCommands(list);
  }

  /**
   * Traffic per link: open links one entry each, closed links folded per backend kind and peer
   * (so the sums only grow). Read at scrape time by the metrics endpoint.
   */
  linkTraffic(): { open: LinkTraffic[]; closed: LinkTraffic[] } {
    return {
      open: [...this.#traffic.values()].map((t) => ({ ...t })),
      closed: [...this.#closedTraffic.values()].map((t) => ({ ...t })),
    };
  }

  #foldTraffic(id: number): void {
    const t = this.#traffic.get(id);
    if (!t) return;
    this.#traffic.delete(id);
    let key = `${t.backend} ${t.peer}`;
    if (!this.#closedTraffic.has(key) && this.#closedTraffic.size >= MAX_CLOSED_TRAFFIC_KEYS) {
      key = `${t.backend} other`;
    }
    const sum = this.#closedTraffic.get(key) ??
      {
        ...t,
        peer: key.slice(t.backend.length + 1),
        messagesIn: 0,
        bytesIn: 0,
        messagesOut: 0,
        bytesOut: 0,
      };
    sum.messagesIn += t.messagesIn;
    sum.bytesIn += t.bytesIn;
    sum.messagesOut += t.messagesOut;
    sum.bytesOut += t.bytesOut;
    this.#closedTraffic.set(key, sum);
  }

  /** The router's status snapshot. */
  status(): RouterStatus {
    return this.router.status();
  }

  /** Run due timers now (for injected clocks that tests advance by hand). */
  tick(): void {
    if (this.#closed) return;
    this.router.handleTimeout(this.#clock.now());
    this.#pump();
  }

  /** Stop: cancel the timer, close endpoints and links. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer.cancel();
    for (const ep of [...this.#endpoints.values()]) ep.close();
    for (const l of [...this.#links.values()]) l.close();
    this.#links.clear();
    for (const id of [...this.#traffic.keys()]) this.#foldTraffic(id);
  }

  /**
   * The router's send callback: straight into the link (which copies into its write buffer).
   * Called from inside router entry points; a link that closed meanwhile is told to the router
   * on a later microtask, never from inside this call.
   */
  #send(linkId: number, bytes: Uint8Array, tail?: Uint8Array): void {
    const l = this.#links.get(linkId);
    if (!l) return;
    const t = this.#traffic.get(linkId);
    if (t) {
      t.messagesOut++;
      t.bytesOut += bytes.length + (tail?.length ?? 0);
    }
    this.#inSend = true;
    try {
      if (!tail) l.send(bytes);
      else if (l.sendParts) l.sendParts(bytes, tail);
      else {
        const m = new Uint8Array(bytes.length + tail.length);
        m.set(bytes);
        m.set(tail, bytes.length);
        l.send(m);
      }
    } catch (e) {
      this.router.logger.error(`link send failed: ${errorText(e)}`);
    } finally {
      this.#inSend = false;
    }
  }

  #pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    try {
      for (let o; (o = this.router.pollOutput(this.#clock.now()));) {
        switch (o.kind) {
          case "send": // only if a caller's options replaced the send callback
            this.#send(o.linkId, o.bytes, o.tail);
            break;
          case "closeLink": {
            const l = this.#links.get(o.linkId);
            this.#links.delete(o.linkId);
            this.#foldTraffic(o.linkId);
            l?.close();
            break;
          }
          case "datagram":
            this.#endpoints.get(o.service)?.deliver({
              fromNode: o.fromNode,
              fromService: o.fromService,
              payload: o.payload,
            });
            break;
          case "unreachable":
            for (const cb of this.#unreachCbs) cb(o.info);
            if (o.info.FromNode === this.nodeId) {
              this.#endpoints.get(o.info.FromService)?.onUnreachable?.(o.info);
            }
            break;
          case "shutdown":
            for (const cb of this.#shutdownCbs) cb(o.reason);
            break;
          case "nodeRestarted":
            for (const cb of [...this.#restartCbs]) cb(o.node);
            break;
          case "routeAdded":
            for (const cb of [...this.#routeCbs]) cb(o.node);
            break;
        }
      }
    } finally {
      this.#pumping = false;
    }
    if (this.router.isShutdown) {
      this.close();
      return;
    }
    this.#arm();
  }

  #arm(): void {
    this.#timer.arm(this.router.pollTimeout());
  }

  #onTimer(): void {
    if (this.#closed) return;
    const due = this.router.pollTimeout();
    const now = this.#clock.now();
    if (due !== undefined && now >= due) this.router.handleTimeout(now);
    this.#pump();
  }
}
