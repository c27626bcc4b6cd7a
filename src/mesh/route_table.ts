/**
 * The routing table of the {@link Router}: next hops from the {@link Topology}, recomputed at
 * most once per burst of changes ({@link SOON_MS} after the first, or on demand by a data
 * message at most once per {@link SOON_MS}), with route-change counting. Sans-IO.
 * @module
 */

import type { Logger } from "../log.ts";
import type { RouterCounters } from "./router_types.ts";
import { SOON_MS } from "./routing_updates.ts";
import type { Topology } from "./topology.ts";

/** What {@link RouteTable} needs from its router. */
export interface RouteTableHost {
  /** The router's current time (ms, monotonic). */
  now(): number;
  readonly logger: Logger;
  readonly topology: Topology;
  readonly counters: RouterCounters;
  /** `node` became reachable (it was not in the previous table). */
  routeAdded(node: string): void;
}

/** Coalesced shortest-path next hops of one router. */
export class RouteTable {
  readonly #host: RouteTableHost;
  /**
   * The table by topology index, as of the last computation: each routed destination's name
   * and its next hop's name (undefined: no route), and the routed indices in the order found.
   * Compared by index with the next computation while no index was freed meanwhile (the
   * topology's `releases`): no Map of names built and walked per computation.
   */
  readonly #dest: (string | undefined)[] = [];
  readonly #via: (string | undefined)[] = [];
  #order = new Int32Array(0);
  #count = 0;
  #releases = -1;
  /** Destination → next hop, built when asked for ({@link current}). */
  #map?: Map<string, string>;
  #dirty = false;
  #lastCalc = -Infinity;
  /** When the pending recomputation is due, if the topology changed. */
  calcAt?: number;

  constructor(host: RouteTableHost) {
    this.#host = host;
  }

  /** The topology changed: recompute soon. */
  markDirty(): void {
    this.#dirty = true;
    if (this.calcAt === undefined) this.calcAt = this.#host.now() + SOON_MS;
  }

  /** Recompute if the coalescing deadline has passed. */
  handleTimeout(now: number): void {
    if (this.calcAt !== undefined && now >= this.calcAt) this.#recompute();
  }

  /** Drop the pending recomputation (shutdown). */
  stop(): void {
    this.calcAt = undefined;
  }

  #recompute(): void {
    const h = this.#host, t = h.topology;
    this.calcAt = undefined;
    this.#dirty = false;
    this.#lastCalc = h.now();
    // indices freed since the last computation may name other nodes now: compare by name
    const old = t.releases === this.#releases ? undefined : this.#table();
    const r = t.computeHops(), dest = this.#dest, via = this.#via;
    // filled up to every index (a write far past the end would make a sparse array)
    while (dest.length < t.indexCount) dest.push(undefined), via.push(undefined);
    // changed and new routes count, new destinations are announced in the order found, and
    // the old ones not found again were removed
    let changes = 0, kept = 0;
    for (let k = 0; k < r.count; k++) {
      const d = r.order[k], name = t.nameAt(d), hop = t.nameAt(r.hop[d]);
      const o = old ? old.get(name) : dest[d] === name ? via[d] : undefined;
      if (o === undefined) {
        changes++;
        h.routeAdded(name);
      } else {
        kept++;
        if (o !== hop) changes++;
      }
    }
    h.counters.routeChanges += changes + this.#count - kept;
    for (let k = 0; k < this.#count; k++) dest[this.#order[k]] = via[this.#order[k]] = undefined;
    if (this.#order.length < r.count) this.#order = new Int32Array(r.order.length);
    for (let k = 0; k < r.count; k++) {
      const d = r.order[k];
      this.#order[k] = d;
      dest[d] = t.nameAt(d);
      via[d] = t.nameAt(r.hop[d]);
    }
    this.#count = r.count;
    this.#releases = t.releases;
    this.#map = undefined;
    if (h.logger.enabled("debug")) {
      const rt = [...this.#table()].map(([d, n]) => `${d} via ${n}`).join(", ");
      h.logger.debug(`Routing table: ${rt}`);
    }
  }

  /** The table as destination → next hop (in the order found), built once per computation. */
  #table(): Map<string, string> {
    if (this.#map === undefined) {
      this.#map = new Map();
      for (let k = 0; k < this.#count; k++) {
        const d = this.#order[k];
        this.#map.set(this.#dest[d]!, this.#via[d]!);
      }
    }
    return this.#map;
  }

  /**
   * Next hop towards `node` for a data message; a dirty table is recomputed on demand at most
   * once per {@link SOON_MS}: a burst of updates costs one computation, not one per message.
   */
  nextHop(node: string): string | undefined {
    if (this.#dirty && this.#host.now() - this.#lastCalc >= SOON_MS) this.#recompute();
    const t = this.#host.topology;
    // by index while no index was freed since the computation, else by name
    if (t.releases !== this.#releases) return this.#table().get(node);
    const i = t.indexOf(node);
    return i >= 0 && this.#dest[i] === node ? this.#via[i] : undefined;
  }

  /** The current table (recomputed first if dirty), destination to next hop. */
  current(): ReadonlyMap<string, string> {
    if (this.#dirty) this.#recompute();
    return this.#table();
  }

  /** Destinations in the current table (recomputed first if dirty; no Map built). */
  count(): number {
    if (this.#dirty) this.#recompute();
    return this.#count;
  }
}
