/**
 * Redial over the UDP and WebSocket backends with real node processes. Node b runs a
 * udp-listener and a ws-listener; a has a udp-peer and c a ws-peer (by host name) to it.
 * 1. b is killed and restarted at once on the same ports: a's next datagram starts a new
 *    session at the new b, c redials; the mesh routes a→c again.
 * 2. b is killed and stays down until a's UDP session has been cut by the idle timeout
 *    (a lists no connection); after b restarts, a's redial (a fresh local socket) and c's
 *    back-off redial bring both links back.
 * @module
 */
import { assert } from "../helpers/assert.ts";
import { ctlJson, type Mesh, type PingReply, startMesh } from "../helpers/mesh.ts";
import { freePort, freeUdpPort } from "../helpers/net.ts";
import { waitConnections, waitRoutes } from "./backends_helpers.ts";

async function pingAC(mesh: Mesh, when: string): Promise<void> {
  const ping = await ctlJson<PingReply>(mesh.node("a").socket, "ping c", 20000);
  assert(ping.Success && ping.From === "c", `ping a->c ${when}: ${JSON.stringify(ping)}`);
}

Deno.test({
  name: "backends redial: udp-peer and ws-peer get back to a restarted listener node",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const udpPort = freeUdpPort();
    const wsPort = freePort();
    const mesh = await startMesh({
      nodes: ["a", "b", "c"],
      edges: [],
      logLevel: "debug",
      extraYaml: (id) =>
        id === "a"
          ? `- udp-peer:\n    address: 127.0.0.1:${udpPort}\n`
          : id === "b"
          ? `- udp-listener:\n    bindaddr: 127.0.0.1\n    port: ${udpPort}\n` +
            `- ws-listener:\n    bindaddr: 127.0.0.1\n    port: ${wsPort}\n`
          : `- ws-peer:\n    address: ws://localhost:${wsPort}\n`,
    });
    const fail = (e: unknown) => new Error(`${e}\n${mesh.logs()}`);
    try {
      await waitRoutes(mesh, ["a", "b", "c"]).catch((e) => Promise.reject(fail(e)));

      // 1. Quick restart.
      await mesh.kill("b");
      await mesh.startMember("b");
      await waitConnections(mesh, "b", ["a", "c"]).catch((e) => Promise.reject(fail(e)));
      await waitRoutes(mesh, ["a", "b", "c"]).catch((e) => Promise.reject(fail(e)));
      await pingAC(mesh, "after a quick restart of b");

      // 2. Long outage: a's UDP session ends by idle timeout, then a redials.
      await mesh.kill("b");
      await waitConnections(mesh, "a", [], 40000).catch((e) => Promise.reject(fail(e)));
      await mesh.node("a").proc.waitForLog(/udp-peer 127\.0\.0\.1:\d+: session ended/, 5000);
      await mesh.startMember("b");
      await waitConnections(mesh, "b", ["a", "c"]).catch((e) => Promise.reject(fail(e)));
      await waitRoutes(mesh, ["a", "b", "c"]).catch((e) => Promise.reject(fail(e)));
      await pingAC(mesh, "after b came back from a long outage");
    } finally {
      await mesh.stop();
    }
  },
});
