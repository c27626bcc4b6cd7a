/**
 * The node's Prometheus metrics: one registry per endpoint, filled at scrape time from the
 * state the layers already keep (router status and counters, link traffic, stream tally,
 * control counters, the sampler's units / RTTs / lag). Node IDs appear as label values only
 * for direct neighbours; every other label has a small fixed set of values.
 * @module
 */
import { DURATION_BUCKETS, type Histogram, MetricsRegistry } from "../../util/metrics.ts";
import type { MeshNode } from "../../mesh/mesh_node.ts";
import { streamStats } from "../../streams/stream_stats.ts";
import type { ControlStats } from "../../control/control_stats.ts";
import type { Logger } from "../../log.ts";
import type { Sampler, UnitFinished } from "./sampler.ts";

/** What the metrics read. */
export interface NodeMetricsDeps {
  nodeId: string;
  version: string;
  mesh: MeshNode;
  control: ControlStats;
  logger: Logger;
  /** Serving (not shutting down) and initialisation complete. */
  ready: () => boolean;
}

/** Most neighbours given their own label value; links beyond that are summed as peer "other". */
export const MAX_PEER_LABELS = 200;

/** The registry and the histogram the sampler feeds. */
export interface NodeMetrics {
  registry: MetricsRegistry;
  /** Feed a finished unit's duration (from the engine's unit-final events). */
  unitFinished(u: UnitFinished): void;
  /** Attach the sampler (units, RTTs, lag) once it exists. */
  setSampler(s: Sampler): void;
}

/** Build the node's registry. */
export function nodeMetrics(deps: NodeMetricsDeps): NodeMetrics {
  const r = new MetricsRegistry((m) => deps.logger.warning(`observability: ${m}`));
  let sampler: Sampler | undefined;
  const durations: Histogram = r.histogram(
    "receptor_work_unit_duration_seconds",
    "Time from a unit's start to its final state (units started by this node process)",
    DURATION_BUCKETS,
    { labels: ["work_type", "state"], maxSeries: 200 },
  );
  meshMetrics(r, deps);
  streamMetrics(r, deps.mesh);
  controlMetrics(r, deps.control);
  const units = r.gauge("receptor_work_units", "Work units on this node by type and state", {
    labels: ["work_type", "state"],
    maxSeries: 200,
  });
  const rtt = r.gauge(
    "receptor_peer_ping_rtt_seconds",
    "Latest ping round-trip time to each direct neighbour (every 10 s)",
    { labels: ["peer"], maxSeries: MAX_PEER_LABELS },
  );
  const lag = r.gauge(
    "receptor_event_loop_lag_seconds",
    "Largest event-loop delay seen in the last 10 s window",
  );
  const rss = r.gauge("process_resident_memory_bytes", "Resident memory size in bytes");
  const start = r.gauge("process_start_time_seconds", "Start time of the process (unix seconds)");
  const startSec = Math.round(Date.now() / 1000 - performance.now() / 1000);
  const ready = r.gauge("receptor_ready", "1 when the node is initialised and not shutting down");
  const info = r.gauge("receptor_build_info", "Version and node ID of this node (always 1)", {
    labels: ["version", "node_id"],
  });
  r.collect(() => {
    rss.set({}, Deno.memoryUsage().rss);
    start.set({}, startSec);
    ready.set({}, deps.ready() ? 1 : 0);
    info.set({ version: deps.version, node_id: deps.nodeId }, 1);
    units.reset();
    rtt.reset();
    if (!sampler) return;
    for (const s of Object.values(sampler.units)) {
      units.add({ work_type: s.WorkType, state: s.StateName }, 1);
    }
    for (const [peer, v] of sampler.rtt) rtt.set({ peer }, v);
    lag.set({}, sampler.eventLoopLagSeconds);
  });
  return {
    registry: r,
    unitFinished: (u) => durations.observe({ work_type: u.workType, state: u.state }, u.seconds),
    setSampler: (s) => sampler = s,
  };
}

function meshMetrics(r: MetricsRegistry, deps: NodeMetricsDeps): void {
  const mesh = deps.mesh;
  const links = linkMetrics(r, mesh);
  const routing = routingMetrics(r, mesh);
  r.collect(() => {
    const st = mesh.status();
    links(st);
    routing(st);
  });
}

type MeshStatus = ReturnType<MeshNode["status"]>;

