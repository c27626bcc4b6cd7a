/**
 * A hostile peer against a 4-node mesh of real node processes (issue 10). The mesh is a line
 * a–b–c–d; the hostile peer `evil` completes the handshake with `a` (the victim) and then:
 *
 * - floods well-formed routing updates (new node IDs), oversized node and update IDs and
 *   service ads for {@link FLOOD_MS}: afterwards every honest node's RSS is within
 *   {@link RSS_BOUND_KIB} of its baseline, honest pings answer within {@link PING_DEADLINE_MS},
 *   and no honest link flapped — also with a CPU burner running;
 * - forges duplicate notices naming `a` (its neighbour) and `b` (two hops away), following each
 *   new epoch for {@link FORGE_MS}: both stay up, re-announcing with back-off (each hears the
 *   notices over one link only: the line has no second path from `evil` to them) — under the
 *   opt-in `duplicatenotice: exit`, so the credibility rule is what keeps them up (the default
 *   `stay` never exits);
 * - claims a cheap edge to `d`: traffic from `a` to `d` still goes through `b`, never `evil`.
 *
 * These need the router side of issue 10 (branch `meshcore`): limits, coalesced queues,
 * the duplicate-notice credibility rule and edge confirmation.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { type Mesh, meshNodeYaml, startMesh } from "../helpers/mesh.ts";
import { HostilePeer, randomId, rssKiB, settledRss } from "../helpers/hostile_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const HONEST = ["a", "b", "c", "d"];
/** How long the hostile peer floods. */
const FLOOD_MS = 10_000;
/**
 * Node limits (README "Limits") lowered so that the flood (typically 2,000–18,000 new node IDs
 * and as many ads, depending on the machine) runs into them within the test's time, and the RSS
 * bound below says something about the limits rather than about how long the flood ran.
 */
const LIMITS = [
  "maxknownnodes: 2000",
  "maxnames: 6000",
  "maxseenids: 20000",
  "maxstoredupdatebytes: 4194304",
  "maxads: 2000",
].map((l) => `    ${l}\n`).join("");
/** Allowed RSS growth of each honest node over its baseline after the flood (KiB). */
const RSS_BOUND_KIB = 80 * 1024;
/** How long after the flood the nodes have to get back within the bound (garbage collection). */
const RSS_SETTLE_MS = 30_000;
/**
 * How long the forger keeps sending duplicate notices: longer than the ~20 s over which notices
 * naming three successive epochs make a notice credible when they arrive over two links.
 */
const FORGE_MS = 26_000;
/** An honest ping must be answered within this after the flood. */
const PING_DEADLINE_MS = 5_000;

/** Runs `fn` with the line mesh up; `nodeLines`: more `node` keys for every honest node. */
async function withMesh(fn: (mesh: Mesh) => Promise<void>, nodeLines = ""): Promise<void> {
  const mesh = await startMesh({
    nodes: HONEST,
    edges: [["b", "a"], ["c", "b"], ["d", "c"]],
  }, {
    tempPrefix: "receptor-hostile-",
    nodeYaml: (id, m, peers, extra) =>
      meshNodeYaml(id, m.port, peers, m.socket, extra).replace(
        `    id: ${id}\n`,
        `    id: ${id}\n${LIMITS}${nodeLines}`,
      ),
  });
  try {
    await mesh.waitConverged(HONEST, 40_000);
    await fn(mesh);
  } catch (e) {
    console.error(mesh.logs().slice(-20_000));
    throw e;
  } finally {
    await mesh.stop();
  }
}

/** Every honest node answers a ping to every other one, each within the deadline. */
async function pingAll(mesh: Mesh): Promise<void> {
  for (const from of HONEST) {
    for (const to of HONEST) {
      if (from === to) continue;
      const t0 = Date.now();
      const r = await mesh.ping(from, to);
      const ms = Date.now() - t0;
      assert(r.Success, `ping ${from} → ${to} failed: ${r.Error}`);
      assert(ms <= PING_DEADLINE_MS, `ping ${from} → ${to} took ${ms} ms`);
    }
  }
}

/** Log lines of honest links going down or coming up again since line `from` of each log. */
function flaps(mesh: Mesh, marks: Map<string, number>): string[] {
  const re = new RegExp(
    `Connection with (${HONEST.join("|")}) closed|Timing out connection (${HONEST.join("|")})\\b|` +
      `Connection established with (${HONEST.join("|")})\\b`,
  );
  return HONEST.flatMap((id) =>
    mesh.node(id).proc.log.slice(marks.get(id)).filter((l) => re.test(l)).map((l) => `${id}: ${l}`)
  );
}

