/**
 * Mesh policies with real node processes: a second node with an existing node's ID, joining
 * elsewhere in the mesh, is detected as the duplicate and shuts down while the original keeps
 * working (wire.md §5.5); a listener's `allowedpeers` refuses other node IDs (§3.2).
 * @module
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { ctlStatus, meshNodeYaml, startMesh } from "../helpers/mesh.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { startNode, stopAll } from "../helpers/node_process.ts";

Deno.test("mesh: a later node with a duplicate ID shuts down; the original keeps working", async () => {
  const nodes = ["da", "db", "dc"];
  const mesh = await startMesh({ nodes, edges: [["db", "da"], ["dc", "db"]] });
  const extra = [];
  try {
    await mesh.waitConverged(nodes, 30000);
    // Wait a second so the duplicate's epoch (start time based) is clearly larger.
    await new Promise((r) => setTimeout(r, 1100));
    await Deno.mkdir(`${mesh.root}/dup`);
    const dup = await startNode(
      "da",
      (_d, s) => meshNodeYaml("da", freePort(), [mesh.node("dc").port], s),
      { dir: `${mesh.root}/dup` },
    ).catch((e) => {
      throw new Error(`${e}\n${mesh.logs()}`);
    });
    extra.push(dup);
    const st = await Promise.race([
      dup.wait(),
      new Promise<null>((r) => setTimeout(() => r(null), 30000)),
    ]);
    assert(st !== null, `duplicate node still running after 30 s:\n${dup.logText()}`);
    assertEquals(st.code, 1, `duplicate exit code:\n${dup.logText()}`);
    assertMatch(dup.logText(), /duplicate/i);
    // The original is unharmed and routable from the far end. (dc dropped edge db->da when
    // the duplicate's update arrived; it comes back with db's next periodic update, ~10 s.)
    assert(!mesh.node("da").proc.exited, "original da exited");
    await waitFor(
      "dc pings the original da",
      async () => {
        const p = await mesh.ping("dc", "da");
        return p.Success && p.From === "da";
      },
      20000,
      500,
    );
  } finally {
    await stopAll(extra);
    await mesh.stop();
  }
});

Deno.test("mesh: allowedpeers on a listener refuses other node IDs", async () => {
  const lPort = freePort();
  const nodes = [];
  try {
    const gate = await startNode(
      "gate",
      (_d, s) =>
        meshNodeYaml("gate", lPort, [], s).replace(
          `    port: ${lPort}\n`,
          `    port: ${lPort}\n    allowedpeers:\n      - friend\n`,
        ),
    );
    nodes.push(gate);
    const friend = await startNode(
      "friend",
      (_d, s) => meshNodeYaml("friend", freePort(), [lPort], s),
    );
    nodes.push(friend);
    const stranger = await startNode(
      "stranger",
      (_d, s) => meshNodeYaml("stranger", freePort(), [lPort], s),
    );
    nodes.push(stranger);
    await waitFor("friend connects to gate", async () => {
      const s = await ctlStatus(gate.socket);
      return s.Connections.some((c) => c.NodeID === "friend");
    }, 20000);
    await waitFor(
      "gate logs the refusal of stranger",
      () => /stranger/.test(gate.logText()),
      20000,
    );
    const s = await ctlStatus(gate.socket);
    assert(!s.Connections.some((c) => c.NodeID === "stranger"), "stranger must not connect");
    const ss = await ctlStatus(stranger.socket);
    assert(!ss.Connections.some((c) => c.NodeID === "gate"), "stranger must not see gate");
  } finally {
    await stopAll(nodes);
  }
});
