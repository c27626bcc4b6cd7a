/**
 * End to end: a stream service three hops away. A 4-node line A–B–C–D of real node processes;
 * node D reaches A's in-mesh control service (a QUIC stream over mesh datagrams, wire.md §12)
 * (a) with `receptor ctl connect A control`, (b) with the real receptorctl Python library's
 * `connect_to_service` + `handshake` + `simple_command("status")` (the `connect A control `
 * command with a trailing space, control.md §2.3), and (c) with `receptorctl work list --node A`
 * (checklist 23, 89).
 * @module
 */
import { receptorctl, receptorctlPython } from "../helpers/peers.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import type { Mesh } from "../helpers/mesh.ts";
import { runReceptor } from "../helpers/node_process.ts";
import { meshLogs, runTool, startE2eMesh } from "./e2e_helpers.ts";

function lineMesh(): Promise<Mesh> {
  return startE2eMesh({
    nodes: ["A", "B", "C", "D"],
    edges: [["B", "A"], ["C", "B"], ["D", "C"]],
    extraYaml: (id) =>
      [`- work-command:`, `    worktype: echo${id}`, `    command: cat`, ``].join("\n"),
  });
}

Deno.test({
  name: "e2e connect: D reaches A's control service three hops away (ctl, python, receptorctl)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const mesh = await lineMesh();
    try {
      const dSock = mesh.node("D").socket;
      // Route check: the path really is D→C→B→A.
      const st = await mesh.status("D");
      assertEquals(st.RoutingTable["A"], "C", "D routes to A through C");

      await t.step("receptor ctl connect A control", async () => {
        const r = await runReceptor(["ctl", "--socket", dSock, "connect", "A", "control"], {
          stdin: "status\n",
        });
        assertEquals(r.code, 0, `exit code; stderr: ${r.stderr}\n${meshLogs(mesh)}`);
        const lines = r.stdout.split("\n").filter((l) => l !== "");
        assertEquals(lines[0], "Receptor Control, node A", `banner; stdout: ${r.stdout}`);
        assert(lines.length >= 2, `a status line after the banner; stdout: ${r.stdout}`);
        const status = JSON.parse(lines[1]);
        assertEquals(status.NodeID, "A");
        assert(Array.isArray(status.Advertisements), "status has Advertisements");
      });

      await t.step({
        name: "receptorctl library: connect_to_service + handshake + simple_command",
        fn: async () => {
          const script = [
            "import json, sys",
            "from receptorctl.socket_interface import ReceptorControl",
            "rc = ReceptorControl(sys.argv[1])",
            "rc.connect_to_service('A', 'control', '')",
            "rc.handshake()",
            "print('REMOTE', rc._remote_node)",
            "print(json.dumps(rc.simple_command('status')))",
            "rc.close()",
          ].join("\n");
          const r = await runTool(receptorctlPython(), ["-c", script, dSock], undefined, 60000);
          assertEquals(r.code, 0, `python exit; stderr: ${r.err}\n${meshLogs(mesh)}`);
          const lines = r.out.trim().split("\n");
          assertEquals(lines[0], "REMOTE A");
          const status = JSON.parse(lines[1]);
          assertEquals(status.NodeID, "A");
          assertEquals(Object.keys(status.KnownConnectionCosts).sort(), ["A", "B", "C", "D"]);
        },
      });

      await t.step({
        name: "receptorctl work list --node A",
        fn: async () => {
          // Something to list on A first (submitted locally on A).
          const sub = await runTool(receptorctl(), [
            "--socket",
            mesh.node("A").socket,
            "work",
            "submit",
            "echoA",
            "-l",
            "from-a",
            "-f",
          ]);
          assertEquals(sub.code, 0, `submit on A: ${sub.err}`);
          assertStringIncludes(sub.out, "from-a");
          const r = await runTool(receptorctl(), [
            "--socket",
            dSock,
            "work",
            "list",
            "--node",
            "A",
          ]);
          assertEquals(r.code, 0, `work list --node A: ${r.err}\n${meshLogs(mesh)}`);
          const units = JSON.parse(r.out) as Record<string, { WorkType: string; State: number }>;
          const ids = Object.keys(units);
          assertEquals(ids.length, 1, `one unit on A: ${r.out}`);
          assertMatch(ids[0], /^[A-Za-z0-9]{8}$/);
          assertEquals(units[ids[0]].WorkType, "echoA");
          assertEquals(units[ids[0]].State, 2);
          // And D's own list stays empty: the command really ran on A.
          const own = await runTool(receptorctl(), ["--socket", dSock, "work", "list"]);
          assertEquals(own.code, 0);
          assertEquals(JSON.parse(own.out), {});
        },
      });
    } finally {
      await mesh.stop();
    }
  },
});