/** Per-link families (state, cost, messages, bytes); returns their collector. */
function linkMetrics(r: MetricsRegistry, mesh: MeshNode): (st: MeshStatus) => void {
  const linkState = r.gauge(
    "receptor_links",
    "Open links by backend kind and state (established links are labelled with their peer)",
    { labels: ["peer", "backend", "state"], maxSeries: MAX_PEER_LABELS + 20 },
  );
  const cost = r.gauge("receptor_link_cost", "Connection cost to each direct neighbour", {
    labels: ["peer"],
    maxSeries: MAX_PEER_LABELS,
  });
  const msgs = r.counter("receptor_link_messages_total", "Mesh messages per link and direction", {
    labels: ["peer", "backend", "direction"],
    maxSeries: 2 * MAX_PEER_LABELS + 40,
  });
  const bytes = r.counter(
    "receptor_link_bytes_total",
    "Mesh message bytes per link and direction",
    {
      labels: ["peer", "backend", "direction"],
      maxSeries: 2 * MAX_PEER_LABELS + 40,
    },
  );
  return (st) => {
    const peers = new Set(st.connections.map((c) => c.NodeID).slice(0, MAX_PEER_LABELS));
    const traffic = mesh.linkTraffic();
    linkState.reset();
    for (const t of traffic.open) {
      const state = t.peer !== "" && peers.has(t.peer) ? "established" : "handshaking";
      linkState.add({ peer: state === "established" ? t.peer : "", backend: t.backend, state }, 1);
    }
    cost.reset();
    for (const c of st.connections) if (peers.has(c.NodeID)) cost.set({ peer: c.NodeID }, c.Cost);
    // Counters: sums of closed links per (backend, peer) plus the open links, so they only grow.
    // Peers are nodes that were direct neighbours (MeshNode keeps at most 256, then "other").
    const sums = new Map<string, { peer: string; backend: string; v: number[] }>();
    for (const t of [...traffic.closed, ...traffic.open]) {
      const peer = t.peer;
      const k = `${t.backend} ${peer}`;
      const s = sums.get(k) ?? { peer, backend: t.backend, v: [0, 0, 0, 0] };
      s.v[0] += t.messagesIn;
      s.v[1] += t.messagesOut;
      s.v[2] += t.bytesIn;
      s.v[3] += t.bytesOut;
      sums.set(k, s);
    }
    for (const s of sums.values()) {
      const l = { peer: s.peer, backend: s.backend };
      msgs.set({ ...l, direction: "in" }, s.v[0]);
      msgs.set({ ...l, direction: "out" }, s.v[1]);
      bytes.set({ ...l, direction: "in" }, s.v[2]);
      bytes.set({ ...l, direction: "out" }, s.v[3]);
    }
  };
}

/** Routing families (updates, origins, known nodes, routes); returns their collector. */
function routingMetrics(r: MetricsRegistry, mesh: MeshNode): (st: MeshStatus) => void {
  const updates = r.counter(
    "receptor_routing_updates_received_total",
    "Routing updates received, by origin: the sending neighbour itself, or relayed from another node",
    { labels: ["origin"] },
  );
  const originated = r.counter(
    "receptor_routing_updates_originated_total",
    "Routing updates this node built (its update sequence number)",
  );
  const origins = r.gauge(
    "receptor_routing_update_origins",
    "Distinct nodes whose routing updates this node holds",
  );
  const known = r.gauge(
    "receptor_known_nodes",
    "Nodes in this node's view of the mesh (itself included)",
  );
  const routes = r.gauge("receptor_routes", "Destinations in the routing table");
  const changes = r.counter(
    "receptor_route_changes_total",
    "Destinations whose next hop appeared, changed or vanished",
  );
  const dups = r.counter(
    "receptor_duplicate_notices_total",
    "Duplicate-node notices naming this node's epochs, by outcome: re-announced with a new " +
      "epoch, held, or ignored (credible, but duplicatenotice is stay, the default) (README " +
      "'Duplicate node IDs')",
    { labels: ["outcome"] },
  );
  return (st) => {
    const c = mesh.router.counters;
    const s = mesh.router.stats();
    dups.set({ outcome: "reannounced" }, s.duplicateReannounced);
    dups.set({ outcome: "ignored" }, s.duplicateIgnored);
    dups.set(
      { outcome: "held" },
      s.duplicateNotices - s.duplicateReannounced - s.duplicateIgnored,
    );
    updates.set({ origin: "neighbour" }, c.routingUpdatesFromNeighbours);
    updates.set({ origin: "relayed" }, c.routingUpdatesFromRemote);
    originated.set({}, Number(mesh.router.sequence));
    const ids = new Set<string>([st.nodeId]);
    for (const [from, tos] of Object.entries(st.knownConnectionCosts)) {
      ids.add(from);
      for (const to of Object.keys(tos)) ids.add(to);
    }
    origins.set({}, Object.keys(st.knownConnectionCosts).filter((n) => n !== st.nodeId).length);
    known.set({}, ids.size);
    routes.set({}, Object.keys(st.routingTable).length);
    changes.set({}, c.routeChanges);
  };
}

function streamMetrics(r: MetricsRegistry, mesh: MeshNode): void {
  const open = r.gauge("receptor_streams_open", "Mesh stream (QUIC) connections open now");
  const opened = r.counter("receptor_streams_opened_total", "Mesh stream connections opened");
  const sent = r.counter("receptor_quic_packets_sent_total", "QUIC packets sent on mesh streams");
  const lost = r.counter(
    "receptor_quic_packets_lost_total",
    "QUIC packets declared lost (their data is retransmitted)",
  );
  const ptos = r.counter("receptor_quic_probe_timeouts_total", "QUIC probe timeouts (PTO)");
  r.collect(() => {
    const s = streamStats(mesh);
    open.set({}, s.open);
    opened.set({}, s.opened);
    sent.set({}, s.packetsSent);
    lost.set({}, s.packetsLost);
    ptos.set({}, s.ptos);
  });
}

function controlMetrics(r: MetricsRegistry, stats: ControlStats): void {
  const sessions = r.counter(
    "receptor_control_sessions_total",
    "Control-service sessions accepted",
    {
      labels: ["transport"],
    },
  );
  const commands = r.counter(
    "receptor_control_commands_total",
    "Control commands run, by command (work by subcommand) and outcome",
    { labels: ["command", "outcome"], maxSeries: 100 },
  );
  const results = r.counter(
    "receptor_work_results_bytes_total",
    "Bytes of work unit results streamed to control clients",
  );
  r.collect(() => {
    for (const [t, n] of stats.sessions) sessions.set({ transport: t }, n);
    for (const [k, n] of stats.commands) {
      const [command, outcome] = k.split("\u0000");
      commands.set({ command, outcome }, n);
    }
    results.set({}, stats.resultsBytes);
  });
}
