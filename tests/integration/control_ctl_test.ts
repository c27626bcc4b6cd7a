/**
 * Our own client, `receptor ctl`, as a real process against a 2-node mesh over the Unix
 * socket and `tcp://`: status (human and --json), ping (success and failure exit codes),
 * traceroute, version, reload exit codes.
 * @module
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { freePort } from "../helpers/net.ts";
import { runReceptor } from "../helpers/node_process.ts";

Deno.test("receptor ctl: status, ping, traceroute, version, reload over unix and tcp", async () => {
  const tcpPort = freePort();
  const mesh = await startMesh({
    nodes: ["ca", "cb"],
    edges: [["cb", "ca"]],
    extraYaml: (id) =>
      id === "ca"
        ? `- control-service:\n    service: ctl2\n    tcplisten: 127.0.0.1:${tcpPort}\n`
        : "",
  });
  try {
    await mesh.waitConverged(["ca", "cb"], 30000);
    for (const addr of [mesh.node("ca").socket, `tcp://127.0.0.1:${tcpPort}`]) {
      const ctl = (...args: string[]) => runReceptor(["ctl", "--socket", addr, ...args]);
      const where = `(socket ${addr})`;

      let r = await ctl("status");
      assertEquals(r.code, 0, `status ${where}: ${r.stderr}`);
      assertStringIncludes(r.stdout, "ca");
      assertStringIncludes(r.stdout, "cb");

      r = await ctl("--json", "status");
      assertEquals(r.code, 0, `status --json ${where}: ${r.stderr}`);
      const s = JSON.parse(r.stdout);
      assertEquals(s.NodeID, "ca");
      assertEquals(s.RoutingTable, { cb: "cb" });

      r = await ctl("ping", "cb", "--count", "2", "--delay", "0.1");
      assertEquals(r.code, 0, `ping ${where}: ${r.stdout}${r.stderr}`);
      assertEquals(r.stdout.match(/Reply from cb in \S+/g)?.length, 2, r.stdout);

      r = await ctl("ping", "nosuchnode", "--count", "1");
      assertEquals(r.code, 2, `ping unknown node ${where}: ${r.stdout}${r.stderr}`);
      assertStringIncludes(r.stdout, "no route to node");

      r = await ctl("traceroute", "cb");
      assertEquals(r.code, 0, `traceroute ${where}: ${r.stdout}${r.stderr}`);
      assertMatch(r.stdout, /^0: ca in \S+\n1: cb in \S+\n$/);

      r = await ctl("version");
      assertEquals(r.code, 0, `version ${where}: ${r.stderr}`);
      assertMatch(r.stdout, /^receptor \S+/);
    }
    // Reload last: it restarts every backend (as upstream does), dropping cb's link.
    for (const addr of [mesh.node("ca").socket, `tcp://127.0.0.1:${tcpPort}`]) {
      const r = await runReceptor(["ctl", "--socket", addr, "reload"]);
      assertEquals(r.code, 0, `reload (socket ${addr}): ${r.stdout}${r.stderr}`);
      assertStringIncludes(r.stdout, "Reload successful");
    }
    const bad = await runReceptor(["ctl", "--socket", `${mesh.root}/nope.sock`, "status"]);
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /^Error: /);
  } finally {
    await mesh.stop();
  }
});
