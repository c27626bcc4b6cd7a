/**
 * The sans-IO mesh router (netceptor): backend sessions and their handshake (wire.md §3, in
 * {@link Sessions}), routing updates, flooding and duplicate detection (§5, in
 * {@link RoutingUpdates}), service advertisements (§6) and the data pipeline (§7–§9, in
 * {@link DataPath}). Bytes and timer ticks go in; sends, link closes, local deliveries and the
 * next deadline come out (sends through the host's `send` callback when it gives one, else as
 * outputs). It never touches I/O and reads no clock: as in the QUIC core
 * (`QuicConnection`), every entry point that needs the time takes `now` (monotonic ms) from the
 * caller, and helpers read the latest `now` handed in. Wall-clock stamps that go on the wire
 * (the epoch, ad `Time`) come from the host's `wallMs` callback.
 *
 * @example
 * ```ts
 * const r = new Router({ nodeId: "a", now: clock.now(), wallMs: () => Date.now(), logger });
 * r.addLink(clock.now(), 1, { cost: 1, description: "test" });
 * for (let o; (o = r.pollOutput(clock.now()));) carryOut(o);
 * ```
 * @module
 */

import type { Logger } from "../log.ts";
import type { LinkOptions } from "./link.ts";
import type { CompiledRules } from "./firewall.ts";
import {
  decodeMessage,
  encodeRoutingUpdate,
  MSG_DATA,
  MSG_REJECT,
  MSG_ROUTE,
  MSG_SERVICE_AD,
  serviceNameBytes,
  type WorkCommand,
} from "./messages.ts";
import { NameTable } from "./name_table.ts";
import { setNameCacheFullHook } from "./name_bytes.ts";
import { HEAD_NODE_START, headKey, peekHead, plainHeadNodeEnd } from "./update_peek.ts";
import { cryptoRandom, makeEpoch, type RandomSource, randomString } from "./random.ts";
import { Topology } from "./topology.ts";
import { RouteTable } from "./route_table.ts";
import { DataPath } from "./data_path.ts";
import { checkPeerUpdate } from "./handshake.ts";
import { type LinkState, Sessions } from "./sessions.ts";
import { RoutingUpdates } from "./routing_updates.ts";
import { LimitLog, type MeshLimits, resolveLimits } from "./limits.ts";
import { type FloodKey, FloodQueues } from "./link_queue.ts";
import { Advertising, NEW_NODE_AD_DELAY_MS } from "./advertising.ts";
import type {
  RouterCounters,
  RouterOptions,
  RouterOutput,
  RouterStatus,
  SendError,
  SendFn,
} from "./router_types.ts";

export type {
  RouterOptions,
  RouterOutput,
  RouterStatus,
  SendError,
  SendFn,
} from "./router_types.ts";
export type { RouterCounters, UnreachableNotice } from "./router_types.ts";

/** Services that cannot be bound. */
const RESERVED = new Set(["ping", "unreach"]);

export { AD_REQUEST_DELAY_MS, NEW_NODE_AD_DELAY_MS } from "./advertising.ts";

/** The sans-IO router of one node. */
export class Router {
  readonly nodeId: string;
  readonly names: NameTable;
  /** The limits in force (README "Limits"). */
  readonly limits: MeshLimits;
  /** Hits of those limits (logged once a minute per limit). */
  readonly limitLog: LimitLog;
  readonly logger: Logger;
  readonly firewall?: CompiledRules;
  readonly maxHops: number;
  readonly maxMessageBytes: number;
  /** The latest `now` handed in by the caller (ms; never goes back), the time helpers read. */
  #now: number;
  readonly #wallMs: () => number;
  readonly #random: RandomSource;
  /** Backend sessions and the established connection of each peer (§3). */
  readonly #sessions: Sessions;
  readonly #topo: Topology;
  readonly #routes: RouteTable;
  readonly #services = new Set<string>();
  readonly #ads: Advertising;
  readonly #out: RouterOutput[] = [];
  #outHead = 0;
  /** The host's send callback, or one that queues a `send` output. */
  readonly #sendFn: SendFn;
  #shutdown = false;
  readonly #data: DataPath;
  readonly #updates: RoutingUpdates;
  /** Flooded messages waiting to be released to each link (paced, coalesced). */
  readonly #floods: FloodQueues;
  /** Counters read at scrape time by the metrics endpoint (plain increments, no I/O). */
  readonly counters: RouterCounters = {
    routingUpdatesFromNeighbours: 0,
    routingUpdatesFromRemote: 0,
    routeChanges: 0,
  };

