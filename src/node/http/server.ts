/**
 * The node's HTTP endpoint (`observability` section, not in upstream): `GET /metrics`
 * (Prometheus text format), `GET /health` and `GET /ready` (JSON, 200 or 503), and the live
 * mesh page `GET /` with its script `/app.js`, its data `/api/mesh` and its live feed
 * `/events` (server-sent events). Everything it serves is embedded in the program. Plain
 * HTTP uses `Deno.serve`; with `tls` set, HTTPS runs on node:tls so that client certificates
 * can be required (see `https.ts`).
 * @module
 */
import type { ObservabilitySection } from "../../config/types.ts";
import type { MeshNode } from "../../mesh/mesh_node.ts";
import type { WorkEngine } from "../../work/engine.ts";
import type { ControlStats } from "../../control/control_stats.ts";
import type { LoadedTlsServer } from "../../certs/tls_config.ts";
import type { Logger } from "../../log.ts";
import { type NodeMetrics, nodeMetrics } from "./node_metrics.ts";
import { Sampler } from "./sampler.ts";
import { PAGE_HTML } from "./page_html.ts";
import { PAGE_JS } from "./page_js.ts";
import { listenHttps } from "./https.ts";
import { errorText } from "../../util/error_text.ts";
import { closeQuietly } from "../../util/close_quietly.ts";

/** Most live-page clients at once (each holds one open response); more get 503. */
export const MAX_EVENT_CLIENTS = 32;
/** Comment line sent to idle event streams so proxies and browsers keep them open. */
const HEARTBEAT_MS = 15_000;

/** What the endpoint reads from the node. */
export interface ObservabilityDeps {
  nodeId: string;
  version: string;
  mesh: MeshNode;
  work: WorkEngine;
  control: ControlStats;
  logger: Logger;
  /** The named tls-server's current material (for `tls`). */
  tlsServer?: (name: string) => LoadedTlsServer;
}

/** A running endpoint. */
export interface ObservabilityEndpoint {
  /** Bound port (useful with port 0). */
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:9180/`. */
  url: string;
  /** Mark the node initialised: `/ready` turns 200. */
  setReady(): void;
  /** Mark the node shutting down: `/health` and `/ready` turn 503. */
  setShuttingDown(): void;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; " +
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
};

function text(body: string, status: number, type: string): Response {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, "content-type": type } });
}

function json(value: unknown, status = 200): Response {
  return text(JSON.stringify(value, null, 2) + "\n", status, "application/json; charset=utf-8");
}

/** Split `host:port` (IPv6 in brackets). */
export function splitAddress(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  let host = addr.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`observability: invalid port in address ${addr}`);
  }
  return { hostname: host === "" ? "127.0.0.1" : host, port };
}

/** Start the endpoint described by `section`. Throws if it cannot listen. */
export async function startObservability(
  section: ObservabilitySection,
  deps: ObservabilityDeps,
): Promise<ObservabilityEndpoint> {
  const state = { ready: false, shuttingDown: false };
  const metrics = nodeMetrics({
    nodeId: deps.nodeId,
    version: deps.version,
    mesh: deps.mesh,
    control: deps.control,
    logger: deps.logger,
    ready: () => state.ready && !state.shuttingDown,
  });
  const { sampler, offUnitFinal } = startSampling(deps, metrics);
  const served: Served = { section, deps, state, metrics, sampler, events: new Map() };
  const { hostname, port } = splitAddress(section.address);
  let server: { port: number; close(): Promise<void> };
  try {
    server = await listenEndpoint(section, deps, hostname, port, (req) => route(served, req));
  } catch (e) {
    sampler.close();
    offUnitFinal();
    throw new Error(`observability: cannot listen on ${section.address}: ${errorText(e)}`);
  }
  const scheme = section.tls ? "https" : "http";
  const h = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `${scheme}://${h}:${server.port}/`;
  deps.logger.info(`Observability endpoint listening on ${url}`);
  return {
    port: server.port,
    url,
    setReady: () => state.ready = true,
    setShuttingDown: () => state.shuttingDown = true,
    async close() {
      state.shuttingDown = true;
      sampler.close();
      offUnitFinal();
      for (const [c, end] of [...served.events]) {
        end();
        closeQuietly(c);
      }
      await server.close();
    },
  };
}

/** What the endpoint's request handler reads. */
interface Served {
  section: ObservabilitySection;
  deps: ObservabilityDeps;
  /** Set by the node through {@link ObservabilityEndpoint}. */
  state: { ready: boolean; shuttingDown: boolean };
  metrics: NodeMetrics;
  sampler: Sampler;
  /** Open event streams and how to end each. */
  events: Map<ReadableStreamDefaultController<Uint8Array>, () => void>;
}

