/**
 * Start-up benchmarks (issue 11), ours beside Go receptor when `RECEPTOR_GO_BINARY` is set:
 * `--version` wall time; exec → first `status` reply on the control socket (idle, and with a
 * CPU burner per core); idle RSS of a fresh node; a 4-node line started together until both
 * ends route to all nodes. Run alone: `./node_modules/deno/deno run -A scripts/bench_start.ts`.
 * @module
 */
import {
  benchDir,
  cpuBurner,
  freePort,
  type Impl,
  impls,
  median,
  memMiB,
  nodeYaml,
  row,
  startNode,
  status,
  stopAll,
  timeToStatus,
  until,
} from "./bench_nodes.ts";

const f0 = (x: number) => x.toFixed(0);

/** CPU ms (user+system) of this process's reaped children so far (cutime+cstime, 10 ms ticks). */
function reapedChildrenCpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return (f[13] + f[14]) * 10;
}

/** Wall and CPU samples of one program's runs. */
interface Runs {
  wall: number[];
  cpuMs: number;
}

/**
 * `--version` of each program and Deno's hello world, interleaved (one run of each per round, the
 * order alternating) so that the machine's load falls on all alike: wall median and min over `n`
 * rounds, and CPU per run (user+system, mean: the share of the machine it costs, steadier than
 * wall time on a loaded host).
 */
async function versionRuns(progs: Impl[], n = 20): Promise<Map<string, string>> {
  const runs = new Map<string, Runs>(progs.map((p) => [p.name, { wall: [], cpuMs: 0 }]));
  for (let i = 0; i < n; i++) {
    for (const p of i % 2 ? [...progs].reverse() : progs) {
      const [cmd, ...args] = p.argv(["--version"]);
      const r = runs.get(p.name)!;
      const cpu0 = reapedChildrenCpuMs();
      const t0 = performance.now();
      await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
      r.wall.push(performance.now() - t0);
      r.cpuMs += reapedChildrenCpuMs() - cpu0;
    }
  }
  const out = new Map<string, string>();
  for (const [name, r] of runs) {
    const wall = `median ${f0(median(r.wall))} ms (min ${f0(Math.min(...r.wall))})`;
    out.set(name, `${wall}, CPU ${(r.cpuMs / n).toFixed(1)} ms`);
  }
  return out;
}

/** exec → status for a node with a control socket and a tcp listener; median of `n`. */
async function execToStatus(impl: Impl, n = 7): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const dir = benchDir("start");
    const node = startNode(impl, dir, "a", nodeYaml(dir, "a", { listen: freePort() }));
    try {
      xs.push(await timeToStatus(node));
    } finally {
      await stopAll([node]);
      Deno.removeSync(dir, { recursive: true });
    }
  }
  return median(xs);
}

/** RSS of a fresh node (control socket + tcp listener) after 3 s idle. */
async function idleRss(impl: Impl): Promise<string> {
  const dir = benchDir("rss");
  const node = startNode(impl, dir, "a", nodeYaml(dir, "a", { listen: freePort() }));
  try {
    await timeToStatus(node);
    await new Promise((r) => setTimeout(r, 3000));
    return memMiB(node.child.pid);
  } finally {
    await stopAll([node]);
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Does `socket`'s node route to every node in `ids` (other than itself)? */
async function routesAll(socket: string, ids: string[]): Promise<boolean> {
  const s = await status(socket);
  const rt = (s.RoutingTable ?? {}) as Record<string, unknown>;
  return ids.every((id) => id === s.NodeID || id in rt);
}

/** 4-node line n1 ← n2 ← n3 ← n4 started at once: ms until n1 and n4 route to all. */
async function convergence(impl: Impl): Promise<number> {
  const dir = benchDir("conv");
  const ports = [freePort(), freePort(), freePort(), freePort()];
  const ids = ["n1", "n2", "n3", "n4"];
  const nodes = ids.map((id, i) =>
    startNode(
      impl,
      dir,
      id,
      nodeYaml(dir, id, { listen: ports[i], peers: i > 0 ? [ports[i - 1]] : [] }),
    )
  );
  try {
    const t0 = nodes[0].t0;
    await until(
      async () => (await routesAll(nodes[0].socket, ids)) && routesAll(nodes[3].socket, ids),
      60000,
      10,
    );
    return performance.now() - t0;
  } finally {
    await stopAll(nodes);
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Run every start-up line; returns Markdown rows. */
export async function benchStart(): Promise<string[]> {
  const rows: string[] = [];
  const all = impls();
  const each = async (name: string, f: (i: Impl) => Promise<string>) => {
    const cells: Record<string, string> = {};
    for (const impl of all) cells[impl.name] = await f(impl);
    rows.push(row(name, cells));
  };
  // context: the runtime's own floor on this machine at this moment, run in the same rounds
  const hello = `${benchDir("hello")}/hello.js`;
  Deno.writeTextFileSync(hello, 'console.log("hello")\n');
  const helloImpl: Impl = { name: "hello", argv: () => [Deno.execPath(), "run", hello] };
  const v = await versionRuns([...all, helloImpl]);
  Deno.removeSync(hello.slice(0, hello.lastIndexOf("/")), { recursive: true });
  rows.push(row("`--version`, wall", Object.fromEntries(all.map((i) => [i.name, v.get(i.name)!]))));
  rows.push(row("Deno's hello world, wall (the floor for ours)", { deno: v.get("hello")! }));
  await each(
    "exec → first `status` reply, idle host",
    async (i) => `${f0(await execToStatus(i))} ms`,
  );
  await each("exec → first `status` reply, one CPU burner per core", async (i) => {
    const stop = cpuBurner();
    try {
      return `${f0(await execToStatus(i))} ms`;
    } finally {
      await stop();
    }
  });
  await each(
    "idle RSS (private anon), fresh node (3 s after start)",
    async (i) => `${await idleRss(i)} MiB`,
  );
  await each(
    "4-node line started together, both ends route to all",
    async (i) => `${f0(await convergence(i))} ms`,
  );
  return rows;
}

if (import.meta.main) {
  const rows = await benchStart();
  console.log("\n| measurement | result |\n|---|---|\n" + rows.join("\n"));
}
