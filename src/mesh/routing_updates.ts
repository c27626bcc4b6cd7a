/**
 * Routing updates for the router (wire.md §5): building our own updates with an increasing
 * sequence, flooding them soon after a change and periodically, accepting other nodes' updates
 * into the topology with duplicate detection (seen set) and duplicate-node handling, and keeping
 * each node's latest update to hand to a new neighbour. Sans-IO like the {@link Router} it serves.
 * @module
 */

import type { Logger } from "../log.ts";
import { encodeReflood, encodeRoutingUpdate, type RoutingUpdate } from "./messages.ts";
import type { NameTable } from "./name_table.ts";
import { makeEpoch, type RandomSource, randomString } from "./random.ts";
import { fitsUtf8, type LimitLog, type MeshLimits, utf8Length } from "./limits.ts";
import {
  type DuplicateNoticePolicy,
  DuplicateNotices,
  type NoticeVerdict,
} from "./duplicate_notice.ts";
import type { RouterOutput } from "./router_types.ts";
import { seenKey, SeenSet } from "./seen_set.ts";
import type { Topology } from "./topology.ts";
import { connArrays, connCount, GoUpdate } from "./update_fast.ts";
import { UpdateStore } from "./update_store.ts";
import type { FloodKey } from "./link_queue.ts";

/** On-demand flood / route computation delay (ms). */
export const SOON_MS = 100;
/** Seen-set sweep interval. */
const SEEN_SWEEP_MS = 30 * 60_000;
/** We send one duplicate notice of our own at most per this interval. */
const DUP_SEND_MIN_MS = 1000;
/**
 * Hearing of a new node floods our update (so a newcomer behind a Go node, which does not
 * replay state, learns of us), at most once per this interval: a peer inventing node IDs
 * cannot make every node flood every 100 ms.
 */
const NEW_NODE_FLOOD_MIN_MS = 1000;
/** A known node silent for this many update periods may be forgotten to make room. */
const STALE_PERIODS = 6;
const MAX_U64 = (1n << 64n) - 1n;
/** {@link RoutingUpdates.#makeRoom} made room by forgetting a node (indices may be freed). */
const FORGOT = 2;

/** How a notice that does not stop us is described in the log line. */
function verdictText(v: { credible: boolean }): string {
  return v.credible
    ? "CREDIBLE (duplicatenotice: stay keeps us up; set duplicatenotice: exit to shut down " +
      "on such a notice, as Go does)"
    : "not believed";
}

/** Queue key of the duplicate notice about `node` (kept apart from its normal update). */
export function dupKey(node: string): string {
  return `d${node}`;
}

/** What {@link RoutingUpdates} needs from its router. */
export interface RoutingUpdatesHost {
  readonly nodeId: string;
  /** Our epoch at start. */
  readonly epoch: bigint;
  readonly limits: MeshLimits;
  readonly limitLog: LimitLog;
  readonly logger: Logger;
  /** The router's current time (ms, monotonic). */
  now(): number;
  /** Wall-clock ms (for a fresh epoch). */
  wallMs(): number;
  readonly random: RandomSource;
  readonly names: NameTable;
  readonly topology: Topology;
  /** Period of our routing updates (ms). */
  readonly routeUpdateMs: number;
  /** What a credible duplicate notice does (default `stay`; README "Duplicate node IDs"). */
  readonly duplicateNotice?: DuplicateNoticePolicy;
  /** True when at least one connection is established. */
  hasConnections(): boolean;
  /** A new record of the cost of each established connection, by peer. */
  connectionCosts(): Record<string, number>;
  /** Send `bytes` (our own update) to every established peer at once. */
  flood(bytes: Uint8Array): void;
  /**
   * Queue `bytes` for every established peer but `exceptPeer` under `key` (one per origin:
   * a newer message for the same key replaces a queued one).
   */
  floodKeyed(key: FloodKey, bytes: Uint8Array, exceptPeer: string): void;
  /** True if `node` is a directly connected peer. */
  isPeer(node: string): boolean;
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
  readonly #seen: SeenSet;
  /**
   * Latest accepted routing update per other node, encoded for re-flooding (ForwardingNode =
   * us), to hand to a new neighbour.
   */
  readonly #lastUpdates = new UpdateStore();
  /** Room in the store for a re-flood message (bound once: no closure per update). */
  readonly #alloc = (n: number) => this.#lastUpdates.alloc(n);
  #epoch: bigint;
  #floodAt?: number;
  #lastSentAt = -Infinity;
  #periodicAt: number;
  #seenSweepAt: number;
  /** Credibility of duplicate notices naming our epochs (README "Duplicate node IDs"). */
  readonly #dups: DuplicateNotices;
  /** When we last sent a duplicate notice of our own. */
  #dupSentAt = -Infinity;

