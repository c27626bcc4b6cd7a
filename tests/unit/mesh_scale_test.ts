import {
  buildMesh,
  convergedCount,
  nodeName,
  randomEdges,
  runUntilConverged,
} from "./mesh_scale.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { DEFAULT_LIMITS } from "../../src/mesh/limits.ts";

// Work is bounded by counting messages (deterministic), never by timing: the CPU it costs is
// in `deno task bench scale` and BENCHMARKS.md.

Deno.test("scale: 1,000-node random mesh (degree ~4) converges and reconverges after a cut", () => {
  const n = 1000;
  const edges = randomEdges(n);
  const sim = buildMesh(n, edges);
  let msgs = 0;
  sim.tap = () => (msgs++, true);
  const t1 = runUntilConverged(sim, 250, 30_000);
  assert(t1 > 0 && t1 <= 1000, `converged in ${t1} ms simulated`);
  // one flood of each node's update over every link, plus handshakes and replays: each of
  // the n updates crosses each of the 2|E| directed links about once
  const perRound = n * 2 * edges.length;
  // ...less the copies a node never sends back to a peer that sent it the update first, or
  // sent it while our copy was still queued (2.36 M of the 4 M here; 3.0 M without that)
  assert(msgs <= 0.7 * perRound, `${msgs} messages for ${perRound} per flood round`);

  // cut 100 links that are not in the spanning tree (the first n-1 edges): still connected
  const cut = edges.slice(n - 1, n - 1 + 100);
  for (const [i, j] of cut) sim.cutBetween(nodeName(i), nodeName(j));
  msgs = 0;
  // reconverged: a sample of nodes no longer knows any cut edge (both ends re-announced)
  const sample = [0, 137, 500, 999].map((k) => sim.r(nodeName(k)));
  const forgotten = () =>
    sample.every((r) => {
      const known = r.status().knownConnectionCosts;
      return cut.every(([i, j]) => known[nodeName(i)]?.[nodeName(j)] === undefined);
    });
  const t0 = sim.clock.now();
  while (!forgotten() && sim.clock.now() - t0 < 30_000) sim.run(250);
  const t2 = sim.clock.now() - t0;
  assert(forgotten() && t2 <= 1000, `reconverged in ${t2} ms simulated`);
  assertEquals(convergedCount(sim), n);
  assert(msgs > 0, "the cut's ends announced it");
  // the only new updates are the 200 ends' own: far less than a full round each
  assert(msgs <= 200 * 2 * edges.length * 1.5, `${msgs} messages to reconverge`);
  // traffic crosses the changed mesh from node 0 to a sample of nodes
  for (const k of [1, 137, 500, 999]) {
    const svc = sim.r(nodeName(k)).bindService(`e${k}`);
    assertEquals(
      sim.r(nodeName(0)).sendDatagram(sim.clock.now(), "x", nodeName(k), svc, new Uint8Array([k])),
      undefined,
    );
  }
  sim.drain();
  for (const k of [1, 137, 500, 999]) {
    assertEquals(sim.rec(nodeName(k)).datagrams.length, 1, `datagram reached ${nodeName(k)}`);
  }
});

Deno.test("scale: a node of a 10,000-node mesh stays within its documented memory bound", async () => {
  const n = 10_000;
  // in a child with --expose-gc, so the heap is measured after a full collection
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./mesh_state_feed.ts", import.meta.url).pathname,
      `${n}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(out.code, 0);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  assert(r.gc, "measured after a collection");
  assertEquals(r.routes, n + 2);
  const st = r.stats;
  assertEquals(st.knownNodes, n + 2);
  assert(st.knownNodes <= DEFAULT_LIMITS.maxKnownNodes);
  assert(st.seenIds <= DEFAULT_LIMITS.maxSeenIds);
  assert(st.names <= DEFAULT_LIMITS.maxNames);
  assert(st.storedUpdateBytes <= DEFAULT_LIMITS.maxStoredUpdateBytes);
  // README "Mesh limits and hostile peers": 1.2–1.7 KiB (heap + buffers) per known node of degree 4
  assert(r.bytesPerNode < 2048, `${r.bytesPerNode.toFixed(0)} bytes per known node`);
});
