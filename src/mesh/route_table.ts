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
  #routes = new Map<string, string>();
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
    const h = this.#host;
    this.calcAt = undefined;
    this.#dirty = false;
    this.#lastCalc = h.now();
    const old = this.#routes;
    const routes = this.#routes = h.topology.computeNextHops();
    // one pass over the new table (three Map walks before): changed and new routes count, new
    // destinations are announced in table order, and the old ones not found were removed
    let changes = 0, kept = 0;
    for (const [d, n] of routes) {
      const o = old.get(d);
      if (o === undefined) {
        changes++;
        h.routeAdded(d);
      } else {
        kept++;
        if (o !== n) changes++;
      }
    }
    h.counters.routeChanges += changes + old.size - kept;
    if (h.logger.enabled("debug")) {
      const rt = [...this.#routes].map(([d, n]) => `${d} via ${n}`).join(", ");
      h.logger.debug(`Routing table: ${rt}`);
    }
  }

  /**
   * Next hop towards `node` for a data message; a dirty table is recomputed on demand at most
   * once per {@link SOON_MS}: a burst of updates costs one computation, not one per message.
   */
  nextHop(node: string): string | undefined {
    if (this.#dirty && this.#host.now() - this.#lastCalc >= SOON_MS) this.#recompute();
    return this.#routes.get(node);
  }

  /** The current table (recomputed first if dirty), destination to next hop. */
  current(): ReadonlyMap<string, string> {
    if (this.#dirty) this.#recompute();
    return this.#routes;
  }
}
