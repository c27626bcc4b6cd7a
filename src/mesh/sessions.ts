/**
 * The backend sessions of the {@link Router} (wire.md §3): each link's state, the initial
 * routing-update messages sent until the peer identifies itself, the acceptance checks of
 * {@link checkNewPeer}, idle timeouts, and the one established connection per peer. Sans-IO
 * like the router it serves: time is the router's `now`, the rest goes through the host.
 * @module
 */

import type { Logger } from "../log.ts";
import type { LinkOptions } from "./link.ts";
import { REJECT_MESSAGE, type RoutingUpdate } from "./messages.ts";
import { checkNewPeer } from "./handshake.ts";
import type { RouterOutput } from "./router_types.ts";

/** Interval and count of per-session initial messages. */
const INIT_INTERVAL_MS = 1000;
const INIT_MAX_SENDS = 11;

/** One backend session as the router sees it. */
export interface LinkState {
  id: number;
  options: LinkOptions;
  cost: number;
  peer?: string;
  established: boolean;
  /** The peer's own update has listed us at least once. */
  remoteEstablished: boolean;
  initSends: number;
  initAt?: number;
  lastRecv: number;
}

/** What {@link Sessions} needs from its router. */
export interface SessionsHost {
  readonly nodeId: string;
  readonly logger: Logger;
  /** Close a connection silent this long (ms). */
  readonly maxIdleMs: number;
  /** The router's current time (ms, monotonic). */
  now(): number;
  /** Our next initial message: a routing update, encoded. */
  initialMessage(): Uint8Array;
  /** Send `bytes` on one link. */
  send(linkId: number, bytes: Uint8Array): void;
  /** Queue an output for the shell. */
  emit(o: RouterOutput): void;
  /** Link `linkId` is gone (its flood queue goes too). */
  linkGone(linkId: number): void;
  /** An established session with `peer` is gone; `current`: it was the peer's connection. */
  lost(peer: string, current: boolean): void;
  /** A connection with `peer` at `cost` is established on `linkId`. */
  established(linkId: number, peer: string, cost: number): void;
}

/** Links by ID and the established connection of each peer. */
export class Sessions {
  readonly #host: SessionsHost;
  readonly #links = new Map<number, LinkState>();
  readonly #conns = new Map<string, number>();
  /** `#conns` as parallel arrays for the flood path (no entry array per peer and message). */
  #lists: { peers: readonly string[]; links: readonly number[] } = { peers: [], links: [] };
  #listStale = false;

  constructor(host: SessionsHost) {
    this.#host = host;
  }

  /** The session on `linkId`, if open. */
  get(linkId: number): LinkState | undefined {
    return this.#links.get(linkId);
  }

  /** Link ID of the established connection with `peer`. */
  linkOf(peer: string): number | undefined {
    return this.#conns.get(peer);
  }

  /** Established connections: peer to link ID. */
  get connections(): ReadonlyMap<string, number> {
    return this.#conns;
  }

  /** Established peers and their link IDs, as parallel arrays (read-only; new after a change). */
  connectionLists(): { peers: readonly string[]; links: readonly number[] } {
    if (this.#listStale) {
      this.#lists = { peers: [...this.#conns.keys()], links: [...this.#conns.values()] };
      this.#listStale = false;
    }
    return this.#lists;
  }

  /** A new record of the cost of each established connection, by peer. */
  connectionCosts(): Record<string, number> {
    const conns: Record<string, number> = {};
    for (const [peer, id] of this.#conns) conns[peer] = this.#links.get(id)!.cost;
    return conns;
  }

  /** Start a session: the first initial message goes out at once (§3.1). */
  add(linkId: number, options: LinkOptions): void {
    const h = this.#host;
    if (this.#links.has(linkId)) {
      h.logger.error(`link ${linkId} added twice; ignoring the second`);
      return;
    }
    const cost = options.cost ?? 1;
    if (!(cost > 0) || !Number.isFinite(cost)) {
      h.logger.error(`connection cost must be positive (${options.description})`);
      h.emit({ kind: "closeLink", linkId, reason: "connection cost must be positive" });
      return;
    }
    const l: LinkState = {
      id: linkId,
      options,
      cost,
      established: false,
      remoteEstablished: false,
      initSends: 0,
      lastRecv: h.now(),
    };
    this.#links.set(linkId, l);
    this.#initTick(l);
  }

  /** The earliest of `t` and the sessions' deadlines (initial messages, idle timeouts). */
  pollTimeout(t: number): number {
    for (const l of this.#links.values()) {
      if (l.initAt !== undefined) t = Math.min(t, l.initAt);
      if (l.established) t = Math.min(t, l.lastRecv + this.#host.maxIdleMs);
    }
    return t;
  }

  /** Send due initial messages; close connections idle for too long. */
  handleTimeout(now: number): void {
    const h = this.#host;
    for (const l of [...this.#links.values()]) {
      if (!this.#links.has(l.id)) continue;
      if (l.initAt !== undefined && now >= l.initAt) this.#initTick(l);
      else if (l.established && now >= l.lastRecv + h.maxIdleMs) {
        h.logger.warning(
          `Timing out connection ${l.peer}, idle for the past ${h.maxIdleMs / 1000}s`,
        );
        this.drop(l, "idle timeout", true);
      }
    }
  }

  #initTick(l: LinkState): void {
    const h = this.#host;
    h.logger.debug(`Sending initial connection message (${l.options.description})`);
    h.send(l.id, h.initialMessage());
    l.initSends++;
    if (l.initSends >= INIT_MAX_SENDS) {
      h.logger.warning(`Giving up on connection initialization (${l.options.description})`);
      this.drop(l, "giving up on connection initialization", true);
      return;
    }
    l.initAt = h.now() + INIT_INTERVAL_MS;
  }

  /** Forget session `l`; `emitClose` asks the shell to close the link too. */
  drop(l: LinkState, reason: string, emitClose: boolean): void {
    const h = this.#host;
    this.#links.delete(l.id);
    h.linkGone(l.id);
    if (l.established && l.peer !== undefined) {
      const current = this.#conns.get(l.peer) === l.id;
      if (current) {
        this.#conns.delete(l.peer);
        this.#listStale = true;
      }
      h.lost(l.peer, current);
    }
    if (emitClose) h.emit({ kind: "closeLink", linkId: l.id, reason });
  }

  /** Drop every session (shutdown). */
  dropAll(reason: string): void {
    for (const l of [...this.#links.values()]) this.drop(l, reason, true);
  }

  /** Refuse `peer` on session `l`: a reject message, then the link closes. */
  reject(l: LinkState, peer: string, reason: string): void {
    const h = this.#host;
    h.logger.error(`${h.nodeId}: rejected connection with node ${peer} because ${reason}`);
    h.send(l.id, REJECT_MESSAGE);
    this.drop(l, `rejected: ${reason}`, true);
  }

  /** The first routing update on a session not yet established: accept its sender or not. */
  identify(l: LinkState, u: RoutingUpdate): void {
    const h = this.#host;
    const v = checkNewPeer(h.nodeId, l.options, l.cost, u, (p) => this.#conns.has(p));
    if (!v.accept) return this.reject(l, v.peer, v.reason);
    const { peer, cost } = v;
    l.cost = cost;
    l.peer = peer;
    l.established = true;
    l.initAt = undefined;
    this.#conns.set(peer, l.id);
    this.#listStale = true;
    h.logger.info(`Connection established with ${peer}`);
    h.established(l.id, peer, cost);
  }
}
