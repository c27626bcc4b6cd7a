/**
 * `node` key `duplicatenotice: stay` (README "Duplicate node IDs (credibility rule)"), with real
 * node processes: the ring v–m, v–k, m–k, and a hostile peer `evil` attached to `m` only that
 * forges duplicate notices naming `v`'s current epoch. `m` floods them to `v` and to `k`, and `k`
 * to `v`, so `v` hears them over two links: credible, which stops a node with the default `exit`
 * (the documented boundary, pinned by the unit test of the same ring). `v` has `stay`: it logs
 * the credible notice, keeps running and answers pings — the config key reaches the router.
 */
import { assert } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { meshNodeYaml, startMesh } from "../helpers/mesh.ts";
import { HostilePeer, randomId } from "../helpers/hostile_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const HONEST = ["v", "m", "k"];
/** Longer than the ~20 s after which notices over two links are credible. */
const FORGE_MS = 26_000;
/** What `v` logs for a credible notice it does not act on (src/mesh/routing_updates.ts). */
const KEPT_UP = "duplicatenotice: stay keeps us up";

Deno.test(
  "duplicate notice: with duplicatenotice: stay, a ring forger's credible notices do not stop the node",
  opts,
  async () => {
    const mesh = await startMesh({
      nodes: HONEST,
      edges: [["v", "m"], ["v", "k"], ["k", "m"]],
    }, {
      tempPrefix: "receptor-dupstay-",
      nodeYaml: (id, m, peers, extra) => {
        const yaml = meshNodeYaml(id, m.port, peers, m.socket, extra);
        return id === "v"
          ? yaml.replace(`    id: v\n`, `    id: v\n    duplicatenotice: stay\n`)
          : yaml;
      },
    });
    try {
      await mesh.waitConverged(HONEST, 40_000);
      const evil = await HostilePeer.connect(mesh.node("m").port, "evil");
      try {
        await waitFor("epoch of v", () => evil.epochs.has("v"));
        const end = Date.now() + FORGE_MS;
        while (Date.now() < end && evil.alive) {
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
      } finally {
        evil.close();
      }
    } catch (e) {
      console.error(mesh.logs().slice(-20_000));
      throw e;
    } finally {
      await mesh.stop();
    }
  },
);
