/**
 * Sans-IO mesh scale benchmarks (issue 10), on the fake clock in one process:
 * - convergence of a random mesh (degree ~4) of 100 / 1,000 nodes: CPU seconds, peak heap,
 *   simulated time, messages;
 * - cost of one routing update (handleMessage, re-flood queued) at 1,000 and 10,000 known
 *   nodes, and one route computation (coalesced: at most one per 100 ms burst);
 * - heap per known node.
 *
 * Run alone: `deno run -A --v8-flags=--expose-gc scripts/bench_meshcore.ts [converge N | update N]`;
 * without arguments it runs every line, each in a child process (fresh heap), and prints them.
 * `deno task bench scale` runs it from the main bench.
 * @module
 */

import process from "node:process";
import { buildMesh, randomEdges, runUntilConverged } from "../tests/unit/mesh_scale.ts";
import { measureFedRouter, ringUpdate } from "../tests/unit/mesh_state_feed.ts";

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
// deno-lint-ignore no-explicit-any
const gc: (() => void) | undefined = (globalThis as any).gc;

const mib = (b: number) => (b / 2 ** 20).toFixed(0);

/** One line of results (printed as JSON by a child run). */
export interface ScaleResult {
  name: string;
  detail: string;
}

function converge(n: number): ScaleResult {
  gc?.();
  const c0 = cpu();
  const sim = buildMesh(n, randomEdges(n));
  let msgs = 0, peak = 0;
  sim.tap = () => {
    if (++msgs % 50_000 === 0) peak = Math.max(peak, Deno.memoryUsage().heapUsed);
    return true;
  };
  const simMs = runUntilConverged(sim, 250, 60_000);
  const c1 = cpu();
  peak = Math.max(peak, Deno.memoryUsage().heapUsed);
  gc?.(); // what the routers keep (peak above includes garbage not collected yet)
  const m = Deno.memoryUsage();
  const kept = gc ? `, kept ${mib(m.heapUsed)} MiB heap + ${mib(m.external)} MiB buffers` : "";
  return {
    name: `Mesh convergence, ${n} simulated nodes (random graph, degree ~4, fake clock)`,
    detail: `${(c1 - c0).toFixed(1)} s CPU, peak heap ${mib(peak)} MiB${kept}, ` +
      `converged after ${simMs < 0 ? "NEVER (60 s)" : `${simMs} ms`} simulated, ${msgs} messages`,
  };
}

function update(n: number): ScaleResult {
  const m = measureFedRouter(n);
  const f = m.keep;
  const perNode = m.bytesPerNode;
  // pre-encoded; half of them change the node's connections (edges move)
  const K = 5000;
  const msgs = Array.from({ length: K }, (_, k) => {
    const i = (k * 7919) % n;
    return ringUpdate(i, n, BigInt(10 + k), "feeder", `bench${k}`, k % 4 < 2);
  });
  const c0 = cpu();
  for (const m of msgs) {
    f.router.handleMessage(f.clock.now(), 1, m);
    f.drain();
  }
  const per = (cpu() - c0) / K;
  const c1 = cpu();
  for (let i = 0; i < 20; i++) {
    f.feed(i, 1_000_000n + BigInt(i), i % 2 === 0); // edges change: the routes are dirty
    f.clock.advance(200);
    f.router.handleTimeout(f.clock.now());
    f.drain();
  }
  const calc = (cpu() - c1) / 20;
  return {
    name: `One routing update at ${n} known nodes (handleMessage + queued re-flood)`,
    detail: `${(per * 1e6).toFixed(1)} µs CPU; one route computation ${
      (calc * 1e3).toFixed(1)
    } ms (at most one per 100 ms burst); heap + buffers ${
      (perNode / 1024).toFixed(2)
    } KiB per known node`,
  };
}

/** Every line, each in a fresh child process. */
export async function benchMeshScale(report: (name: string, detail: string) => void) {
  const runs: [string, number][] = [["converge", 100], ["converge", 1000], ["update", 1000], [
    "update",
    10_000,
  ]];
  const only = Deno.env.get("BENCH_MESH_SIZES")?.split(",").map(Number);
  for (const [kind, n] of runs) {
    if (only && !only.includes(n)) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        kind,
        `${n}`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    try {
      const r = JSON.parse(line) as ScaleResult;
      report(r.name, r.detail);
    } catch {
      report(`${kind} ${n}`, `FAILED (exit ${out.code})`);
    }
  }
}

if (import.meta.main) {
  const [kind, n] = Deno.args;
  if (kind === "converge") console.log(JSON.stringify(converge(Number(n))));
  else if (kind === "update") console.log(JSON.stringify(update(Number(n))));
  else await benchMeshScale((name, detail) => console.log(`${name}: ${detail}`));
}
