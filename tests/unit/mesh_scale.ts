/**
 * Big simulated meshes for the scale test and the mesh benchmark: a seeded random connected
 * graph of average degree ~4 on the fake clock. Not a test file itself.
 * @module
 */

import { Sim } from "./mesh_sim.ts";

/** A random connected graph: a random spanning tree plus random extra edges (`n * degree / 2` in all). */
export function randomEdges(n: number, degree = 4, seed = 12345): [number, number][] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const edges = new Set<string>();
  const out: [number, number][] = [];
  const add = (i: number, j: number) => {
    const k = i < j ? `${i},${j}` : `${j},${i}`;
    if (i === j || edges.has(k)) return;
    edges.add(k);
    out.push([i, j]);
  };
  for (let i = 1; i < n; i++) add(Math.floor(rnd() * i), i);
  while (out.length < (n * degree) / 2) add(Math.floor(rnd() * n), Math.floor(rnd() * n));
  return out;
}

/** Node name of index `i`. */
export const nodeName = (i: number) => `node-${i}`;

/** A sim of `n` routers linked by `edges` (nothing exchanged yet). */
export function buildMesh(n: number, edges: [number, number][]): Sim {
  const sim = new Sim();
  sim.logLevel = "warning";
  for (let i = 0; i < n; i++) sim.addNode(nodeName(i));
  for (const [i, j] of edges) sim.link(nodeName(i), nodeName(j));
  return sim;
}

/** How many nodes route to every other node. */
export function convergedCount(sim: Sim): number {
  const n = sim.nodes.size;
  let ok = 0;
  for (const rec of sim.nodes.values()) {
    if (rec.router.routeCount() === n - 1) ok++;
  }
  return ok;
}

/**
 * Run in steps of `stepMs` until every node routes to every other (or `maxMs` passes);
 * returns the simulated ms it took, or -1.
 */
export function runUntilConverged(sim: Sim, stepMs: number, maxMs: number): number {
  const start = sim.clock.now();
  while (sim.clock.now() - start < maxMs) {
    sim.run(stepMs);
    if (convergedCount(sim) === sim.nodes.size) return sim.clock.now() - start;
  }
  return -1;
}
