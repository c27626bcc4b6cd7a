/**
 * A 5-node mesh with a cycle (a - b - c - d - a, plus leaf e on c) of real node processes:
 * converges; SIGKILL of the middle node on a's path to c re-routes through the other side of
 * the cycle; SIGKILL of the leaf withdraws its routes everywhere (ping fails with an error);
 * a restarted leaf (new epoch) rejoins and is routable again.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type Mesh, startMesh } from "../helpers/mesh.ts";
import { waitFor } from "../helpers/net.ts";

/** Idle timeout 21 s + update period 10 s + slack: routes must be withdrawn within this. */
const WITHDRAW_DEADLINE_MS = 40_000;

async function withLogs<T>(mesh: Mesh, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.stack : e}\n${mesh.logs()}`);
  }
}

Deno.test("mesh: cycle re-routes around a killed node, withdraws a dead leaf, accepts a restarted one", async () => {
  const nodes = ["a", "b", "c", "d", "e"];
  const mesh = await startMesh({
    nodes,
    edges: [["b", "a"], ["c", "b"], ["d", "c"], ["a", "d"], ["e", "c"]],
  });
  try {
    await withLogs(mesh, () => mesh.waitConverged(nodes, 30000));
    const before = await mesh.status("a");
    const viaC = before.RoutingTable.c;
    assert(viaC === "b" || viaC === "d", `a routes to c via b or d, got ${viaC}`);
    assertEquals(before.RoutingTable.e, viaC, "e is behind c");
    const other = viaC === "b" ? "d" : "b";
    const first = await mesh.ping("a", "e");
    assert(first.Success && first.From === "e", `ping a->e: ${JSON.stringify(first)}`);

    // Kill the middle node on a's path: routes move to the other side of the cycle.
    const killedAt = Date.now();
    await mesh.kill(viaC);
    // A ping needs both directions: a's route to e AND the reply path e -> c -> a. Each node
    // recomputes on its own (at most every 100 ms per burst), so a having re-routed says nothing
    // about c: wait for every node on the round trip before pinging.
    await withLogs(mesh, () =>
      waitFor(
        `a, c and e re-route via ${other}`,
        async () => {
          const s = await mesh.status("a");
          const tr = await mesh.status("c");
          const te = await mesh.status("e");
          return s.RoutingTable.c === other && s.RoutingTable.e === other &&
            !(viaC in s.RoutingTable) && tr.RoutingTable.a === other &&
            !(viaC in tr.RoutingTable) && te.RoutingTable.a === "c" &&
            !(viaC in te.RoutingTable);
        },
        WITHDRAW_DEADLINE_MS,
        200,
      ));
    const rerouteMs = Date.now() - killedAt;
    const tr = await mesh.status("c");
    assert(!(viaC in tr.RoutingTable), `c still routes to dead ${viaC}`);
    assertEquals(tr.RoutingTable.a, other);
    assertEquals((await mesh.status("e")).RoutingTable.a, "c", "e routes to a via c");
    const p = await mesh.ping("a", "e");
    assert(p.Success && p.From === "e", `ping a->e after re-route: ${JSON.stringify(p)}`);
    assert(rerouteMs < WITHDRAW_DEADLINE_MS, `re-route took ${rerouteMs} ms`);

    // Kill the leaf: it has no alternative path, so every node withdraws its route.
    await mesh.kill("e");
    const alive = nodes.filter((n) => n !== viaC && n !== "e");
    await withLogs(mesh, () =>
      waitFor(
        "routes to e withdrawn",
        async () => {
          for (const id of alive) {
            const s = await mesh.status(id);
            if ("e" in s.RoutingTable) return false;
            if (s.Connections.some((c) => c.NodeID === "e")) return false;
          }
          return true;
        },
        WITHDRAW_DEADLINE_MS,
        200,
      ));
    const dead = await mesh.ping("a", "e");
    assertEquals(dead.Success, false, `ping to dead e: ${JSON.stringify(dead)}`);
    assert(typeof dead.Error === "string" && dead.Error.length > 0, "ping error text");

    // Restart the leaf: new epoch, it must be accepted and routable again.
    await mesh.startMember("e");
    await withLogs(mesh, () => mesh.waitConverged([...alive, "e"], 30000));
    const s = await mesh.status("a");
    assertEquals(s.RoutingTable.e, other);
    const again = await mesh.ping("a", "e");
    assert(
      again.Success && again.From === "e",
      `ping a->e after restart: ${JSON.stringify(again)}`,
    );
    const fromE = await mesh.ping("e", "a");
    assert(
      fromE.Success && fromE.From === "a",
      `ping e->a after restart: ${JSON.stringify(fromE)}`,
    );

    // Restart the killed middle node too: the cycle is whole again.
    // Its own tcp-peer dials at once; the neighbour that dials it may be in redial back-off
    // (up to 20 s), so only routes are required here.
    await mesh.startMember(viaC);
    await withLogs(mesh, () => mesh.waitConverged(nodes, 30000, { allEdges: false }));
    const final = await mesh.ping(viaC, "e");
    assert(final.Success && final.From === "e", `ping ${viaC}->e: ${JSON.stringify(final)}`);
  } finally {
    await mesh.stop();
  }
});

Deno.test("mesh: a frozen node (SIGSTOP, socket stays open) is timed out by the idle limit and rejoins after SIGCONT", async () => {
  const nodes = ["p", "q", "r"];
  const mesh = await startMesh({ nodes, edges: [["q", "p"], ["r", "q"]] });
  try {
    await withLogs(mesh, () => mesh.waitConverged(nodes, 30000));
    const r = mesh.node("r").proc;
    const stoppedAt = Date.now();
    r.kill("SIGSTOP");
    try {
      // Nothing closes the TCP connection: q must cut it after 21-26 s of silence.
      await withLogs(
        mesh,
        () =>
          waitFor(
            "q times out frozen r and p withdraws its route",
            async () => {
              const q = await mesh.status("q");
              const p = await mesh.status("p");
              return !q.Connections.some((c) => c.NodeID === "r") && !("r" in p.RoutingTable);
            },
            WITHDRAW_DEADLINE_MS,
            250,
          ),
      );
      const took = Date.now() - stoppedAt;
      assert(took >= 20_000, `connection cut after only ${took} ms (idle limit is 21 s)`);
      const dead = await mesh.ping("p", "r");
      assertEquals(dead.Success, false, `ping to frozen r: ${JSON.stringify(dead)}`);
    } finally {
      r.kill("SIGCONT");
    }
    // Thawed, r finds its session gone, redials and is routable again.
    await withLogs(mesh, () => mesh.waitConverged(nodes, 30000));
    const back = await mesh.ping("p", "r");
    assert(back.Success && back.From === "r", `ping p->r after SIGCONT: ${JSON.stringify(back)}`);
  } finally {
    await mesh.stop();
  }
});
