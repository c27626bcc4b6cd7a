/**
 * Shared helpers of the start-up, memory and unit benchmarks (scripts/bench_start.ts,
 * scripts/bench_units.ts): which receptor programs to compare (ours, and Go receptor when
 * `RECEPTOR_GO_BINARY` names a binary built locally), starting nodes from YAML, waiting for
 * the control socket, reading RSS, and a CPU burner.
 * @module
 */
import { ReceptorClient } from "../src/ctl/client.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A receptor program under test. */
export interface Impl {
  /** `deno` (ours) or `go`. */
  name: string;
  /** argv that runs it with `args`. */
  argv(args: string[]): string[];
}

/** Ours (the bundle when built, else main.ts) and Go receptor when RECEPTOR_GO_BINARY is set. */
export function impls(): Impl[] {
  // BENCH_ENTRY=PATH: run our nodes from another build (paired before/after runs)
  let entry = Deno.env.get("BENCH_ENTRY") ?? `${ROOT}dist/receptor.js`;
  try {
    Deno.statSync(entry);
  } catch {
    entry = `${ROOT}main.ts`;
  }
  const deno = Deno.execPath();
  const out: Impl[] = [];
  const go = Deno.env.get("RECEPTOR_GO_BINARY");
  if (go) out.push({ name: "go", argv: (a) => [go, ...a] });
  // BENCH_V8_FLAGS=--flag,…: V8 flags for our nodes; BENCH_PROF=DIR: CPU profiles into DIR;
  // BENCH_DENO_FLAGS="--flag …": more `deno run` flags (e.g. --deny-ffi: nodes without malloc_trim)
  const v8 = Deno.env.get("BENCH_V8_FLAGS");
  const more = Deno.env.get("BENCH_DENO_FLAGS")?.split(/\s+/).filter((f) => f) ?? [];
  const prof = Deno.env.get("BENCH_PROF");
  const flags = [
    "--allow-all",
    "--unstable-net",
    ...(v8 ? [`--v8-flags=${v8}`] : []),
    ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
    ...more,
  ];
  out.push({ name: "deno", argv: (a) => [deno, "run", ...flags, entry, ...a] });
  return out;
}

/** A free loopback TCP port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** Poll `f` every `everyMs` until it returns a truthy value or `ms` pass (then throws). */
export async function until<T>(
  f: () => T | Promise<T>,
  ms = 30000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const end = performance.now() + ms;
  let last: unknown;
  while (performance.now() < end) {
    try {
      const v = await f();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${ms} ms${last ? `: ${(last as Error).message}` : ""}`);
}

/** A started node process. */
export interface NodeProc {
  child: Deno.ChildProcess;
  socket: string;
  /** Spawn time (performance.now()). */
  t0: number;
}

/** Write `yaml` to `<dir>/<name>.yaml` and start it (output discarded). */
export function startNode(impl: Impl, dir: string, name: string, yaml: string): NodeProc {
  const cfg = `${dir}/${name}.yaml`;
  Deno.writeTextFileSync(cfg, yaml);
  const [cmd, ...args] = impl.argv(["--config", cfg]);
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    cwd: dir,
  }).spawn();
  return { child, socket: `${dir}/${name}.sock`, t0 };
}

/** YAML of a node with a control socket, optional listener port and peer ports. */
export function nodeYaml(
  dir: string,
  id: string,
  opts: { listen?: number; peers?: number[]; extra?: string } = {},
): string {
  let y = `- node:\n    id: ${id}\n    datadir: ${dir}/data\n- log-level: error\n` +
    `- control-service:\n    service: control\n    filename: ${dir}/${id}.sock\n`;
  if (opts.listen) y += `- tcp-listener:\n    port: ${opts.listen}\n    bindaddr: 127.0.0.1\n`;
  for (const p of opts.peers ?? []) y += `- tcp-peer:\n    address: 127.0.0.1:${p}\n`;
  return y + (opts.extra ?? "");
}

/** One `status` over the control socket. */
export async function status(socket: string): Promise<Record<string, unknown>> {
  const c = await ReceptorClient.connect(socket);
  try {
    return await c.status();
  } finally {
    c.close();
  }
}

/** ms from spawn until the control socket answers `status` (polls every 2 ms). */
export async function timeToStatus(n: NodeProc, ms = 30000): Promise<number> {
  await until(() => status(n.socket), ms, 2);
  return performance.now() - n.t0;
}

/** Stop nodes (SIGTERM, then SIGKILL after 5 s) and wait for them. */
export async function stopAll(nodes: NodeProc[]): Promise<void> {
  for (const n of nodes) {
    try {
      n.child.kill("SIGTERM");
    } catch { /* gone */ }
  }
  const t = setTimeout(() => {
    for (const n of nodes) {
      try {
        n.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }, 5000);
  await Promise.all(nodes.map((n) => n.child.status));
  clearTimeout(t);
}

/**
 * `<RSS> (<anon>)` in MiB: resident set and its private anonymous part. The rest is mostly the
 * executable's file pages (shared, clean; for Deno ~40 MiB of its runtime binary).
 */
export function memMiB(pid: number): string {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  return `${(kb("VmRSS") / 1024).toFixed(0)} (${(kb("RssAnon") / 1024).toFixed(0)})`;
}

/** Resident set size of `pid` in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds of `pid` including its reaped children (utime+stime+cutime+cstime). */
export function cpuWithChildren(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    return (f[11] + f[12] + f[13] + f[14]) / 100;
  } catch {
    return NaN;
  }
}

/** Busy-loop processes (one per core) to load the machine; returns a stop function. */
export function cpuBurner(n = navigator.hardwareConcurrency): () => Promise<void> {
  const kids = Array.from(
    { length: n },
    () => new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null" }).spawn(),
  );
  return async () => {
    for (const k of kids) k.kill("SIGKILL");
    await Promise.all(kids.map((k) => k.status));
  };
}

/** Median of a list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A fresh temp dir for one benchmark run. */
export function benchDir(tag: string): string {
  return Deno.makeTempDirSync({ prefix: `receptor-bench-${tag}-` });
}

/** Print one result line and return it as a Markdown row. */
export function row(name: string, cells: Record<string, string>): string {
  const detail = Object.entries(cells).map(([k, v]) => `${k}: ${v}`).join("; ");
  console.log(`${name}: ${detail}`);
  return `| ${name} | ${detail} |`;
}
