/**
 * Per-mesh-node tally of stream connections and their QUIC counters, for the metrics endpoint:
 * open connections are read live at scrape time, closed ones are folded into totals once. Kept
 * per {@link MeshNode} (a WeakMap keyed by the node), so there is no process-global state.
 * @module
 */
import type { MeshNode } from "../mesh/mesh_node.ts";
import type { QuicConnection } from "../quic/connection.ts";

/** Stream and QUIC counters of one mesh node. */
export interface StreamStats {
  /** Stream connections open now. */
  open: number;
  /** Stream connections opened since start (dialed and accepted). */
  opened: number;
  /** QUIC packets sent / declared lost, probe timeouts, over all connections. */
  packetsSent: number;
  packetsLost: number;
  ptos: number;
}

interface Tally {
  open: Set<QuicConnection>;
  opened: number;
  closed: { packetsSent: number; packetsLost: number; ptos: number };
}

const tallies = new WeakMap<MeshNode, Tally>();

function tallyOf(mesh: MeshNode): Tally {
  let t = tallies.get(mesh);
  if (!t) {
    t = { open: new Set(), opened: 0, closed: { packetsSent: 0, packetsLost: 0, ptos: 0 } };
    tallies.set(mesh, t);
  }
  return t;
}

/** Count a new stream connection of `mesh` until `closed` settles. */
export function trackStream(mesh: MeshNode, conn: QuicConnection, closed: Promise<unknown>): void {
  const t = tallyOf(mesh);
  t.open.add(conn);
  t.opened++;
  const done = () => {
    if (!t.open.delete(conn)) return;
    t.closed.packetsSent += conn.stats.packetsSent;
    t.closed.packetsLost += conn.stats.packetsLost;
    t.closed.ptos += conn.stats.ptos;
  };
  closed.then(done, done);
}

/** The current counters of `mesh`'s stream connections. */
export function streamStats(mesh: MeshNode): StreamStats {
  const t = tallyOf(mesh);
  const s: StreamStats = { open: t.open.size, opened: t.opened, ...t.closed };
  for (const c of t.open) {
    s.packetsSent += c.stats.packetsSent;
    s.packetsLost += c.stats.packetsLost;
    s.ptos += c.stats.ptos;
  }
  return s;
}