  /** Start the periodic update and seen-set sweep timers from the host's now. */
  constructor(host: RoutingUpdatesHost) {
    this.#host = host;
    this.#epoch = host.epoch;
    this.#dups = new DuplicateNotices(host.routeUpdateMs, host.duplicateNotice);
    this.#seen = new SeenSet(3_600_000, host.limits.maxSeenIds);
    this.#seen.onEvict = () =>
      host.limitLog.hit("maxSeenIds", "forgetting the oldest UpdateID early");
    const now = host.now();
    this.#periodicAt = now + host.routeUpdateMs;
    this.#seenSweepAt = now + SEEN_SWEEP_MS;
  }

  /** Our current epoch (changes when we re-announce after a non-credible duplicate notice). */
  get epoch(): bigint {
    return this.#epoch;
  }

  /** Counts for status, metrics and tests: stored updates, their bytes, seen IDs, dup notices. */
  stats(): Record<string, number> {
    const d = this.#dups.counters;
    return {
      storedUpdates: this.#lastUpdates.size,
      storedUpdateBytes: this.#lastUpdates.bytes,
      seenIds: this.#seen.size,
      duplicateNotices: d.notices,
      duplicateReannounced: d.reannounced,
      duplicateIgnored: d.ignored,
    };
  }

  /** True if a routing update with this UpdateID was processed already (a flood copy). */
  seen(updateId: string): boolean {
    return this.#seen.has(updateId);
  }

