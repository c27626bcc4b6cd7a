/**
 * Unit and memory benchmarks (issue 11), ours beside Go receptor when `RECEPTOR_GO_BINARY`
 * is set: remote work units per second (1 and 2 hops, 8 concurrent clients each submitting a
 * `true` unit, waiting for Succeeded and releasing it); RSS of every node at idle, after those
 * units are released, and after 256 MiB of remote results were streamed through them; then
 * the 2-hop rate once more on those same nodes (a node that has done all that must not be
 * slower). Each rate line gives the bench's own CPU per unit (the clients) and the load average.
 * `BENCH_SCALE=0.2` shrinks the counts; `BENCH_UNITS_RATE_ONLY=1` measures the rates only (no RSS
 * readings, no transfer). Run alone:
 * `./node_modules/deno/deno run -A scripts/bench_units.ts`.
 * @module
 */
import { ReceptorClient } from "../src/ctl/client.ts";
import { submitWork, workRelease, workResults, workStatus } from "../src/ctl/work_client.ts";
import {
  benchDir,
  cpuWithChildren,
  freePort,
  type Impl,
  impls,
  median,
  memMiB,
  type NodeProc,
  nodeYaml,
  row,
  startNode,
  status,
  stopAll,
  timeToStatus,
  until,
} from "./bench_nodes.ts";

const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");
/** Concurrent clients (`BENCH_UNITS_CLIENTS`, default 8). */
const CLIENTS = Number(Deno.env.get("BENCH_UNITS_CLIENTS") ?? "8");
const MiB = 1024 * 1024;
const TRANSFER = Math.max(1, Math.round(256 * SCALE)) * MiB;
/** Each client's `work status` poll period (both implementations alike). */
const POLL_MS = 50;
/** BENCH_UNITS_RATE_ONLY=1: only the units/s lines. */
const RATE_ONLY = !!Deno.env.get("BENCH_UNITS_RATE_ONLY");
/** How long nodes sit idle before "after" RSS readings. */
const IDLE_MS = 10000;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A line a ← b ← … of `hops + 1` nodes; the last runs `true` and `gen` (the transfer). */
async function startLine(impl: Impl, dir: string, hops: number): Promise<NodeProc[]> {
  const ids = Array.from({ length: hops + 1 }, (_, i) => `n${i}`);
  const ports = ids.map(() => freePort());
  const work = `- work-command:\n    worktype: "true"\n    command: "true"\n` +
    `- work-command:\n    worktype: gen\n    command: head\n    params: -c ${TRANSFER} /dev/zero\n`;
  const nodes = ids.map((id, i) =>
    startNode(
      impl,
      dir,
      id,
      nodeYaml(dir, id, {
        listen: ports[i],
        peers: i > 0 ? [ports[i - 1]] : [],
        extra: i === hops ? work : "",
      }),
    )
  );
  await Promise.all(nodes.map((n) => timeToStatus(n)));
  // a route is enough to submit (Go sends service advertisements only on its ad timer)
  const last = ids[hops];
  await until(async () => last in ((await status(nodes[0].socket)).RoutingTable as object), 60000);
  return nodes;
}

/**
 * Submit `true` on `target` from `socket`, wait for Succeeded, release; returns the ms spent
 * in each phase: submit, submitted → Succeeded seen, release.
 */
async function oneUnit(socket: string, target: string): Promise<number[]> {
  const t0 = performance.now();
  const sub = await submitWork(await ReceptorClient.connect(socket), "true", null, {
    node: target,
  });
  const t1 = performance.now();
  const c = await ReceptorClient.connect(socket);
  try {
    for (;;) {
      const st = await workStatus(c, sub.unitid);
      if (st.State === 3) throw new Error(`unit ${sub.unitid} failed: ${st.Detail}`);
      if (st.State === 2) break;
      await settle(POLL_MS);
    }
    const t2 = performance.now();
    await workRelease(c, sub.unitid);
    return [t1 - t0, t2 - t1, performance.now() - t2];
  } finally {
    c.close();
  }
}

/**
 * `count` units from CLIENTS concurrent clients: units per second including release, and the
 * CPU ms per unit of each node (with its reaped children: the runners).
 */
