/**
 * Acceptance rules for backend sessions (wire.md §3.2 and §3.4), as pure functions: whom to
 * accept on the first routing update, and what to do with later updates from the direct peer.
 * @module
 */

import type { LinkOptions } from "./link.ts";
import type { RoutingUpdate } from "./messages.ts";
import { GoUpdate } from "./update_fast.ts";

/** Verdict on a session's first routing update. */
export type AcceptVerdict = { accept: true; peer: string; cost: number } | {
  accept: false;
  peer: string;
  reason: string;
};

/**
 * Decide whether to accept the peer announced by `u.ForwardingNode` (Go's order of checks:
 * own ID, allowed peers, [verified IDs], node cost, already connected).
 */
export function checkNewPeer(
  self: string,
  options: LinkOptions,
  linkCost: number,
  u: RoutingUpdate,
  isConnected: (peer: string) => boolean,
): AcceptVerdict {
  const peer = u.ForwardingNode;
  const no = (reason: string): AcceptVerdict => ({ accept: false, peer, reason });
  // Go would accept an empty ID; nothing good can come of it.
  if (peer === "") return no("it sent an empty node ID");
  if (peer === self) return no("it tried to connect using our own node ID");
  if (options.allowedPeers != null && !options.allowedPeers.includes(peer)) {
    return no("it is not in the allowed peers list");
  }
  const v = options.verifiedNodeIds;
  if (v !== undefined && !v.includes(peer)) {
    return no(`its node ID is not one its certificate proves (${v.join(", ") || "none"})`);
  }
  const nc = options.nodeCost;
  const cost = nc && Object.hasOwn(nc, peer) ? nc[peer] : linkCost;
  if (!(cost > 0) || !Number.isFinite(cost)) return no("its configured node cost is not positive");
  if (isConnected(peer)) return no("it connected using a node ID we are already connected to");
  return { accept: true, peer, cost };
}

const PROCESS = Object.freeze({ action: "process" as const, remoteEstablished: false });
const PROCESS_ESTABLISHED = Object.freeze({ action: "process" as const, remoteEstablished: true });

/** What to do with a routing update received on an established session. */
export type PeerUpdateVerdict =
  | { action: "process"; remoteEstablished: boolean }
  | { action: "ignore" }
  | { action: "reject"; reason: string };

/**
 * §3.4: `ForwardingNode` must be the peer; the peer's own updates must list us with our cost
 * (an update not listing us is a late initial message until it has listed us once).
 */
export function checkPeerUpdate(
  self: string,
  peer: string,
  cost: number,
  remoteEstablished: boolean,
  u: RoutingUpdate,
): PeerUpdateVerdict {
  if (u instanceof GoUpdate ? !u.forwardedBy(peer) : u.ForwardingNode !== peer) {
    return {
      action: "reject",
      reason: `remote node ID changed unexpectedly from ${peer} to ${u.NodeID}`,
    };
  }
  if (u.NodeID !== peer) return remoteEstablished ? PROCESS_ESTABLISHED : PROCESS;
  const conns = u.Connections;
  if (conns === null || !Object.hasOwn(conns, self)) {
    return remoteEstablished
      ? { action: "reject", reason: "remote node no longer lists us as a connection" }
      : { action: "ignore" };
  }
  if (conns[self] !== cost) {
    return { action: "reject", reason: "we disagree about the connection cost" };
  }
  return PROCESS_ESTABLISHED;
}
