/**
 * `node` key `duplicatenotice` (README "Duplicate node IDs (credibility rule)"), with real node
 * processes: the ring v–m, v–k, m–k, and a hostile peer `evil` attached to `m` only that forges
 * duplicate notices naming `v`'s current epoch. `m` floods them to `v` and to `k`, and `k` to
 * `v`, so `v` hears them over two links: credible. With the key not set (the default, `stay`)
 * `v` logs the credible notice, names `exit` as the way to Go's behaviour, keeps running and
 * answers pings. With `duplicatenotice: exit` the same notices stop it, as Go's would — the key
 * reaches the router both ways.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { type Mesh, meshNodeYaml, startMesh } from "../helpers/mesh.ts";
import { HostilePeer, randomId } from "../helpers/hostile_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const HONEST = ["v", "m", "k"];
/** Longer than the ~20 s after which notices over two links are credible. */
const FORGE_MS = 26_000;
/** What `v` logs for a credible notice it does not act on (src/mesh/routing_updates.ts). */
const KEPT_UP = "duplicatenotice: stay keeps us up; set duplicatenotice: exit";

/**
 * The ring, `v` with `vLines` (extra `node` keys) in its config, `evil` forging notices for up
 * to {@link FORGE_MS} (until `v` exits); then `check` with the mesh.
 */
async function ring(vLines: string, check: (mesh: Mesh) => Promise<void>): Promise<void> {
  const mesh = await startMesh({
    nodes: HONEST,
    edges: [["v", "m"], ["v", "k"], ["k", "m"]],
  }, {
    tempPrefix: "receptor-dupring-",
    nodeYaml: (id, m, peers, extra) => {
      const yaml = meshNodeYaml(id, m.port, peers, m.socket, extra);
      return id === "v" ? yaml.replace(`    id: v\n`, `    id: v\n${vLines}`) : yaml;
    },
  });
  try {
    await mesh.waitConverged(HONEST, 40_000);
    const evil = await HostilePeer.connect(mesh.node("m").port, "evil");
    try {
      await waitFor("epoch of v", () => evil.epochs.has("v"));
      const end = Date.now() + FORGE_MS;
      while (Date.now() < end && evil.alive && !mesh.node("v").proc.exited) {
        const epoch = evil.epochs.get("v")!;
        await evil.sendUpdate({
          NodeID: "v",
          UpdateEpoch: epoch + 1n,
          SuspectedDuplicate: epoch,
          Connections: {},
          UpdateID: randomId(8),
        });
        await new Promise((r) => setTimeout(r, 200));
      }
      await check(mesh);
    } finally {
      evil.close();
    }
  } catch (e) {
    console.error(mesh.logs().slice(-20_000));
    throw e;
  } finally {
    await mesh.stop();
  }
}

Deno.test(
  "duplicate notice: by default (duplicatenotice not set), a ring forger's credible notices do not stop the node",
  opts,
  () =>
    ring("", async (mesh) => {
      const log = mesh.node("v").proc.log;
      const kept = log.filter((l) => l.includes(KEPT_UP));
      assert(kept.length >= 1, `v never found a notice credible:\n${log.join("\n")}`);
      assert(/via (m, k|k, m)/.test(kept[0]), `both links named: ${kept[0]}`);
      assert(!log.some((l) => l.includes("We are a duplicate node")), "v believed it");
      for (const id of HONEST) assert(!mesh.node(id).proc.exited, `${id} exited`);
      for (const from of ["m", "k"]) {
        const r = await mesh.ping(from, "v");
        assert(r.Success, `ping ${from} → v failed: ${r.Error}`);
      }
    }),
);

Deno.test(
  "duplicate notice: with duplicatenotice: exit, the same ring forger stops the node, as Go's would",
  opts,
  () =>
    ring("    duplicatenotice: exit\n", async (mesh) => {
      const v = mesh.node("v").proc;
      const st = await v.wait();
      assertEquals(st.code, 1, v.logText());
      const bye = v.log.filter((l) => l.includes("We are a duplicate node"));
      assertEquals(bye.length, 1, v.logText());
      assert(/via (m, k|k, m)/.test(bye[0]), `both links named: ${bye[0]}`);
      assert(bye[0].includes("Shutting down (duplicatenotice: exit)"), bye[0]);
      assert(!v.log.some((l) => l.includes(KEPT_UP)), "exit logged the stay line");
      for (const id of ["m", "k"]) assert(!mesh.node(id).proc.exited, `${id} exited`);
    }),
);