  /** {@link RoutingUpdates.seen} by seen-set key (see seenKey: read from the bytes). */
  seenByKey(key: string | number): boolean {
    return this.#seen.hasKey(key);
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

  /**
   * Flood an update soon: our connections changed. A lost connection (`lost`) is announced
   * soon even when a throttled new-node flood is pending for later; a new one waits for it
   * (pulling it earlier on establishment too made the Go TLS interop test miss Go's first
   * ad round, half the time; why is not understood yet).
   */
  scheduleFlood(lost = false): void {
    const soon = this.#host.now() + SOON_MS;
    if (this.#floodAt === undefined || (lost && this.#floodAt > soon)) this.#floodAt = soon;
  }

  /** Flood an update because a new node appeared: soon, but at most once a second. */
  scheduleNewNodeFlood(): void {
    if (this.#floodAt !== undefined) return;
    const now = this.#host.now();
    this.#floodAt = Math.max(now + SOON_MS, this.#lastSentAt + NEW_NODE_FLOOD_MIN_MS);
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
      UpdateEpoch: this.#epoch,
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
    this.#lastSentAt = h.now();
    if (suspectedDuplicate === 0n) h.logger.debug(`Sending routing update ${u.UpdateID}`);
    else h.logger.warning(`Sending duplicate node notification ${u.UpdateID}`);
    h.flood(encodeRoutingUpdate(u));
  }

  /**
   * Hand a new neighbour `peer` the latest update of every other node (original UpdateIDs),
   * keyed by origin node for its paced queue.
   */
  replayTo(peer: string, enqueue: (key: FloodKey, bytes: Uint8Array) => void): void {
    const skip = this.#host.topology.indexOf(peer);
    for (const [i, bytes] of this.#lastUpdates.entries()) if (i !== skip) enqueue(i, bytes);
  }

  /** The first limit `u` breaks, or undefined. */
  #tooBig(u: RoutingUpdate): [keyof MeshLimits, string] | undefined {
    const lim = this.#host.limits;
    if (!fitsUtf8(u.NodeID, lim.maxNodeIdBytes)) return ["maxNodeIdBytes", "NodeID"];
    // a fast-path UpdateID is printable ASCII: its bytes are its length (no string made)
    const idBytes = u instanceof GoUpdate ? u.idEnd - u.idStart : utf8Length(u.UpdateID);
    if (idBytes > lim.maxUpdateIdBytes) return ["maxUpdateIdBytes", "UpdateID"];
    const r = u instanceof GoUpdate ? u.ranges : undefined;
    // a fast-path name is printable ASCII: its bytes are its length (no string made)
    const peers = r === undefined ? connArrays(u)?.peers ?? [] : undefined;
    const n = connCount(u);
    for (let i = 0; i < n; i++) {
      if (i >= lim.maxConnectionsPerUpdate) return ["maxConnectionsPerUpdate", "Connections"];
      const fits = peers
        ? fitsUtf8(peers[i], lim.maxNodeIdBytes)
        : r!.ends[i] - r!.starts[i] <= lim.maxNodeIdBytes;
      if (!fits) return ["maxNodeIdBytes", "a Connections key"];
    }
    return undefined;
  }

  /** An established peer's routing update (already checked by the handshake rules). */
  receive(u: RoutingUpdate, fromPeer: string): void {
    const h = this.#host;
    if (u.NodeID === "") return;
    const bad = this.#tooBig(u);
    if (bad) {
      h.limitLog.hit(bad[0], `dropped a routing update from ${fromPeer}: ${bad[1]} too long`);
      return;
    }
    if (u.NodeID === h.nodeId) return this.#aboutUs(u, fromPeer);
    const key = u instanceof GoUpdate ? u.seenKey : seenKey(u.UpdateID);
    if (!this.#seen.addKey(key, h.now())) return;
    if (u.SuspectedDuplicate !== 0n) {
      h.logger.warning(
        `Node ${u.NodeID} with epoch ${u.UpdateEpoch} sent update ${u.UpdateID} suspecting a ` +
          `duplicate node with epoch ${u.SuspectedDuplicate}`,
      );
      h.topology.applyDuplicateNotice(u);
      h.floodKeyed(dupKey(u.NodeID), encodeReflood(u, h.nodeId), fromPeer);
      return;
    }
    if (h.logger.enabled("debug")) {
      h.logger.debug(`Received routing update ${u.UpdateID} from ${u.NodeID} via ${fromPeer}`);
    }
    const t = h.topology;
    // the node's index is looked up once and handed on (a hash of its name per lookup)
    let i0 = t.indexOf(u.NodeID);
    if (!(i0 >= 0 && t.isKnownAt(i0))) {
      const room = this.#makeRoom(u.NodeID);
      if (!room) return;
      if (room === FORGOT) i0 = t.indexOf(u.NodeID); // indices may have been freed
    }
    const bytes = encodeReflood(u, h.nodeId, this.#alloc);
    const old = i0 >= 0 ? this.#lastUpdates.lengthOf(i0) : 0;
    if (this.#lastUpdates.bytes - old + bytes.length > h.limits.maxStoredUpdateBytes) {
      h.limitLog.hit("maxStoredUpdateBytes", `dropped the update of ${u.NodeID}`);
      return;
    }
    const edges = connCount(u);
    if (t.edgeCount - (i0 >= 0 ? t.rowSizeAt(i0) : 0) + edges > h.limits.maxEdges) {
      h.limitLog.hit("maxEdges", `dropped the update of ${u.NodeID}`);
      return;
    }
    const r = t.applyUpdate(u, h.now(), i0);
    if (!r.accepted) return;
    // stored and queued by the node's topology index (a new node has one now)
    const i = i0 >= 0 ? i0 : t.appliedIndex;
    this.#lastUpdates.set(i, bytes);
    if (r.restarted) h.emit({ kind: "nodeRestarted", node: u.NodeID });
    if (r.newNode) this.scheduleNewNodeFlood();
    // Its name and those of the sender's peers are noted for data headers by the topology as
    // it first holds each (Topology.onName): a node we can route to may not have sent its own
    // update yet (a restarted node hears from unchanged nodes only at their next periodic
    // update), and data from it would otherwise be dropped as "hash not found".
    if (r.changed) h.markRoutesDirty();
    h.floodKeyed(i, bytes, fromPeer); // keyed by the origin's index (see FloodKey)
  }

  /**
   * Room for one more known node: at the limit, the node heard from least recently is
   * forgotten if it has been silent for {@link STALE_PERIODS} update periods and is not a
   * direct peer; otherwise the newcomer is refused (live nodes are never pushed out).
   */
  #makeRoom(newNode: string): false | 1 | typeof FORGOT {
    const h = this.#host;
    if (h.topology.knownNodes < h.limits.maxKnownNodes) return 1;
    const oldest = h.topology.oldest();
    const staleBefore = h.now() - STALE_PERIODS * h.routeUpdateMs;
    if (oldest && oldest[1].at < staleBefore && !h.isPeer(oldest[0])) {
      this.forget(oldest[0]);
      return FORGOT;
    }
    h.limitLog.hit("maxKnownNodes", `not learning node ${newNode}`);
    return false;
  }

  /** Forget everything stored about `node`. */
  forget(node: string): void {
    const h = this.#host;
    const i = h.topology.indexOf(node); // before forget: it may free the index
    h.topology.forget(node);
    if (i >= 0) this.#lastUpdates.delete(i);
    h.markRoutesDirty();
  }

  /**
   * An update carrying our own NodeID (wire.md §5.5). A notice naming our epoch goes through
   * the credibility rule of {@link DuplicateNotices}: believed, we shut down (policy `exit`, not
   * the default); otherwise we stay up and re-announce with a new epoch (with back-off). An update (or a
   * notice we hold) with an epoch larger than ours is answered as Go answers it: a notice naming
   * that epoch, which also makes Go nodes that adopted a forged epoch of ours return to our real
   * one.
   */
  #aboutUs(u: RoutingUpdate, fromPeer: string): void {
    const h = this.#host;
    if (u.UpdateEpoch === this.#epoch) return;
    const now = h.now();
    const named = u.SuspectedDuplicate;
    if (named !== 0n && (named === this.#epoch || this.#dups.isRecent(named))) {
      const v = this.#dups.notice(named, this.#epoch, fromPeer, now);
      if (v.kind === "believe") {
        h.logger.error(
          `We are a duplicate node with ID ${h.nodeId} and epoch ${this.#epoch} (${v.why}).  ` +
            `Shutting down (duplicatenotice: exit).`,
        );
        h.shutdown(`duplicate node ID ${h.nodeId}`);
        return;
      }
      if (v.kind === "reannounce") return this.#bumpEpoch(u, fromPeer, v);
    }
    if (u.UpdateEpoch > this.#epoch && now - this.#dupSentAt >= DUP_SEND_MIN_MS) {
      this.#dupSentAt = now;
      h.logger.error(`Duplicate node ID ${u.NodeID} detected via ${fromPeer}`);
      this.send(u.UpdateEpoch);
    }
  }

  #bumpEpoch(u: RoutingUpdate, fromPeer: string, v: NoticeVerdict & { kind: "reannounce" }): void {
    const h = this.#host;
    const fresh = makeEpoch(h.wallMs(), h.random);
    let next = this.#epoch + 1n;
    if (fresh > next) next = fresh;
    if (u.UpdateEpoch >= next && u.UpdateEpoch < MAX_U64) next = u.UpdateEpoch + 1n;
    h.logger.error(
      `DUPLICATE NODE NOTICE for ${h.nodeId} epoch ${this.#epoch} (update ${u.UpdateID} via ` +
        `${fromPeer}; ${v.why}; ${v.suppressed} more held since the last one): ${
          verdictText(v)
        }, ` +
        `staying up and re-announcing with epoch ${next}, next re-announcement not before ` +
        `${v.nextInMs / 1000} s. If another node really uses this ID, fix it.`,
    );
    this.#epoch = next;
    this.#sequence = 0n;
    this.#dups.reannounced(next);
    this.send(0n);
  }
}