/** A busy loop in its own process, for `ms`. */
function cpuBurner(ms: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", `const end = Date.now() + ${ms}; let x = 0; while (Date.now() < end) x++;`],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function floodScenario(burn: boolean): Promise<void> {
  await withMesh(async (mesh) => {
    const base = new Map<string, number>();
    for (const id of HONEST) base.set(id, await settledRss(mesh.node(id).proc.pid));
    const marks = new Map(HONEST.map((id) => [id, mesh.node(id).proc.log.length]));
    const burner = burn ? cpuBurner(FLOOD_MS + 15_000) : undefined;
    const evil = await HostilePeer.connect(mesh.node("a").port, "evil");
    try {
      const part = FLOOD_MS / 4;
      // bounded in time and in count (the oversized phases would otherwise send 60+ MiB)
      const stats = [
        // many new node IDs
        await evil.floodUpdates({ durationMs: part, idLength: 24, maxMessages: 30_000 }),
        // oversized node IDs (2 KiB each, 9 per update)
        await evil.floodUpdates({ durationMs: part, idLength: 2048, fanout: 8, maxMessages: 1500 }),
        // oversized UpdateIDs (20 KB)
        await evil.floodUpdates({ durationMs: part, updateIdLength: 20_000, maxMessages: 1500 }),
        // ads, half of them far in the future
        await evil.floodAds({ durationMs: part, maxMessages: 30_000 }),
      ];
      const sent = stats.map((s) => `${s.messages} msgs/${(s.bytes / 1048576).toFixed(1)} MiB`);
      console.log(`flood${burn ? " (CPU burner)" : ""}: ${sent.join(", ")}`);
      assert(stats[0].messages > 500, `the flood was too small to mean anything: ${sent}`);
      await pingAll(mesh);
      // RSS right after the flood still holds its garbage; V8 returns it within seconds
      let last = "";
      await waitFor(
        `every honest node within ${RSS_BOUND_KIB} KiB of its baseline`,
        () => {
          const now = HONEST.map((id) => [id, rssKiB(mesh.node(id).proc.pid) - base.get(id)!]);
          last = now.map(([id, kib]) => `${id} +${kib} KiB`).join(", ");
          return now.every(([, kib]) => (kib as number) <= RSS_BOUND_KIB);
        },
        RSS_SETTLE_MS,
        500,
      ).catch((e) => {
        throw new Error(`${e.message}; last: ${last}`);
      });
      console.log(`RSS over baseline after the flood: ${last}`);
      for (const id of HONEST) assert(!mesh.node(id).proc.exited, `${id} exited`);
      assertEquals(flaps(mesh, marks), [], "honest links flapped");
    } finally {
      evil.close();
      if (burner) {
        try {
          burner.kill("SIGKILL");
        } catch { /* done */ }
        await burner.status;
      }
    }
  });
}

Deno.test(
  "hostile: routing-update, oversized-ID and ad flood — bounded memory, pings answer, no flaps",
  opts,
  () => floodScenario(false),
);

Deno.test(
  "hostile: the same flood on a host kept busy by a CPU burner",
  opts,
  () => floodScenario(true),
);

Deno.test(
  "hostile: forged duplicate notices from one and two hops away, following every new epoch for " +
    `${FORGE_MS / 1000} s — nodes stay up`,
  opts,
  async () => {
    await withMesh(async (mesh) => {
      const evil = await HostilePeer.connect(mesh.node("a").port, "evil");
      try {
        await waitFor("epochs of a and b", () => evil.epochs.has("a") && evil.epochs.has("b"));
        // notices naming each target's current epoch (learnt from its updates, which it
        // re-announces after each notice) several times a second: one link into each target
        const end = Date.now() + FORGE_MS;
        let sent = 0;
        while (Date.now() < end && evil.alive) {
          for (const target of ["a", "b"]) {
            const epoch = evil.epochs.get(target)!;
            await evil.sendUpdate({
              NodeID: target,
              UpdateEpoch: epoch + 1n,
              SuspectedDuplicate: epoch,
              Connections: {},
              UpdateID: randomId(8),
            });
            sent++;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        console.log(`forged ${sent} duplicate notices over ${FORGE_MS / 1000} s`);
        for (const target of ["a", "b"]) {
          const log = mesh.node(target).proc.log;
          const bumps = log.filter((l) => l.includes("DUPLICATE NODE NOTICE")).length;
          // back-off 1, 2, 4, 8, 16 s: at most 1 + log2(FORGE_MS / 1 s) re-announcements
          const most = 1 + Math.ceil(Math.log2(FORGE_MS / 1000));
          assert(bumps >= 2 && bumps <= most, `${target} re-announced ${bumps} times`);
          assert(!log.some((l) => l.includes("We are a duplicate node")), `${target} believed it`);
        }
        await pingAll(mesh);
        for (const id of HONEST) assert(!mesh.node(id).proc.exited, `${id} exited`);
        assert(evil.alive, "the victim kept the connection");
      } finally {
        evil.close();
      }
    }, "    duplicatenotice: exit\n");
  },
);

Deno.test("hostile: a cheap-edge lie does not divert traffic through the liar", opts, async () => {
  await withMesh(async (mesh) => {
    const evil = await HostilePeer.connect(mesh.node("a").port, "evil");
    try {
      // evil claims d at a tiny cost: a→evil→d (1.01) would beat a→b→c→d (3)
      await evil.claimEdges({ d: 0.01 });
      await waitFor("a to learn evil's claim", async () => {
        const s = await mesh.status("a");
        return s.KnownConnectionCosts["evil"]?.["d"] !== undefined;
      }, 15_000);
      const before = evil.received[0];
      for (let i = 0; i < 3; i++) {
        const r = await mesh.ping("a", "d");
        assert(r.Success, `ping a → d: ${r.Error}`);
        await evil.claimEdges({ d: 0.01 }); // keep lying
      }
      const s = await mesh.status("a");
      assertEquals(s.RoutingTable["d"], "b", `a routes to d via ${s.RoutingTable["d"]}`);
      assertEquals(evil.received[0] - before, 0, "data for d reached the liar");
    } finally {
      evil.close();
    }
  });
});
