/**
 * WebSocket over TLS (`wss://`) between real node processes, with certificates made by
 * `receptor cert`: a ws-listener whose tls-server requires client certificates and a ws-peer
 * with a tls-client link up and ping; the listener refuses a peer whose certificate names
 * another node ID (node-ID verification as for TCP), a peer outside `allowedpeers`, and a
 * plain `ws://` dial; a ws-peer refuses a listener whose certificate names another node.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ctlJson, ctlStatus, nodeStarter, type PingReply } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { stopAll } from "../helpers/node_process.ts";
import { makeCa, makeNodeCert, tlsClientYaml, tlsServerYaml } from "../helpers/tls.ts";

const wsPeer = (url: string, tls: string) =>
  `- ws-peer:\n    address: ${url}\n    tls: ${tls}\n    redial: false\n`;

Deno.test({
  name: "backends wss: client certificates, node-ID check both ways, allowedpeers, no plain ws",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await tempDir("receptor-wss-");
    const { nodes, start } = nodeStarter(dir, null);
    try {
      const ca = await makeCa(dir, "ca");
      const cert = {
        hop: await makeNodeCert(dir, ca, "hop"),
        ctrl: await makeNodeCert(dir, ca, "ctrl"),
        stranger: await makeNodeCert(dir, ca, "stranger"),
        other: await makeNodeCert(dir, ca, "someoneelse", { file: "other" }),
      };
      const hopPort = freePort();
      const fakePort = freePort();
      const hop = await start(
        "hop",
        tlsServerYaml("srv", cert.hop, ca) +
          `- ws-listener:\n    bindaddr: 127.0.0.1\n    port: ${hopPort}\n    path: /ws\n` +
          `    tls: srv\n    allowedpeers:\n      - ctrl\n      - impostor\n`,
      );
      // A listener presenting hop's certificate while calling itself "fakehop".
      const fake = await start(
        "fakehop",
        tlsServerYaml("srv", cert.hop, ca, { skipreceptornamescheck: true }) +
          `- ws-listener:\n    bindaddr: 127.0.0.1\n    port: ${fakePort}\n    tls: srv\n`,
      );
      const ctrl = await start(
        "ctrl",
        tlsClientYaml("cli", cert.ctrl, ca) +
          wsPeer(`wss://127.0.0.1:${hopPort}/ws`, "cli") +
          wsPeer(`wss://127.0.0.1:${fakePort}/`, "cli"),
      );
      try {
        await waitFor(
          "hop connected to ctrl",
          async () => (await ctlStatus(hop.socket)).Connections.some((c) => c.NodeID === "ctrl"),
          20000,
          200,
        );
        const p = await ctlJson<PingReply>(ctrl.socket, "ping hop", 20000);
        assert(p.Success && p.From === "hop", `ping ctrl->hop over wss: ${JSON.stringify(p)}`);
      } catch (e) {
        throw new Error(`${e}\n${nodes.map((n) => n?.logText()).join("\n---\n")}`);
      }
      // Dialer side: ctrl refuses fakehop, whose certificate names "hop".
      await ctrl.waitForLog(
        /rejected connection with node fakehop because its node ID is not one its certificate proves \(hop\)/,
      );
      // Listener side: a valid certificate naming another node ID.
      await start(
        "impostor",
        tlsClientYaml("cli", cert.other, ca, { skipreceptornamescheck: true }) +
          wsPeer(`wss://127.0.0.1:${hopPort}/ws`, "cli"),
      );
      await hop.waitForLog(
        /rejected connection with node impostor because its node ID is not one its certificate proves \(someoneelse\)/,
      );
      // Not in allowedpeers.
      await start(
        "stranger",
        tlsClientYaml("cli", cert.stranger, ca) + wsPeer(`wss://127.0.0.1:${hopPort}/ws`, "cli"),
      );
      await hop.waitForLog(
        /rejected connection with node stranger because it is not in the allowed peers list/,
      );
      // Plain ws:// to a wss listener fails at the TLS layer.
      const plain = await start(
        "plain",
        `- ws-peer:\n    address: ws://127.0.0.1:${hopPort}/ws\n    redial: false\n`,
      );
      await hop.waitForLog(/ws-listener from 127\.0\.0\.1:\d+: TLS handshake refused/);
      await plain.waitForLog(/Backend connection failed \(will retry: false\): ws-peer ws:/);
      assertEquals(
        (await ctlStatus(hop.socket)).Connections.map((c) => c.NodeID).sort(),
        ["ctrl"],
      );
      assertEquals((await ctlStatus(fake.socket)).Connections.length, 0);
    } finally {
      await stopAll(nodes);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
