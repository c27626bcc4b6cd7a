/**
 * A hostile raw peer for sans-IO router tests: it completes the mesh handshake with one node
 * of a {@link Sim} and then sends whatever the test builds. Not a test file itself.
 * @module
 */

import {
  encodeRoutingUpdate,
  encodeServiceAd,
  type RoutingUpdate,
  type ServiceAdvertisement,
} from "../../src/mesh/messages.ts";
import type { Sim } from "./mesh_sim.ts";

let nextId = 0;

/** A fresh UpdateID. */
export function uid(): string {
  return `h${(nextId++).toString(36)}`;
}

/** A routing update with sensible fields; override what the test needs. */
export function update(p: Partial<RoutingUpdate> & { NodeID: string }): RoutingUpdate {
  return {
    UpdateID: uid(),
    UpdateEpoch: 5n << 24n,
    UpdateSequence: 1n,
    Connections: {},
    ForwardingNode: p.NodeID,
    SuspectedDuplicate: 0n,
    ...p,
  };
}

/** A service ad; `timeMs` is wall-clock milliseconds. */
export function ad(node: string, service: string, timeMs: number, cancel = false): Uint8Array {
  const a: ServiceAdvertisement = {
    NodeID: node,
    Service: service,
    Time: { unixNs: BigInt(Math.floor(timeMs)) * 1_000_000n, offsetSec: 0 },
    ConnType: 1,
    Tags: null,
    WorkCommands: null,
    Cancel: cancel,
  };
  return encodeServiceAd(a);
}

/** A raw peer `id` attached to `node`, handshake done. */
export class HostilePeer {
  readonly linkId: number;
  readonly captured: Uint8Array[];
  #seq = 1n;

  constructor(readonly sim: Sim, readonly node: string, readonly id: string) {
    const r = sim.connectRaw(node);
    this.linkId = r.linkId;
    this.captured = r.captured;
    this.sendUpdate(update({ NodeID: id, ForwardingNode: id, UpdateSequence: this.#seq++ }));
    // our own update listing the node: the link is established on both sides
    this.announce();
  }

  /** Send our own routing update (listing the node we are attached to, plus `extra`). */
  announce(extra: Record<string, number> = {}): void {
    this.sendUpdate(update({
      NodeID: this.id,
      UpdateSequence: this.#seq++,
      Connections: { [this.node]: 1, ...extra },
    }));
  }

  /** Advance the sim by `ms`, announcing every 5 s so the link never idles out. */
  run(ms: number): void {
    for (let left = ms; left > 0; left -= 5000) {
      this.sim.run(Math.min(5000, left));
      this.announce();
    }
  }

  /** Send a routing update as if re-flooded by us (ForwardingNode = our ID). */
  sendUpdate(u: RoutingUpdate): void {
    this.sim.inject(this.linkId, encodeRoutingUpdate({ ...u, ForwardingNode: this.id }));
  }

  /** Send raw message bytes. */
  send(bytes: Uint8Array): void {
    this.sim.inject(this.linkId, bytes);
  }
}
