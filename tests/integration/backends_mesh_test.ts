/**
 * Real node processes linked by the UDP and WebSocket backends: a 3-node line
 * a —udp— b —ws— c (c's ws-peer sends an extraheader) converges with the configured costs,
 * pings a→c, runs remote work from a on c and reaches c's control service from a with
 * `receptor ctl connect` (streams over both link types); the ws-listener of the running node
 * refuses an Origin mismatch with 403.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { ctlJson, type PingReply, startMesh } from "../helpers/mesh.ts";
import { freePort, freeUdpPort, waitFor } from "../helpers/net.ts";
import { runReceptor } from "../helpers/node_process.ts";
import { waitRoutes } from "./backends_helpers.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import { submitWork, workResults, workStatus } from "../../src/ctl/work_client.ts";

async function remoteWork(sock: string, node: string, worktype: string, text: string) {
  const sub = await submitWork(await ReceptorClient.connect(sock), worktype, text, { node });
  await waitFor(`unit ${sub.unitid} on ${node}`, async () => {
    const c = await ReceptorClient.connect(sock);
    try {
      const st = await workStatus(c, sub.unitid);
      if (st.State === 3) throw new Error(`work failed: ${st.Detail}`);
      return st.State === 2;
    } finally {
      c.close();
    }
  }, 30000);
  let out = "";
  for await (const ch of await workResults(await ReceptorClient.connect(sock), sub.unitid)) {
    out += new TextDecoder().decode(ch);
  }
  return out;
}

Deno.test({
  name: "backends mesh: a —udp— b —ws— c converges; ping, remote work and connect across both",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const udpPort = freeUdpPort();
    const wsPort = freePort();
    const mesh = await startMesh({
      nodes: ["a", "b", "c"],
      edges: [],
      extraYaml: (id) => {
        switch (id) {
          case "a":
            return `- udp-peer:\n    address: 127.0.0.1:${udpPort}\n    cost: 2\n`;
          case "b":
            return [
              `- udp-listener:\n    bindaddr: 127.0.0.1\n    port: ${udpPort}\n    cost: 2`,
              `- ws-listener:\n    bindaddr: 127.0.0.1\n    port: ${wsPort}\n    path: /mesh`,
              `    nodecost:\n      c: 3`,
              ``,
            ].join("\n");
          default:
            return [
              `- ws-peer:\n    address: ws://127.0.0.1:${wsPort}/mesh\n    cost: 3`,
              `    extraheader: "X-Mesh-Test: yes"`,
              `- work-command:\n    worktype: echo\n    command: cat`,
              ``,
            ].join("\n");
        }
      },
    });
    try {
      try {
        await waitRoutes(mesh, ["a", "b", "c"]);
      } catch (e) {
        throw new Error(`${e}\n${mesh.logs()}`);
      }
      const sb = await mesh.status("b");
      const conns = Object.fromEntries(sb.Connections.map((c) => [c.NodeID, c.Cost]));
      assertEquals(conns, { a: 2, c: 3 }, "b's links and their costs");
      assertEquals(sb.KnownConnectionCosts.b, { a: 2, c: 3 });
      const sa = await mesh.status("a");
      assertEquals(sa.RoutingTable, { b: "b", c: "b" });

      const ping = await ctlJson<PingReply>(mesh.node("a").socket, "ping c", 20000);
      assert(ping.Success && ping.From === "c", `ping a->c: ${JSON.stringify(ping)}`);
      const back = await ctlJson<PingReply>(mesh.node("c").socket, "ping a", 20000);
      assert(back.Success && back.From === "a", `ping c->a: ${JSON.stringify(back)}`);

      const text = "over udp and websocket\n".repeat(2000);
      const out = await remoteWork(mesh.node("a").socket, "c", "echo", text);
      assertEquals(out.length, text.length, "remote work output length");
      assert(out === text, "remote work output intact");

      const r = await runReceptor(
        ["ctl", "--socket", mesh.node("a").socket, "connect", "c", "control"],
        { stdin: "status\n" },
      );
      assertEquals(r.code, 0, `ctl connect: ${r.stderr}`);
      const lines = r.stdout.split("\n").filter((l) => l !== "");
      assertEquals(lines[0], "Receptor Control, node c");
      assertEquals(JSON.parse(lines[1]).NodeID, "c");

      // The running ws-listener refuses a foreign Origin.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: wsPort });
      try {
        await conn.write(new TextEncoder().encode(
          [
            "GET /mesh HTTP/1.1",
            `Host: 127.0.0.1:${wsPort}`,
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Origin: http://attacker.example",
          ].join("\r\n") + "\r\n\r\n",
        ));
        const buf = new Uint8Array(1024);
        const n = await conn.read(buf);
        const reply = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        assert(reply.startsWith("HTTP/1.1 403 Forbidden"), reply);
      } finally {
        conn.close();
      }
      await mesh.node("b").proc.waitForLog(/upgrade refused \(403\)/, 5000);
      assertStringIncludes(mesh.node("b").proc.logText(), "request origin not allowed");
    } finally {
      await mesh.stop();
    }
  },
});