async function unitsPerSecond(nodes: NodeProc[], count: number): Promise<string> {
  const target = `n${nodes.length - 1}`;
  const cpu0 = nodes.map((n) => cpuWithChildren(n.child.pid));
  const self0 = cpuWithChildren(Deno.pid);
  let next = 0;
  const phases: number[][] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < count) {
      next++;
      phases.push(await oneUnit(nodes[0].socket, target));
    }
  }));
  // releases may finish in the background: wait until the submitting node lists none
  await until(async () => {
    const c = await ReceptorClient.connect(nodes[0].socket);
    try {
      return Object.keys(await c.command("work list")).length === 0;
    } finally {
      c.close();
    }
  }, 120000);
  const rate = count / ((performance.now() - t0) / 1000);
  const cpu = nodes.map((n, i) => (cpuWithChildren(n.child.pid) - cpu0[i]) * 1000 / count);
  const clients = (cpuWithChildren(Deno.pid) - self0) * 1000 / count;
  const med = (k: number) => median(phases.map((p) => p[k])).toFixed(0);
  return `${rate.toFixed(1)} units/s (${count}), CPU ms/unit ${
    cpu.map((c) => c.toFixed(0)).join("/")
  } (clients ${clients.toFixed(0)}), load ${loadAvg()}, median ms submit/to Succeeded/release ${
    med(0)
  }/${med(1)}/${med(2)}`;
}

/** Fetch `gen`'s results over the line; returns MB/s. */
async function transfer(nodes: NodeProc[]): Promise<number> {
  const socket = nodes[0].socket;
  const t0 = performance.now();
  const sub = await submitWork(await ReceptorClient.connect(socket), "gen", null, {
    node: `n${nodes.length - 1}`,
  });
  let bytes = 0;
  for await (const chunk of await workResults(await ReceptorClient.connect(socket), sub.unitid)) {
    bytes += chunk.length;
  }
  const mbps = bytes / MiB / ((performance.now() - t0) / 1000);
  const c = await ReceptorClient.connect(socket);
  await workRelease(c, sub.unitid, true);
  c.close();
  if (bytes !== TRANSFER) throw new Error(`transfer: got ${bytes} bytes, want ${TRANSFER}`);
  return mbps;
}

/** The 1-minute load average (/proc/loadavg). */
const loadAvg = () => Deno.readTextFileSync("/proc/loadavg").split(" ")[0];

const rssList = (nodes: NodeProc[]) => nodes.map((n) => memMiB(n.child.pid)).join(" / ");

/** One implementation: 1 hop and 2 hops; RSS at idle, after units, after the transfer. */
async function benchImpl(impl: Impl): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const small = Math.max(8, Math.round(200 * SCALE));
  const big = Math.max(8, Math.round(1000 * SCALE));
  let dir = benchDir("units1");
  let nodes = await startLine(impl, dir, 1);
  try {
    out.hop1 = await unitsPerSecond(nodes, small);
  } finally {
    await stopAll(nodes);
    Deno.removeSync(dir, { recursive: true });
  }
  dir = benchDir("units2");
  nodes = await startLine(impl, dir, 2);
  try {
    if (RATE_ONLY) {
      out.hop2 = await unitsPerSecond(nodes, big);
      return out;
    }
    await settle(3000);
    out.idle = `${rssList(nodes)} MiB`;
    out.hop2 = await unitsPerSecond(nodes, big);
    await settle(IDLE_MS);
    out.afterUnits = `${rssList(nodes)} MiB`;
    const rate = await transfer(nodes);
    out.transferRate = `${rate.toFixed(0)} MB/s`;
    await settle(IDLE_MS);
    out.afterTransfer = `${rssList(nodes)} MiB`;
    // what an operator's long-running node gives: the same nodes, after all of the above
    out.hop2again = await unitsPerSecond(nodes, small);
  } finally {
    await stopAll(nodes);
    Deno.removeSync(dir, { recursive: true });
  }
  return out;
}

/** Run every unit/memory line; returns Markdown rows. */
export async function benchUnits(): Promise<string[]> {
  const res = new Map<string, Record<string, string>>();
  for (const impl of impls()) res.set(impl.name, await benchImpl(impl));
  const line = (name: string, key: string) => {
    const cells: Record<string, string> = {};
    for (const [impl, r] of res) cells[impl] = r[key];
    return row(name, cells);
  };
  const rates = [
    line(`remote units/s, 1 hop, ${CLIENTS} clients (submit → Succeeded → released)`, "hop1"),
    line(`remote units/s, 2 hops, ${CLIENTS} clients`, "hop2"),
  ];
  if (RATE_ONLY) return rates;
  return [
    ...rates,
    line("RSS (private anon) MiB of n0 / n1 / n2, idle (3 nodes, 3 s after start)", "idle"),
    line("RSS (private anon) after those 2-hop units released (+10 s idle)", "afterUnits"),
    line(`remote results ${TRANSFER / MiB} MiB over 2 hops`, "transferRate"),
    line(
      `RSS (private anon) after the ${TRANSFER / MiB} MiB transfer (+10 s idle)`,
      "afterTransfer",
    ),
    line(
      `remote units/s, 2 hops, the same nodes again after those units and the transfer`,
      "hop2again",
    ),
  ];
}

if (import.meta.main) {
  const rows = await benchUnits();
  console.log("\n| measurement | result |\n|---|---|\n" + rows.join("\n"));
}
