/**
 * Background sampling for the node's HTTP endpoint: the mesh snapshot the live page shows (every
 * second, pushed to listeners only when it changed), this node's work units (every few seconds,
 * for the units gauge and the page; unit durations come from the engine's unit-final events, see
 * server.ts), ping round-trip times to direct neighbours, and event-loop lag. Runs only while the endpoint is configured; timers never keep the process up.
 * @module
 */
import type { MeshNode } from "../../mesh/mesh_node.ts";
import type { WorkEngine } from "../../work/engine.ts";
import type { WorkUnitStatus } from "../../work/submit_protocol.ts";
import type { Logger } from "../../log.ts";
import { errorText } from "../../util/error_text.ts";

/** Mesh snapshot period (the page's live updates). */
export const MESH_SAMPLE_MS = 1_000;
/** Work unit sample period (reads one status file per unit). */
export const UNITS_SAMPLE_MS = 3_000;
/** Delay of the unit re-read after a unit finished (bursts share one read). */
const UNITS_REFRESH_MS = 100;
/** Neighbour ping period, and the timeout of one ping. */
export const PING_SAMPLE_MS = 10_000;
const PING_TIMEOUT_MS = 5_000;
/** Most neighbours pinged per round, and most units shown on the page. */
export const MAX_PINGED_PEERS = 100;
export const MAX_PAGE_UNITS = 200;
/** Event-loop lag probe period and the window whose maximum is reported. */
const LAG_PROBE_MS = 250;
const LAG_WINDOW_MS = 10_000;

/** One node of the page's graph. */
export interface MeshSnapshotNode {
  id: string;
  services: { service: string; type: string; tls: boolean }[];
  workTypes: { workType: string; secure: boolean }[];
}

/** What the live page shows (also served as JSON at `/api/mesh`). */
export interface MeshSnapshot {
  nodeId: string;
  nodes: MeshSnapshotNode[];
  /** Undirected links with costs (each pair once, `a < b`). */
  links: { a: string; b: string; cost: number }[];
  /** Routes from this node: destination and next hop. */
  routes: { node: string; via: string }[];
  /** This node's direct neighbours. */
  peers: { node: string; cost: number; rttMs: number | null }[];
  /** This node's work units (at most {@link MAX_PAGE_UNITS}, newest sampling order). */
  units: { id: string; workType: string; state: string; detail: string }[];
  unitsTotal: number;
}

/** Build the mesh part of the snapshot from the router's status. */
export function meshSnapshot(mesh: MeshNode): Omit<MeshSnapshot, "units" | "unitsTotal"> {
  const st = mesh.status();
  const ids = new Set<string>([st.nodeId]);
  const links = new Map<string, { a: string; b: string; cost: number }>();
  for (const [from, tos] of Object.entries(st.knownConnectionCosts)) {
    ids.add(from);
    for (const [to, cost] of Object.entries(tos)) {
      ids.add(to);
      const [a, b] = from < to ? [from, to] : [to, from];
      if (!links.has(`${a}\u0000${b}`)) links.set(`${a}\u0000${b}`, { a, b, cost });
    }
  }
  const nodes = new Map<string, MeshSnapshotNode>();
  for (const id of [...ids].sort()) nodes.set(id, { id, services: [], workTypes: [] });
  for (const ad of st.advertisements) {
    const n = nodes.get(ad.NodeID) ??
      { id: ad.NodeID, services: [], workTypes: [] };
    nodes.set(ad.NodeID, n);
    n.services.push({ service: ad.Service, type: ad.Tags?.type ?? "", tls: ad.ConnType === 2 });
    for (const w of ad.WorkCommands ?? []) {
      if (!n.workTypes.some((x) => x.workType === w.WorkType)) {
        n.workTypes.push({ workType: w.WorkType, secure: w.Secure });
      }
    }
  }
  return {
    nodeId: st.nodeId,
    nodes: [...nodes.values()],
    links: [...links.values()].sort((x, y) => (x.a + x.b).localeCompare(y.a + y.b)),
    routes: Object.entries(st.routingTable).map(([node, via]) => ({ node, via }))
      .sort((x, y) => x.node.localeCompare(y.node)),
    peers: st.connections.map((c) => ({ node: c.NodeID, cost: c.Cost, rttMs: null })),
  };
}

/** A unit's type as the page shows it: remote units name their type and node. */
function describeType(s: WorkUnitStatus): string {
  const x = s.ExtraData as { RemoteNode?: unknown; RemoteWorkType?: unknown } | null;
  if (s.WorkType === "remote" && x && typeof x.RemoteNode === "string") {
    return `${String(x.RemoteWorkType ?? "?")} on ${x.RemoteNode}`;
  }
  return s.WorkType;
}

/** A finished unit's duration (from the engine's unit-final event). */
export interface UnitFinished {
  workType: string;
  state: string;
  seconds: number;
}