/**
 * Starts the mesh sampler behind the live page and the metrics, and feeds the metrics each
 * unit's duration as the engine reports it final (no status-file polling). Returns how to
 * stop both.
 */
function startSampling(
  deps: ObservabilityDeps,
  metrics: NodeMetrics,
): { sampler: Sampler; offUnitFinal: () => void } {
  const sampler = new Sampler(deps.mesh, deps.work, deps.logger);
  const offUnitFinal = deps.work.onUnitFinal((ev) => {
    sampler.refreshUnitsSoon();
    if (ev.seconds === null) return; // started before this process: duration unknown
    metrics.unitFinished({ workType: ev.workType, state: ev.stateName, seconds: ev.seconds });
  });
  metrics.setSampler(sampler);
  sampler.start();
  return { sampler, offUnitFinal };
}

/** Answers one request: the metrics, health and readiness always, the live page if enabled. */
async function route(sv: Served, req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return text("method not allowed\n", 405, "text/plain; charset=utf-8");
  }
  const ready = sv.state.ready && !sv.state.shuttingDown;
  switch (path) {
    case "/metrics":
      return text(
        await sv.metrics.registry.render(),
        200,
        "text/plain; version=0.0.4; charset=utf-8",
      );
    case "/health":
      return health(sv);
    case "/ready":
      return json({ ready }, ready ? 200 : 503);
  }
  if (!sv.section.meshpage) return text("not found\n", 404, "text/plain; charset=utf-8");
  switch (path) {
    case "/":
      return text(PAGE_HTML, 200, "text/html; charset=utf-8");
    case "/app.js":
      return text(PAGE_JS, 200, "text/javascript; charset=utf-8");
    case "/api/mesh":
      return json(sv.sampler.snapshot());
    case "/events":
      return eventStream(sv.sampler, sv.events, sv.deps.logger);
  }
  return text("not found\n", 404, "text/plain; charset=utf-8");
}

/** `/health`: 200 while enough peers are connected and the node is not shutting down. */
function health(sv: Served): Response {
  const { state, section, deps } = sv;
  const peers = deps.mesh.status().connections.length;
  const body = {
    status: state.shuttingDown
      ? "shutting down"
      : peers < section.minpeers
      ? "too few peers"
      : "ok",
    node: deps.nodeId,
    peers,
    minPeers: section.minpeers,
    ready: state.ready && !state.shuttingDown,
  };
  return json(body, body.status === "ok" ? 200 : 503);
}

/** Serves `handler` over HTTP, or HTTPS with the section's `tls` server config. */
async function listenEndpoint(
  section: ObservabilitySection,
  deps: ObservabilityDeps,
  hostname: string,
  port: number,
  handler: (req: Request) => Promise<Response>,
): Promise<{ port: number; close(): Promise<void> }> {
  if (section.tls) {
    const get = deps.tlsServer;
    if (!get) throw new Error(`unknown TLS config ${section.tls}`);
    return await listenHttps(hostname, port, () => get(section.tls), handler, deps.logger);
  }
  const s = Deno.serve({ hostname, port, onListen: () => {} }, handler);
  return { port: s.addr.port, close: () => s.shutdown() };
}

/**
 * The live page's event stream: the current mesh snapshot, then every sampled one, with a
 * keep-alive comment every {@link HEARTBEAT_MS}; at most {@link MAX_EVENT_CLIENTS} at once.
 * `events` holds each open stream's controller and how to end it.
 */
function eventStream(
  sampler: Sampler,
  events: Map<ReadableStreamDefaultController<Uint8Array>, () => void>,
  logger: Logger,
): Response {
  if (events.size >= MAX_EVENT_CLIENTS) {
    logger.warning(
      `observability: refusing a live-page client: ${MAX_EVENT_CLIENTS} are connected`,
    );
    return text("too many live-page clients\n", 503, "text/plain; charset=utf-8");
  }
  const enc = new TextEncoder();
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      const send = (data: string) => {
        try {
          c.enqueue(enc.encode(`event: mesh\ndata: ${data}\n\n`));
        } catch { /* closed */ }
      };
      send(JSON.stringify(sampler.snapshot()));
      const unsubscribe = sampler.subscribe((_s, data) => send(data));
      const beat = setInterval(() => {
        try {
          c.enqueue(enc.encode(": keep-alive\n\n"));
        } catch { /* closed */ }
      }, HEARTBEAT_MS);
      cleanup = () => {
        unsubscribe();
        clearInterval(beat);
        events.delete(c);
      };
      events.set(c, cleanup);
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(body, {
    headers: { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8" },
  });
}