  /** Create a router; throws only for invalid options (bad node ID). */
  constructor(opts: RouterOptions) {
    if (!opts.nodeId || opts.nodeId.toLowerCase() === "localhost") {
      throw new Error(`invalid node ID ${JSON.stringify(opts.nodeId)}`);
    }
    this.nodeId = opts.nodeId;
    this.#now = opts.now;
    this.#sendFn = opts.send ??
      ((linkId, bytes, tail) =>
        this.#emit(tail ? { kind: "send", linkId, bytes, tail } : { kind: "send", linkId, bytes }));
    this.#wallMs = opts.wallMs;
    this.logger = opts.logger;
    this.#random = opts.random ?? cryptoRandom;
    this.firewall = opts.firewall;
    this.maxHops = opts.maxForwardingHops ?? 30;
    this.maxMessageBytes = opts.maxMessageBytes ?? 65535;
    const epoch = opts.epoch ?? makeEpoch(this.#wallMs(), this.#random);
    this.limits = resolveLimits(opts.limits);
    this.limitLog = new LimitLog(this.logger, () => this.#now);
    const backlog = opts.linkBacklog ?? (() => 0);
    this.#floods = new FloodQueues({
      limits: this.limits,
      limitLog: this.limitLog,
      backlog,
      send: (id, bytes) => this.#send(id, bytes),
      close: (id, reason) => {
        const l = this.#sessions.get(id);
        if (l) this.#sessions.drop(l, reason, true);
      },
      peerOf: (id) => this.#sessions.get(id)?.peer,
    });
    this.names = new NameTable(this.limits.maxNames);
    this.names.onFull = (n) => this.limitLog.hit("maxNames", `not registering node name ${n}`);
    // process-wide caches, one hook: held weakly, so a router dropped later is not kept by it
    const log = new WeakRef(this.limitLog);
    setNameCacheFullHook((what) => log.deref()?.hit("nameCache", what));
    this.#topo = new Topology(this.nodeId);
    this.#topo.onName = (n) => this.names.note(n);
    this.#routes = new RouteTable({
      now: () => this.#now,
      logger: this.logger,
      topology: this.#topo,
      counters: this.counters,
      // A node newly reachable gets our ads soon (Go relays between us would not pass them
      // on), and local users (stalled streams) hear that its route is back.
      routeAdded: (node) => {
        this.#ads.requestRound(NEW_NODE_AD_DELAY_MS);
        this.#emit({ kind: "routeAdded", node });
      },
    });
    this.names.add(this.nodeId);
    this.#ads = new Advertising({
      nodeId: this.nodeId,
      now: () => this.#now,
      wallMs: this.#wallMs,
      logger: this.logger,
      limits: this.limits,
      limitLog: this.limitLog,
      serviceAdMs: opts.serviceAdMs ?? 60_000,
      isShutdown: () => this.#shutdown,
      flood: (bytes) => this.#flood(bytes),
      floodKeyed: (key, bytes, exceptPeer) => this.#floodKeyed(key, bytes, exceptPeer),
      send: (id, bytes) => this.#send(id, bytes),
      enqueue: (id, key, bytes) => this.#floods.put(id, key, bytes),
    });
    this.#updates = this.#newRoutingUpdates(opts, epoch);
    this.#sessions = this.#newSessions(opts);
    this.#data = new DataPath({
      nodeId: this.nodeId,
      names: this.names,
      logger: this.logger,
      firewall: this.firewall,
      maxHops: this.maxHops,
      maxMessageBytes: this.maxMessageBytes,
      splitSends: opts.splitDataSends === true,
      isBound: (s) => this.#services.has(s),
      nextHopLink: (n) => this.#nextHopLink(n),
      send: this.#sendFn,
      emit: (o) => this.#emit(o),
    });
  }

  /** The routing-update side (§5), wired to this router. */
  #newRoutingUpdates(opts: RouterOptions, epoch: bigint): RoutingUpdates {
    return new RoutingUpdates({
      nodeId: this.nodeId,
      epoch,
      limits: this.limits,
      limitLog: this.limitLog,
      logger: this.logger,
      now: () => this.#now,
      wallMs: this.#wallMs,
      random: this.#random,
      names: this.names,
      topology: this.#topo,
      routeUpdateMs: opts.routeUpdateMs ?? 10_000,
      duplicateNotice: opts.duplicateNotice,
      hasConnections: () => this.#sessions.connections.size > 0,
      connectionCosts: () => this.#sessions.connectionCosts(),
      flood: (bytes) => this.#flood(bytes),
      floodKeyed: (key, bytes, exceptPeer) => this.#floodKeyed(key, bytes, exceptPeer),
      isPeer: (node) => this.#sessions.connections.has(node),
      emit: (o) => this.#emit(o),
      markRoutesDirty: () => this.#routes.markDirty(),
      shutdown: (reason) => this.#shutdownNow(reason),
    });
  }

  /** The backend sessions (§3), wired to this router. */
  #newSessions(opts: RouterOptions): Sessions {
    return new Sessions({
      nodeId: this.nodeId,
      logger: this.logger,
      maxIdleMs: opts.maxIdleMs ?? 21_000,
      now: () => this.#now,
      initialMessage: () => encodeRoutingUpdate(this.#updates.make(0n)),
      send: (id, bytes) => this.#send(id, bytes),
      emit: (o) => this.#emit(o),
      linkGone: (id) => this.#floods.remove(id),
      lost: (peer, current) => {
        if (current) this.#topo.removeLocalEdge(peer);
        this.#updates.scheduleFlood(true);
        this.#routes.markDirty();
      },
      established: (id, peer, cost) => this.#established(id, peer, cost),
    });
  }

  /** Our epoch (a new one after a duplicate notice that is not credible, see README). */
  get epoch(): bigint {
    return this.#updates.epoch;
  }

  /** True once the router has shut down (duplicate node). */
  get isShutdown(): boolean {
    return this.#shutdown;
  }

  // ---------------------------------------------------------------- outputs and timers

  #emit(o: RouterOutput): void {
    this.#out.push(o);
  }

  /**
   * The next thing the shell must do, or undefined when there is nothing. Flood queues are
   * released here, once the shell has handed in what arrived: a copy of an update that came
   * in from a peer meanwhile is not sent back to it.
   */
  pollOutput(now: number): RouterOutput | undefined {
    this.#advance(now);
    if (this.#outHead >= this.#out.length && this.#floods.pending) this.#releaseQueues();
    if (this.#outHead >= this.#out.length) {
      if (this.#outHead > 0) {
        this.#out.length = 0;
        this.#outHead = 0;
      }
      return undefined;
    }
    const o = this.#out[this.#outHead];
    this.#out[this.#outHead++] = undefined as unknown as RouterOutput;
    return o;
  }

  /** The earliest deadline (in the callers' `now` terms) at which `handleTimeout` must run. */
  pollTimeout(): number | undefined {
    if (this.#shutdown) return undefined;
    let t = this.#updates.pollTimeout();
    if (this.#routes.calcAt !== undefined) t = Math.min(t, this.#routes.calcAt);
    if (this.#ads.roundAt !== undefined) t = Math.min(t, this.#ads.roundAt);
    if (this.#floods.paceAt !== undefined) t = Math.min(t, this.#floods.paceAt);
    return this.#sessions.pollTimeout(t);
  }

  /** The caller's clock moved on to `now` (it never goes back). */
  #advance(now: number): void {
    if (now > this.#now) this.#now = now;
  }

  /** Run everything whose deadline has passed at `now`. */
  handleTimeout(now: number): void {
    this.#advance(now);
    if (this.#shutdown) return;
    now = this.#now;
    this.#routes.handleTimeout(now);
    this.#updates.handleTimeout(now); // flood due updates, sweep the seen set
    this.#ads.handleTimeout(now);
    this.#sessions.handleTimeout(now);
    this.#releaseQueues();
  }

  /** Queue `bytes` under `key` for every established peer but `exceptPeer`. */
  #floodKeyed(key: FloodKey, bytes: Uint8Array, exceptPeer?: string): void {
    const { peers, links } = this.#sessions.connectionLists();
    for (let i = 0; i < peers.length; i++) {
      if (peers[i] !== exceptPeer) this.#floods.putAt(links, i, key, bytes);
    }
  }

  #releaseQueues(): void {
    this.#floods.release(this.#now);
  }

  #nextHopLink(node: string): number | "no route to node" | "no connection to next hop" {
    const next = this.#routes.nextHop(node);
    if (next === undefined) return "no route to node";
    const link = this.#sessions.linkOf(next);
    return link === undefined ? "no connection to next hop" : link;
  }

  // ---------------------------------------------------------------- links and handshake

  /** A new backend session exists: start the initial routing-update messages (§3.1). */
  addLink(now: number, linkId: number, options: LinkOptions): void {
    this.#advance(now);
    if (this.#shutdown) {
      this.#emit({ kind: "closeLink", linkId, reason: "router is shut down" });
      return;
    }
    this.#sessions.add(linkId, options);
  }

  /** The backend session ended (transport error, EOF, or after a closeLink output). */
  linkClosed(now: number, linkId: number, reason: string): void {
    this.#advance(now);
    const l = this.#sessions.get(linkId);
    if (!l) return;
    this.logger.info(
      `Connection ${l.peer ? `with ${l.peer} ` : ""}closed (${l.options.description}): ${reason}`,
    );
    this.#sessions.drop(l, reason, false);
  }

  #send(linkId: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return; // never send an empty message (it crashes Go peers)
    this.#sendFn(linkId, bytes);
  }

  /**
   * One whole netceptor message arrived on `linkId`. Never throws. `owned`: the router may
   * keep and modify `bytes` (a data message is then relayed or delivered without a copy).
   */
  handleMessage(now: number, linkId: number, bytes: Uint8Array, owned = false): void {
    this.#advance(now);
    if (this.#shutdown) return;
    const l = this.#sessions.get(linkId);
    if (!l) {
      this.logger.debug(`message on unknown or closed link ${linkId} ignored`);
      return;
    }
    l.lastRecv = this.#now;
    try {
      this.#dispatch(l, bytes, owned);
    } catch (e) {
      this.logger.error(
        `internal error handling a message from ${l.options.description}: ${(e as Error).stack}`,
      );
    }
  }

  /** A connection with `peer` is established on `linkId`: tell the rest of the router. */
  #established(linkId: number, peer: string, cost: number): void {
    this.names.add(peer);
    this.#topo.addLocalEdge(peer, cost);
    this.#updates.scheduleFlood();
    this.#routes.markDirty();
    // Prompt visibility: hand the new neighbour our current ads and the stored ones, and,
    // through its paced queue, the latest routing update of every other node, so a newcomer
    // can route at once instead of waiting up to 10 s for each node's periodic update (same
    // UpdateIDs, so nodes that saw them drop them; ForwardingNode is us, as for any re-flood).
    this.#ads.greet(linkId);
    this.#updates.replayTo(peer, (key, bytes) => this.#floods.put(linkId, key, bytes));
  }

  #dispatch(l: LinkState, bytes: Uint8Array, owned: boolean): void {
    const where = l.peer ?? l.options.description;
    if (bytes.length > this.maxMessageBytes) {
      this.logger.error(`dropping oversize message (${bytes.length} bytes) from ${where}`);
      return;
    }
    if (l.established && bytes[0] === MSG_ROUTE) {
      // most copies of a flood were seen already: skip decoding them
      const end = peekHead(bytes);
      if (end >= 0 && this.#updates.seenByKey(headKey(bytes, end))) {
        this.counters.routingUpdatesFromRemote++;
        if (this.#floods.queued(l.id) > 0) this.#dropQueuedCopy(l.id, bytes, end);
        return;
      }
    }
    const d = decodeMessage(bytes, true);
    if (!d.ok) {
      const type = bytes.length ? bytes[0] : -1;
      if (!l.established && type !== MSG_ROUTE) return; // Go ignores these before establishment
      const unknown = d.error.code === "unknown-type";
      this.limitLog.badMessage(type, unknown, d.error.message, where);
      return;
    }
    const m = d.value;
    if (m.type === MSG_REJECT) {
      this.logger.warning(`Received a rejection message from peer ${where}.`);
      this.#sessions.drop(l, "remote node rejected the connection", true);
      return;
    }
    if (!l.established) {
      if (m.type === MSG_ROUTE) this.#sessions.identify(l, m.update);
      return;
    }
    const peer = l.peer!;
    switch (m.type) {
      case MSG_DATA:
        this.#data.receive(m.data, peer, owned ? bytes : undefined);
        return;
      case MSG_ROUTE: {
        const u = m.update;
        const v = checkPeerUpdate(this.nodeId, peer, l.cost, l.remoteEstablished, u);
        if (v.action === "reject") return this.#sessions.reject(l, peer, v.reason);
        if (v.action === "ignore") return; // a late initial message
        l.remoteEstablished = v.remoteEstablished;
        if (u.NodeID === peer) this.counters.routingUpdatesFromNeighbours++;
        else this.counters.routingUpdatesFromRemote++;
        this.#updates.receive(u, peer);
        return;
      }
      case MSG_SERVICE_AD:
        this.#ads.receive(m.ad, bytes, peer);
        return;
    }
  }

  /** The peer on `linkId` sent us this update (just peeked: `end` ends its head). */
  #dropQueuedCopy(linkId: number, bytes: Uint8Array, end: number): void {
    const e = plainHeadNodeEnd(bytes);
    const i = e < 0 ? -1 : this.#topo.indexOfBytes(bytes, HEAD_NODE_START, e);
    if (i >= 0) this.#floods.dropCopy(linkId, i, bytes, end);
  }

  // ---------------------------------------------------------------- flooding and shutdown

  /** Send our own message to every established peer at once (not queued: it is the keepalive). */
  #flood(bytes: Uint8Array): void {
    for (const id of this.#sessions.connections.values()) this.#send(id, bytes);
  }

  #shutdownNow(reason: string): void {
    this.#shutdown = true;
    this.#emit({ kind: "shutdown", reason });
    this.#sessions.dropAll(reason);
    this.#updates.cancelFlood();
    this.#routes.stop();
    this.#ads.stop();
  }

  // ---------------------------------------------------------------- service ads

  /**
   * Advertise a local service: flooded now (to established connections, and to each new one on
   * establishment), again in a round {@link AD_REQUEST_DELAY_MS} later (as Go's first round,
   * which reaches nodes that joined behind a Go relay meanwhile: Go relays do not hand stored
   * ads to new neighbours) and then every `serviceAdMs`, with a strictly increasing Time.
   */
  addAdvertisement(
    now: number,
    service: string,
    connType: 0 | 1 | 2,
    tags: Record<string, string> | null,
    workCommands?: WorkCommand[],
  ): void {
    this.#advance(now);
    this.#ads.add(service, connType, tags, workCommands);
  }

  /** Withdraw a local advertisement: a Cancel ad is flooded at once. */
  removeAdvertisement(service: string): void {
    this.#ads.remove(service);
  }

  /**
   * The node's work types. Go attaches them to its control-service ads on the wire and, in
   * status output, to every own ad.
   */
  setWorkCommands(list: WorkCommand[]): void {
    this.#ads.setWorkCommands(list);
  }

  // ---------------------------------------------------------------- services and data

  /** Bind a local datagram service; an 8-character ephemeral name if `name` is omitted. */
  bindService(name?: string): string {
    if (name === undefined || name === "") {
      do name = randomString(this.#random); while (RESERVED.has(name) || this.#services.has(name));
    }
    if (!serviceNameBytes(name)) throw new Error(`service name ${name} too long`);
    if (RESERVED.has(name) || this.#services.has(name)) {
      throw new Error(`service ${name} is already listening`);
    }
    this.#services.add(name);
    return name;
  }

  /** Release a bound service; later messages to it get "service unknown". */
  unbindService(name: string): void {
    this.#services.delete(name);
  }

  /**
   * Originate a datagram from local service `fromService`. Returns Go's error text for errors
   * the local sender sees (no route, service name too long, local service unknown...); problems
   * further away come back as unreachable outputs.
   */
  sendDatagram(
    now: number,
    fromService: string,
    toNode: string,
    toService: string,
    payload: Uint8Array,
    htl: number = this.maxHops,
  ): SendError | undefined {
    this.#advance(now);
    if (this.#shutdown) return "router is shut down";
    try {
      return this.#data.originate(fromService, toNode, toService, payload, htl);
    } catch (e) {
      this.logger.error(`internal error sending a datagram: ${(e as Error).stack}`);
      return "no route to node";
    }
  }

  // ---------------------------------------------------------------- status

  /** A snapshot for the `status` command (advertisements: control.md §2.1 shape). */
  status(): RouterStatus {
    const routes = this.#routes.current();
    return {
      nodeId: this.nodeId,
      connections: [...this.#sessions.connections].map(([peer, id]) => ({
        NodeID: peer,
        Cost: this.#sessions.get(id)!.cost,
      })),
      routingTable: Object.fromEntries(routes),
      knownConnectionCosts: this.#topo.snapshot(),
      advertisements: this.#ads.status(),
    };
  }

  /** Number of destinations in the routing table (cheaper than `status()`). */
  routeCount(): number {
    return this.#routes.count();
  }

  /** Sizes of everything a peer can grow, for tests and diagnostics (README "Limits"). */
  stats(): Record<string, number> {
    return {
      knownNodes: this.#topo.knownNodes,
      ...this.#updates.stats(),
      names: this.names.size,
      ads: this.#ads.stored,
      largestLinkQueue: this.#floods.largest(),
    };
  }

  /** The peer node of an established link (metrics), undefined before the handshake. */
  linkPeer(linkId: number): string | undefined {
    return this.#sessions.get(linkId)?.peer;
  }

  /** The sequence number of the last routing update built (for tests and diagnostics). */
  get sequence(): bigint {
    return this.#updates.sequence;
  }
}
