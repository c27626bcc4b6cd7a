/**
 * Helpers for the backend integration tests (meshes whose links come from extra YAML
 * sections rather than the mesh helper's TCP edges).
 * @module
 */
import { assertEquals } from "../helpers/assert.ts";
import type { Mesh } from "../helpers/mesh.ts";
import { Logger } from "../../src/log.ts";
import type { LinkSink } from "../../src/mesh/backends/tcp.ts";
import { WsListenerBackend, type WsListenerOptions } from "../../src/mesh/backends/websocket.ts";
import { waitFor } from "../helpers/net.ts";

/** Wait until every node in `nodes` routes to every other one. */
export async function waitRoutes(mesh: Mesh, nodes: string[], timeoutMs = 40000): Promise<void> {
  const missing = async () => {
    const out: string[] = [];
    for (const id of nodes) {
      const s = await mesh.status(id);
      for (const o of nodes) if (o !== id && !s.RoutingTable[o]) out.push(`${id}->${o}`);
    }
    return out;
  };
  await waitFor(
    `routes among ${nodes.join(",")}`,
    async () => (await missing()).length === 0,
    timeoutMs,
    200,
  );
  assertEquals(await missing(), [], "routes missing");
}

/** Wait until node `id` lists exactly `peers` (sorted) as its connections. */
export async function waitConnections(
  mesh: Mesh,
  id: string,
  peers: string[],
  timeoutMs = 60000,
): Promise<void> {
  const want = [...peers].sort().join(",");
  const got = await waitFor(
    `${id} connected to [${want}]`,
    async () => {
      const s = await mesh.status(id);
      const now = s.Connections.map((c) => c.NodeID).sort().join(",");
      return now === want ? `[${now}]` : null;
    },
    timeoutMs,
    250,
  );
  assertEquals(got, `[${want}]`, `${id}'s connections`);
}

/** A debug logger whose lines land in `lines`. */
export function captureLogger(lines: string[]): Logger {
  return new Logger({ level: "debug", sink: (l) => lines.push(l) });
}

/** A ws-listener on 127.0.0.1 (free port, cost 1, any peer) logging into `lines`. */
export function startWsListener(
  lines: string[],
  sink: LinkSink,
  o: Partial<WsListenerOptions> = {},
): WsListenerBackend {
  return WsListenerBackend.start({
    bindaddr: "127.0.0.1",
    port: 0,
    path: "/",
    cost: 1,
    allowedPeers: null,
    logger: captureLogger(lines),
    ...o,
  }, sink);
}
