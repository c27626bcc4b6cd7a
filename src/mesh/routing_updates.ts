/**
 * Routing updates for the router (wire.md §5): building our own updates with an increasing
 * sequence, flooding them soon after a change and periodically, accepting other nodes' updates
 * into the topology with duplicate detection (seen set) and duplicate-node handling, and keeping
 * each node's latest update to hand to a new neighbour. Sans-IO like the {@link Router} it serves.
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { encodeRoutingUpdate, type RoutingUpdate } from "./messages.ts";
import type { NameTable } from "./name_table.ts";
import { type RandomSource, randomString } from "./random.ts";
import type { RouterOutput } from "./router_types.ts";
import { SeenSet } from "./seen_set.ts";
import type { Topology } from "./topology.ts";

/** On-demand flood / route computation delay (ms). */
export const SOON_MS = 100;
/** Seen-set sweep interval. */
const SEEN_SWEEP_MS = 30 * 60_000;

/** What {@link RoutingUpdates} needs from its router. */
export interface RoutingUpdatesHost {
  readonly nodeId: string;
  readonly epoch: bigint;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly names: NameTable;
  readonly topology: Topology;
  /** Period of our routing updates (ms). */
  readonly routeUpdateMs: number;
  /** True when at least one connection is established. */
  hasConnections(): boolean;
  /** A new record of the cost of each established connection, by peer. */
  connectionCosts(): Record<string, number>;
  /** Send `bytes` to every established peer but `exceptPeer`. */
  flood(bytes: Uint8Array, exceptPeer?: string): void;
  /** Queue an output for the shell. */
  emit(o: RouterOutput): void;
  /** The topology changed: recompute routes soon. */
  markRoutesDirty(): void;
  /** We are a duplicate node: shut the router down. */
  shutdown(reason: string): void;
}

/** The routing-update side of one router: own updates, their timers, and received ones. */
export class RoutingUpdates {
  readonly #host: RoutingUpdatesHost;
  #sequence = 0n;
  readonly #seen = new SeenSet();
  /** Latest accepted routing update per other node, to hand to a new neighbour. */
  readonly #lastUpdates = new Map<string, RoutingUpdate>();
  #floodAt?: number;
  #periodicAt: number;
  #seenSweepAt: number;

  /** Start the periodic update and seen-set sweep timers from the host clock's now. */
  constructor(host: RoutingUpdatesHost) {
    this.#host = host;
    const now = host.clock.now();
    this.#periodicAt = now + host.routeUpdateMs;
    this.#seenSweepAt = now + SEEN_SWEEP_MS;
  }

  /** The sequence number of the last routing update built. */
  get sequence(): bigint {
    return this.#sequence;
  }

  /** The earliest deadline of the flood, periodic-update and seen-sweep timers. */
  pollTimeout(): number {
    const t = Math.min(this.#periodicAt, this.#seenSweepAt);
    return this.#floodAt === undefined ? t : Math.min(t, this.#floodAt);
  }

  /** Flood an update if one is due (soon-after-change or periodic); sweep the seen set. */
  handleTimeout(now: number): void {
    if (
      (this.#floodAt !== undefined && now >= this.#floodAt) || now >= this.#periodicAt
    ) {
      this.#floodAt = undefined;
      this.#periodicAt = now + this.#host.routeUpdateMs;
      this.send(0n);
    }
    if (now >= this.#seenSweepAt) {
      this.#seenSweepAt = now + SEEN_SWEEP_MS;
      this.#seen.sweep(now);
    }
  }

  /** Flood an update soon (our connections or the set of known nodes changed). */
  scheduleFlood(): void {
    if (this.#floodAt === undefined) this.#floodAt = this.#host.clock.now() + SOON_MS;
  }

  /** Cancel a pending flood (shutdown). */
  cancelFlood(): void {
    this.#floodAt = undefined;
  }

  /** Build our next update (sequence + 1, a fresh UpdateID, our current connections). */
  make(suspectedDuplicate: bigint): RoutingUpdate {
    const h = this.#host;
    this.#sequence++;
    const conns = h.connectionCosts();
    return {
      NodeID: h.nodeId,
      UpdateID: randomString(h.random),
      UpdateEpoch: h.epoch,
      UpdateSequence: this.#sequence,
      Connections: conns,
      ForwardingNode: h.nodeId,
      SuspectedDuplicate: suspectedDuplicate,
    };
  }

  /** Flood a new update to every peer; nonzero `suspectedDuplicate` names a duplicate epoch. */
  send(suspectedDuplicate: bigint): void {
    const h = this.#host;
    if (!h.hasConnections()) return;
    const u = this.make(suspectedDuplicate);
    if (suspectedDuplicate === 0n) h.logger.debug(`Sending routing update ${u.UpdateID}`);
    else h.logger.warning(`Sending duplicate node notification ${u.UpdateID}`);
    h.flood(encodeRoutingUpdate(u));
  }

  /** Hand a new neighbour `peer` the latest update of every other node (original UpdateIDs). */
  replayTo(peer: string, send: (bytes: Uint8Array) => void): void {
    const nodeId = this.#host.nodeId;
    for (const u of this.#lastUpdates.values()) {
      if (u.NodeID === peer) continue;
      send(encodeRoutingUpdate({ ...u, ForwardingNode: nodeId }));
    }
  }

  /** An established peer's routing update (already checked by the handshake rules). */
  receive(u: RoutingUpdate, fromPeer: string): void {
    const h = this.#host;
    if (u.NodeID === "") return;
    if (u.NodeID === h.nodeId) {
      if (u.UpdateEpoch === h.epoch) return;
      if (u.SuspectedDuplicate === h.epoch) {
        h.logger.error(
          `We are a duplicate node with ID ${h.nodeId} and epoch ${h.epoch}.  Shutting down.`,
        );
        h.shutdown(`duplicate node ID ${h.nodeId}`);
        return;
      }
      if (u.UpdateEpoch > h.epoch) {
        h.logger.error(`Duplicate node ID ${u.NodeID} detected via ${fromPeer}`);
        this.send(u.UpdateEpoch);
      }
      return;
    }
    if (!this.#seen.add(u.UpdateID, h.clock.now())) return;
    if (u.SuspectedDuplicate !== 0n) {
      h.logger.warning(
        `Node ${u.NodeID} with epoch ${u.UpdateEpoch} sent update ${u.UpdateID} suspecting a ` +
          `duplicate node with epoch ${u.SuspectedDuplicate}`,
      );
      h.topology.applyDuplicateNotice(u);
    } else {
      h.logger.debug(`Received routing update ${u.UpdateID} from ${u.NodeID} via ${fromPeer}`);
      const r = h.topology.applyUpdate(u);
      if (!r.accepted) return;
      this.#lastUpdates.set(u.NodeID, u);
      if (r.restarted) h.emit({ kind: "nodeRestarted", node: u.NodeID });
      if (r.newNode) {
        this.scheduleFlood();
        h.names.add(u.NodeID);
      }
      if (r.changed) {
        h.markRoutesDirty();
        // Names of the sender's peers too: a node we can route to may not have sent its own
        // update yet (a restarted node hears from unchanged nodes only at their next periodic
        // update), and data from it would otherwise be dropped as "hash not found".
        for (const peer of Object.keys(u.Connections ?? {})) h.names.add(peer);
      }
    }
    h.flood(encodeRoutingUpdate({ ...u, ForwardingNode: h.nodeId }), fromPeer);
  }
}
