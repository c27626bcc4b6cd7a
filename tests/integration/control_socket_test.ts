/**
 * The control service of a real node process (control.md §1–2): Unix socket mode and lock
 * file, stale socket replacement, the lock error of a second node, `tcplisten`, the session
 * protocol (text/JSON forms, one reply per command in order, half-close), `status` shape and
 * errors, and `reload` (no file, reloadable and non-reloadable changes).
 * @module
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { CtlConn, ctlJson, ctlStatus, meshNodeYaml, nodeYaml } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";

function basicYaml(id: string, socket: string, extra = ""): string {
  return nodeYaml({ id, socket, logLevel: null, localOnly: true, extra });
}

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("control: socket permissions, lock file, stale socket, second node refused", async () => {
  const nodes: (NodeProcess | undefined)[] = [];
  try {
    const a = await startNode("ctla", (_d, s) => basicYaml("ctla", s));
    nodes.push(a);
    await waitFor("ctla answers", async () => (await ctlStatus(a.socket)).NodeID === "ctla");
    assertEquals(await modeOf(a.socket), 0o600, "default socket mode");
    assert((await Deno.stat(a.socket + ".lock")).isFile, "lock file exists");

    const b = await startNode(
      "ctlb",
      (_d, s) =>
        basicYaml("ctlb", s).replace(
          "    service: control\n",
          "    service: control\n    permissions: 0660\n",
        ),
    );
    nodes.push(b);
    await waitFor("ctlb answers", async () => (await ctlStatus(b.socket)).NodeID === "ctlb");
    assertEquals(await modeOf(b.socket), 0o660, "permissions: 0660");

    // A second node on the same socket path fails at start with the lock error.
    const cfg2 = `${a.dir}/second.yaml`;
    await Deno.writeTextFile(cfg2, basicYaml("second", a.socket));
    const second = new NodeProcess("second", a.dir, a.socket, ["node", "-c", cfg2]);
    const st = await second.wait();
    assertEquals(st.code, 1, `second node exit code; log:\n${second.logText()}`);
    assertMatch(second.logText(), /could not acquire lock/);
    assertMatch(second.logText(), /^Error: /m);
    // The first node still owns and serves the socket.
    assertEquals((await ctlStatus(a.socket)).NodeID, "ctla");

    // SIGKILL leaves a stale socket file; a restarted node replaces it.
    a.kill("SIGKILL");
    await a.wait();
    assert((await Deno.stat(a.socket)).isSocket, "stale socket file is left behind");
    const a2 = await startNode("ctla", (_d, s) => basicYaml("ctla2", s), { dir: a.dir });
    nodes.push(a2);
    await waitFor("restarted node answers on the old path", async () => {
      if (a2.exited) throw new Error(`restart failed:\n${a2.logText()}`);
      return (await ctlStatus(a2.socket)).NodeID === "ctla2";
    });
    assertEquals(await modeOf(a2.socket), 0o600);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("control: session protocol and command replies over Unix and TCP", async () => {
  const port = freePort();
  const node = await startNode("proto", (_d, s) =>
    basicYaml(
      "proto",
      s,
      `- control-service:
    service: ctl2
    tcplisten: 127.0.0.1:${port}
`,
    ));
  try {
    await waitFor("proto answers", async () => (await ctlStatus(node.socket)).NodeID === "proto");
    for (const addr of [node.socket, `tcp://127.0.0.1:${port}`]) {
      const c = await CtlConn.open(addr);
      try {
        assertEquals(c.banner, "Receptor Control, node proto", `banner over ${addr}`);
        // Upper-case text command works (the first token is lower-cased).
        const st = JSON.parse(await c.command("STATUS"));
        assertEquals(
          Object.keys(st).sort(),
          [
            "Advertisements",
            "Connections",
            "KnownConnectionCosts",
            "NodeID",
            "RoutingTable",
            "SystemCPUCount",
            "SystemMemoryMiB",
            "Version",
          ],
        );
        assertEquals(st.NodeID, "proto");
        assertEquals(typeof st.Version, "string");
        assert(Number.isInteger(st.SystemCPUCount) && st.SystemCPUCount > 0, "cpu count");
        assert(Number.isInteger(st.SystemMemoryMiB) && st.SystemMemoryMiB > 0, "memory");
        assert(Array.isArray(st.Connections), "Connections is an array");
        assert(Array.isArray(st.Advertisements), "Advertisements is an array");
        assertEquals(typeof st.RoutingTable, "object");
        assert(!Array.isArray(st.RoutingTable) && st.RoutingTable !== null, "RoutingTable object");
        assertEquals(typeof st.KnownConnectionCosts, "object");
        const ads = st.Advertisements as Record<string, unknown>[];
        const own = ads.find((a) => a.NodeID === "proto" && a.Service === "control");
        assert(own, `own control ad in ${JSON.stringify(ads)}`);
        assertEquals(
          Object.keys(own).sort(),
          ["ConnType", "NodeID", "Service", "Tags", "Time", "WorkCommands"],
        );
        assertEquals(own.ConnType, 1);
        assertEquals(own.Tags, { type: "Control Service" });
        assertMatch(String(own.Time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);

        // JSON command names are case-sensitive.
        assertEquals(await c.command('{"command":"Status"}'), "ERROR: Unknown command");
        const rf = JSON.parse(
          await c.command('{"command":"status","requested_fields":["Version","NodeID","Nope"]}'),
        );
        assertEquals(Object.keys(rf).sort(), ["NodeID", "Version"]);
        assertEquals(rf.NodeID, "proto");
        assertEquals(
          await c.command("status x"),
          "ERROR: status command does not take parameters",
        );
        assertEquals(await c.command("ping"), "ERROR: no ping target");
        assertEquals(await c.command('{"command":"ping"}'), "ERROR: no ping target");
        assertEquals(await c.command("traceroute"), "ERROR: no traceroute target");
        assertEquals(await c.command("frobnicate now"), "ERROR: Unknown command");
        const self = JSON.parse(await c.command("ping localhost"));
        assertEquals(self.Success, true);
        assertEquals(self.From, "proto");

        // Several commands in one write: each answered, in order. Empty lines get no reply.
        await c.write('status x\r\n\n{"command":"status","requested_fields":["NodeID"]}\nbogus\n');
        assertEquals(await c.readLine(), "ERROR: status command does not take parameters");
        assertEquals(await c.readLine(), '{"NodeID":"proto"}');
        assertEquals(await c.readLine(), "ERROR: Unknown command");

        // A final command without newline, then half-close: still answered, then EOF.
        await c.write('{"command":"status","requested_fields":["NodeID"]}');
        await c.closeWrite();
        assertEquals(await c.readLine(), '{"NodeID":"proto"}');
        assertEquals(await c.readLine(), null);
      } finally {
        c.close();
      }
    }
  } finally {
    await stopAll([node]);
  }
});

Deno.test("control: reload without -c is ERRORCODE 4", async () => {
  const dir = await tempDir("receptor-noreload-");
  const socket = `${dir}/n.sock`;
  const node = new NodeProcess("noreload", dir, socket, [
    "--node",
    "id=noreload",
    "--local-only",
    "--control-service",
    `filename=${socket}`,
  ]);
  try {
    await waitFor("noreload answers", async () => {
      if (node.exited) throw new Error(`node exited:\n${node.logText()}`);
      return (await ctlStatus(socket)).NodeID === "noreload";
    });
    const r = await ctlJson<{ Success: boolean; Error?: string }>(socket, "reload");
    assertEquals(r.Success, false);
    assertMatch(r.Error ?? "", /ERRORCODE 4$/);
  } finally {
    await stopAll([node]);
  }
});

Deno.test("control: reload restarts backends on a tcp-peer change, refuses a work-command change", async () => {
  const nodes: NodeProcess[] = [];
  try {
    const yPort = freePort();
    const zPort = freePort();
    const y = await startNode("nodey", (_d, s) => meshNodeYaml("nodey", yPort, [], s));
    nodes.push(y);
    const z = await startNode("nodez", (_d, s) => meshNodeYaml("nodez", zPort, [], s));
    nodes.push(z);
    const xPort = freePort();
    const work = `- work-command:
    worktype: echo
    command: cat
`;
    let xCfg = "";
    const x = await startNode("nodex", (d, s) => {
      xCfg = `${d}/nodex.yaml`;
      return meshNodeYaml("nodex", xPort, [yPort], s, work);
    });
    nodes.push(x);
    const conns = async () => (await ctlStatus(x.socket)).Connections.map((c) => c.NodeID);
    await waitFor("x connects to y", async () => (await conns()).includes("nodey"));

    // Change only the tcp-peer: reload succeeds and backends restart (x now peers with z).
    await Deno.writeTextFile(xCfg, meshNodeYaml("nodex", xPort, [zPort], x.socket, work));
    const ok = await ctlJson<{ Success: boolean; Error?: string }>(x.socket, "reload");
    assertEquals(ok, { Success: true });
    await waitFor("x peers with z and not y after reload", async () => {
      const c = await conns();
      return c.includes("nodez") && !c.includes("nodey");
    }, 20000);
    const after = await conns();
    assert(after.includes("nodez") && !after.includes("nodey"), `x's connections: ${after}`);
    const p = await ctlJson<{ Success: boolean; From?: string }>(x.socket, "ping nodez");
    assertEquals(p.Success, true);
    assertEquals(p.From, "nodez");

    // Change a work-command: non-reloadable, ERRORCODE 3; backends untouched.
    await Deno.writeTextFile(
      xCfg,
      meshNodeYaml("nodex", xPort, [zPort], x.socket, work.replace("command: cat", "command: tac")),
    );
    const bad = await ctlJson<{ Success: boolean; Error?: string }>(x.socket, "reload");
    assertEquals(bad.Success, false);
    assertMatch(bad.Error ?? "", /ERRORCODE 3$/);
    assertStringIncludes((await conns()).join(","), "nodez");
    // A file that no longer parses: ERRORCODE 4.
    await Deno.writeTextFile(xCfg, "- node:\n    id: [unclosed\n");
    const broken = await ctlJson<{ Success: boolean; Error?: string }>(x.socket, "reload");
    assertEquals(broken.Success, false);
    assertMatch(broken.Error ?? "", /ERRORCODE 4$/);
    await Deno.writeTextFile(
      xCfg,
      meshNodeYaml("nodex", xPort, [zPort], x.socket, work.replace("command: cat", "command: tac")),
    );
    // The JSON form reaches the same command.
    const bad2 = await ctlJson<{ Success: boolean; Error?: string }>(
      x.socket,
      '{"command":"reload"}',
    );
    assertMatch(bad2.Error ?? "", /ERRORCODE 3$/);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("control: AWX-style quoted permissions, bare-port tcplisten, clean shutdown removes the socket", async () => {
  const port = freePort();
  const node = await startNode("awx", (_d, s) =>
    basicYaml("awx", s).replace(
      "    service: control\n",
      `    service: control\n    permissions: '0660'\n    tcplisten: ${port}\n`,
    ));
  try {
    await waitFor("awx answers", async () => (await ctlStatus(node.socket)).NodeID === "awx");
    assertEquals(await modeOf(node.socket), 0o660, "permissions: '0660'");
    // A bare port binds every address, loopback included.
    const c = await CtlConn.open(`tcp://127.0.0.1:${port}`);
    try {
      assertEquals(c.banner, "Receptor Control, node awx");
      assertMatch(
        await c.command('{"command":"status","requested_fields":"Version"}'),
        /^ERROR: /,
      );
      const p = JSON.parse(await c.command("ping localhost"));
      assertEquals([p.Success, p.From], [true, "awx"]);
    } finally {
      c.close();
    }
    const st = await node.stop();
    assertEquals(st.code, 0, `SIGTERM exit code; log:\n${node.logText()}`);
    let gone = false;
    try {
      await Deno.stat(node.socket);
    } catch (e) {
      gone = e instanceof Deno.errors.NotFound;
    }
    assert(gone, "socket file removed on clean shutdown");
  } finally {
    await stopAll([node]);
  }
});

Deno.test("control: many concurrent sessions are each answered in order", async () => {
  const node = await startNode("busy", (_d, s) => basicYaml("busy", s));
  try {
    await waitFor("busy answers", async () => (await ctlStatus(node.socket)).NodeID === "busy");
    const sessions = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const c = await CtlConn.open(node.socket);
      try {
        const got: string[] = [];
        // Pipeline all commands in one write, then read the replies.
        await c.write(
          `{"command":"status","requested_fields":["NodeID"]}\nping localhost\nbogus${i}\n` +
            `status x\n{"command":"status","requested_fields":["Version"]}\n`,
        );
        for (let k = 0; k < 5; k++) got.push((await c.readLine(20000)) ?? "<EOF>");
        return got;
      } finally {
        c.close();
      }
    }));
    for (const got of sessions) {
      assertEquals(got[0], '{"NodeID":"busy"}');
      assertEquals(JSON.parse(got[1]).From, "busy");
      assertEquals(got[2], "ERROR: Unknown command");
      assertEquals(got[3], "ERROR: status command does not take parameters");
      assertEquals(Object.keys(JSON.parse(got[4])), ["Version"]);
    }
  } finally {
    await stopAll([node]);
  }
});
