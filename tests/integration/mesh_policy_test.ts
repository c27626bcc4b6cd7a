/**
 * Mesh policies with real node processes: a second node with an existing node's ID, joining
 * elsewhere in the mesh over two links, is detected as the duplicate and, with
 * `duplicatenotice: exit`, shuts down while the original keeps working (wire.md §5.5, README "Duplicate node IDs (credibility rule)"); a
 * listener's `allowedpeers` refuses other node IDs (§3.2).
 * @module
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { ctlStatus, meshNodeYaml, nodeYaml, startMesh } from "../helpers/mesh.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { startNode, stopAll } from "../helpers/node_process.ts";

Deno.test("mesh: a later node with a duplicate ID shuts down; the original keeps working", async () => {
  const nodes = ["da", "db", "dc", "dd"];
  const mesh = await startMesh({ nodes, edges: [["db", "da"], ["dc", "db"], ["dd", "db"]] });
  const extra = [];
  try {
    await mesh.waitConverged(nodes, 30000);
    // Wait a second so the duplicate's epoch (start time based) is clearly larger.
    await new Promise((r) => setTimeout(r, 1100));
    await Deno.mkdir(`${mesh.root}/dup`);
    // two links (dc, dd): the original's notices reach it over both, which makes them
    // credible; `duplicatenotice: exit` (Go's behaviour; the default `stay` keeps it up)
    const dup = await startNode(
      "da",
      (_d, s) =>
        nodeYaml({
          id: "da",
          port: freePort(),
          peers: [mesh.node("dc").port, mesh.node("dd").port],
          socket: s,
          nodeLines: ["    duplicatenotice: exit"],
        }),
      { dir: `${mesh.root}/dup` },
    ).catch((e) => {
      throw new Error(`${e}\n${mesh.logs()}`);
    });
    extra.push(dup);
    // ~20 s expected (three epochs named over two update periods, README "Duplicate node IDs").
    // The timer is cleared so it cannot fire during (and fail) the next test.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const st = await Promise.race([
      dup.wait(),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), 30000))),
    ]).finally(() => clearTimeout(timer));
    assert(st !== null, `duplicate node still running after 30 s:\n${dup.logText()}`);
    assertEquals(st.code, 1, `duplicate exit code:\n${dup.logText()}`);
    assertMatch(dup.logText(), /duplicate/i);
    // The original is unharmed and routable from the far end. (dc dropped edge db->da when
    // the duplicate's update arrived; it comes back with db's next periodic update, ~10 s.)
    assert(!mesh.node("da").proc.exited, "original da exited");
    const ping = await waitFor(
      "dc pings the original da",
      async () => {
        const p = await mesh.ping("dc", "da");
        return p.Success && p.From === "da" ? p : null;
      },
      20000,
      500,
    );
    assert(ping.Success, `ping dc->da: ${ping.Error}`);
    assertEquals(ping.From, "da");
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
    assertMatch(gate.logText(), /stranger/);
    const s = await ctlStatus(gate.socket);
    assert(!s.Connections.some((c) => c.NodeID === "stranger"), "stranger must not connect");
    const ss = await ctlStatus(stranger.socket);
    assert(!ss.Connections.some((c) => c.NodeID === "gate"), "stranger must not see gate");
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("mesh: a backend connection that never identifies itself is dropped after 11 initial updates", async () => {
  const port = freePort();
  const node = await startNode("silent", (_d, s) => meshNodeYaml("silent", port, [], s));
  try {
    // the control socket can be up a moment before the listener: retry until it accepts
    const conn = await waitFor(
      `silent listening on ${port}`,
      () => Deno.connect({ hostname: "127.0.0.1", port }),
    );
    // A listener waits for the peer's first bytes before it starts the handshake (a silent
    // connection is closed at handshaketimeout instead): say something that is no
    // identification — an empty frame, which is skipped.
    await conn.write(Uint8Array.of(0, 0));
    const started = Date.now();
    let buf = new Uint8Array(0);
    const updates: string[] = [];
    const chunk = new Uint8Array(65536);
    const timer = setTimeout(() => conn.close(), 20000);
    try {
      while (true) {
        const n = await conn.read(chunk).catch(() => null);
        if (n === null) break;
        const b = new Uint8Array(buf.length + n);
        b.set(buf);
        b.set(chunk.subarray(0, n), buf.length);
        buf = b;
        while (buf.length >= 2 && buf.length >= 2 + (buf[0] | (buf[1] << 8))) {
          const len = buf[0] | (buf[1] << 8);
          const msg = buf.subarray(2, 2 + len);
          assertEquals(msg[0], 1, "only routing updates before identification");
          updates.push(new TextDecoder().decode(msg.subarray(1)));
          buf = buf.slice(2 + len);
        }
      }
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed */ }
    }
    const took = Date.now() - started;
    assertEquals(updates.length, 11, `initial updates before giving up (${took} ms)`);
    assert(took >= 9000 && took < 15000, `gave up after ${took} ms, expected ~10 s`);
    const first = JSON.parse(updates[0]);
    assertEquals(first.NodeID, "silent");
    assertEquals(first.ForwardingNode, "silent");
    assertEquals(first.Connections, {});
    // Sequence numbers grow by one per initial message.
    const seqs = updates.map((u) => Number(/"UpdateSequence":(\d+)/.exec(u)![1]));
    for (let i = 1; i < seqs.length; i++) assertEquals(seqs[i], seqs[i - 1] + 1);
    assert(!node.exited, "node still running");
  } finally {
    await stopAll([node]);
  }
});

Deno.test("mesh: nodecost on a listener sets the link cost; a peer that disagrees is rejected", async () => {
  const lPort = freePort();
  const nodes = [];
  try {
    const hub = await startNode(
      "hub",
      (_d, s) =>
        meshNodeYaml("hub", lPort, [], s).replace(
          `    port: ${lPort}\n`,
          `    port: ${lPort}\n    nodecost:\n      pricey: 2.5\n`,
        ),
    );
    nodes.push(hub);
    const pricey = await startNode(
      "pricey",
      (_d, s) =>
        meshNodeYaml("pricey", freePort(), [lPort], s).replace(
          `    address: 127.0.0.1:${lPort}\n`,
          `    address: 127.0.0.1:${lPort}\n    cost: 2.5\n`,
        ),
    );
    nodes.push(pricey);
    const cheap = await startNode(
      "cheap",
      (_d, s) =>
        meshNodeYaml("cheap", freePort(), [lPort], s).replace(
          `    address: 127.0.0.1:${lPort}\n`,
          `    address: 127.0.0.1:${lPort}\n    cost: 3\n`,
        ),
    );
    nodes.push(cheap);
    await waitFor("pricey connects to hub at cost 2.5", async () => {
      const s = await ctlStatus(hub.socket);
      return s.Connections.some((c) => c.NodeID === "pricey" && c.Cost === 2.5) &&
        s.KnownConnectionCosts.pricey?.hub === 2.5;
    }, 20000);
    const ps = await ctlStatus(pricey.socket);
    assertEquals(ps.Connections, [{ NodeID: "hub", Cost: 2.5 }]);
    await waitFor(
      "hub rejects cheap over the cost disagreement",
      () => /disagree/.test(hub.logText() + cheap.logText()),
      20000,
    );
    assertMatch(hub.logText() + cheap.logText(), /disagree/);
    const hs = await ctlStatus(hub.socket);
    assert(!hs.Connections.some((c) => c.NodeID === "cheap"), JSON.stringify(hs.Connections));
    assert(!("cheap" in hs.RoutingTable), "no route to a rejected peer");
  } finally {
    await stopAll(nodes);
  }
});