/** Runs the timers; holds the latest samples. */
export class Sampler {
  /** Latest ping RTT per neighbour, in seconds. */
  readonly rtt = new Map<string, number>();
  /** Latest unit list. */
  units: Record<string, WorkUnitStatus> = {};
  #lagMax = 0;
  #lagWindowStart = 0;
  #lagReported = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #pingTried = new Map<string, number>();
  #lastJson = "";
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #listeners = new Set<(s: MeshSnapshot, json: string) => void>();
  #closed = false;

  constructor(
    readonly mesh: MeshNode,
    readonly work: WorkEngine,
    readonly logger: Logger,
  ) {}

  /** Start the timers. */
  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      Deno.unrefTimer(t as unknown as number);
      this.#timers.push(t);
    };
    every(MESH_SAMPLE_MS, () => {
      this.#pingNew();
      this.#publish();
    });
    every(UNITS_SAMPLE_MS, () => void this.sampleUnits());
    every(PING_SAMPLE_MS, () => void this.#pingPeers());
    let last = performance.now();
    this.#lagWindowStart = last;
    every(LAG_PROBE_MS, () => {
      const now = performance.now();
      this.#lagMax = Math.max(this.#lagMax, now - last - LAG_PROBE_MS);
      last = now;
      if (now - this.#lagWindowStart >= LAG_WINDOW_MS) {
        this.#lagReported = this.#lagMax;
        this.#lagMax = 0;
        this.#lagWindowStart = now;
      }
    });
    void this.sampleUnits();
    void this.#pingPeers();
  }

  /** Largest event-loop lag (seconds) in the last complete window (or the current one). */
  get eventLoopLagSeconds(): number {
    return Math.max(this.#lagReported, this.#lagMax) / 1000;
  }

  /** The full snapshot now. */
  snapshot(): MeshSnapshot {
    const m = meshSnapshot(this.mesh);
    for (const p of m.peers) {
      const r = this.rtt.get(p.node);
      p.rttMs = r === undefined ? null : Math.round(r * 1e6) / 1e3;
    }
    const entries = Object.entries(this.units);
    const units = entries.slice(-MAX_PAGE_UNITS).map(([id, s]) => ({
      id,
      workType: describeType(s),
      state: s.StateName,
      detail: s.Detail.slice(0, 200),
    }));
    return { ...m, units, unitsTotal: entries.length };
  }

  /** Listen for changed snapshots; returns the unsubscribe function. */
  subscribe(fn: (s: MeshSnapshot, json: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Number of live-page listeners. */
  get listeners(): number {
    return this.#listeners.size;
  }

  #publish(): void {
    if (this.#listeners.size === 0 || this.#closed) return;
    const s = this.snapshot();
    const json = JSON.stringify(s);
    if (json === this.#lastJson) return;
    this.#lastJson = json;
    for (const l of [...this.#listeners]) l(s, json);
  }

  /**
   * Re-read the unit list shortly (a unit just finished), so the gauge and the page do not wait
   * for the next round; bursts of calls share one read.
   */
  refreshUnitsSoon(): void {
    if (this.#refreshTimer !== undefined || this.#closed) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      if (!this.#closed) void this.sampleUnits();
    }, UNITS_REFRESH_MS);
    Deno.unrefTimer(this.#refreshTimer as unknown as number);
  }

  /** Read the unit list (for the units gauge and the page). */
  async sampleUnits(): Promise<void> {
    let units: Record<string, WorkUnitStatus>;
    try {
      units = await this.work.list();
    } catch (e) {
      this.logger.debug(`observability: unit list failed: ${errorText(e)}`);
      return;
    }
    this.units = units;
    this.#publish();
  }

  /** Ping neighbours with no RTT yet (new links) at once instead of at the next round. */
  #pingNew(): void {
    const now = performance.now();
    const peers = this.mesh.status().connections.map((c) => c.NodeID).slice(0, MAX_PINGED_PEERS);
    for (const p of peers) {
      if (this.rtt.has(p) || now - (this.#pingTried.get(p) ?? -Infinity) < PING_SAMPLE_MS) continue;
      this.#pingTried.set(p, now);
      void this.#pingOne(p);
    }
    for (const p of this.#pingTried.keys()) if (!peers.includes(p)) this.#pingTried.delete(p);
  }

  async #pingOne(p: string): Promise<void> {
    const r = await this.mesh.ping(p, { timeoutMs: PING_TIMEOUT_MS });
    if (this.#closed) return;
    if ("error" in r) this.rtt.delete(p);
    else this.rtt.set(p, Number(r.timeNs) / 1e9);
  }

  async #pingPeers(): Promise<void> {
    const peers = this.mesh.status().connections.map((c) => c.NodeID).slice(0, MAX_PINGED_PEERS);
    for (const p of [...this.rtt.keys()]) if (!peers.includes(p)) this.rtt.delete(p);
    await Promise.all(peers.map((p) => this.#pingOne(p)));
  }

  /** Stop the timers and drop listeners. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#refreshTimer);
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#listeners.clear();
  }
}
