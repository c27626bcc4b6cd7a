/**
 * `deno task bench`: throughput and latency measurements (never asserted in tests). Each
 * measurement runs its far end in a separate process (scripts/bench_peer.ts or real receptor
 * nodes) and reports MB/s, CPU seconds of every process involved, and sha256 checks.
 * Sizes can be reduced with BENCH_SCALE=0.25 etc. Results go to stdout as a Markdown table
 * to paste into BENCHMARKS.md.
 * @module
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { QuicDriver } from "../src/quic/driver.ts";
import { QuicEndpoint } from "../src/quic/endpoint.ts";
import { UdpTransport } from "../src/quic/udp_transport.ts";
import { MeshNode } from "../src/mesh/mesh_node.ts";
import { TcpPeerBackend } from "../src/mesh/backends/tcp.ts";
import { dialStream } from "../src/streams/stream_service.ts";
import { ReceptorClient } from "../src/ctl/client.ts";
import { submitWork, workResults, workStatus } from "../src/ctl/work_client.ts";
import { Logger } from "../src/log.ts";
import { measureCeiling } from "./bench_ceiling.ts";
import { benchStart } from "./bench_start.ts";
import { benchUnits } from "./bench_units.ts";
import { benchIdleConnections } from "./bench_idle.ts";
import { benchMeshScale } from "./bench_meshcore.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const MiB = 1024 * 1024;
const logger = new Logger({ level: "error" });
const dec = new TextDecoder();
const rows: string[] = [];
/** BENCH_PROF=DIR: child processes run with --cpu-prof into DIR. */
const PROF = Deno.env.get("BENCH_PROF");
const profArgs = PROF ? ["--cpu-prof", `--cpu-prof-dir=${PROF}`] : [];
/** BENCH_STATS=1: print the dialer's QUIC counters after each mesh stream run. */
const STATS = !!Deno.env.get("BENCH_STATS");
/** BENCH_TCP_RATE=MiB/s: skip the raw TCP baseline and the ceiling, use this rate (for profiling a mesh run). */
const GIVEN_TCP_RATE = Number(Deno.env.get("BENCH_TCP_RATE") ?? "0");

function report(name: string, detail: string) {
  rows.push(`| ${name} | ${detail} |`);
  console.log(`${name}: ${detail}`);
}

/** CPU seconds (user+system) of a process from /proc. */
function cpuOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Peer {
  child: Deno.ChildProcess;
  port: number;
  lines: string[];
  next(): Promise<string>;
}

function spawnLines(cmd: string, args: string[]): Peer {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const lines: string[] = [];
  const next = async (): Promise<string> => {
    while (!buf.includes("\n")) {
      const r = await reader.read();
      if (r.done) throw new Error(`${args.join(" ")} ended early`);
      buf += r.value;
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    lines.push(line);
    return line;
  };
  return { child, port: 0, lines, next };
}

async function startPeer(...args: string[]): Promise<Peer> {
  const p = spawnLines(Deno.execPath(), [
    "run",
    "--allow-all",
    "--unstable-net",
    ...profArgs,
    `${ROOT}scripts/bench_peer.ts`,
    ...args,
  ]);
  const ready = await p.next();
  p.port = Number(/^ready (\d+)$/.exec(ready)?.[1]);
  return p;
}

/** Deterministic data source: 1 MiB pattern; returns chunks and the running sha256. */
function pattern(): Uint8Array {
  const b = new Uint8Array(MiB);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
  return b;
}

async function pump(w: WritableStream<Uint8Array>, total: number): Promise<string> {
  const h = createHash("sha256");
  const chunk = pattern();
  const writer = w.getWriter();
  for (let off = 0; off < total; off += chunk.length) {
    const c = chunk.subarray(0, Math.min(chunk.length, total - off));
    h.update(c);
    await writer.write(c);
  }
  await writer.close();
  return h.digest("hex");
}

async function readText(r: ReadableStream<Uint8Array>): Promise<string> {
  let s = "";
  for await (const c of r) s += dec.decode(c, { stream: true });
  return s;
}

function mbps(bytes: number, ms: number): string {
  return `${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s`;
}

/** CPU seconds (both ends) the raw TCP baseline spent per MiB. */
let tcpCpuPerMiB = 0;

/**
 * One TCP connection to a bench_peer sink. `hashed`: both ends also compute the sha256 the mesh
 * stream runs compute (context for the mesh lines; the target's baseline is the raw run).
 */
async function benchTcp(hashed = false): Promise<number> {
  const total = Math.round(1024 * SCALE) * MiB;
  const peer = await startPeer(hashed ? "tcp-sink-sha" : "tcp-sink");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: peer.port });
  const c0 = selfCpu(), p0 = cpuOf(peer.child.pid);
  const t0 = performance.now();
  const chunk = pattern();
  const h = createHash("sha256");
  for (let off = 0; off < total; off += chunk.length) {
    if (hashed) h.update(chunk);
    let o = 0;
    while (o < chunk.length) o += await conn.write(chunk.subarray(o));
  }
  await conn.closeWrite();
  const done = await peer.next();
  const ms = performance.now() - t0;
  const cpu = selfCpu() - c0 + cpuOf(peer.child.pid) - p0;
  conn.close();
  await peer.child.status;
  const rate = total / MiB / (ms / 1000);
  if (!hashed) tcpCpuPerMiB = cpu / (total / MiB);
  const check = hashed ? `sha256 ${done.endsWith(h.digest("hex")) ? "equal" : "MISMATCH"}` : done;
  report(
    hashed ? "Loopback TCP with sha256 at both ends (context)" : "Raw loopback TCP (baseline)",
    `${total / MiB} MiB in ${(ms / 1000).toFixed(2)} s = ${mbps(total, ms)}, CPU ${
      cpu.toFixed(2)
    } s (${check})`,
  );
  return rate;
}

async function benchQuic(kind: "ours" | "deno"): Promise<void> {
  const total = Math.round(128 * SCALE) * MiB;
  let peer: Peer;
  if (kind === "ours") peer = await startPeer("quic-sink");
  else {
    const dir = await Deno.makeTempDir();
    await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/k.pem`,
        "-out",
        `${dir}/c.pem`,
        "-subj",
        "/CN=localhost",
        "-days",
        "1",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    peer = await startPeer("deno-quic-sink", `${dir}/c.pem`, `${dir}/k.pem`);
  }
  const t = UdpTransport.listen();
  const driver = new QuicDriver(
    new QuicEndpoint({ role: "client", tls: () => ({ role: "client", alpn: ["netceptor"] }) }),
    t,
  );
  const c0 = selfCpu(), p0 = cpuOf(peer.child.pid);
  const t0 = performance.now();
  const conn = await driver.connect(`127.0.0.1:${peer.port}`, { serverName: "localhost" });
  const s = await conn.openStream();
  const reply = readText(s.readable);
  const sent = await pump(s.writable, total);
  const got = (await reply).trim();
  const ms = performance.now() - t0;
  const cpu = selfCpu() - c0 + cpuOf(peer.child.pid) - p0;
  if (STATS) {
    const q = conn.connection;
    console.log(
      `  CPU s: client ${(selfCpu() - c0).toFixed(2)}, server ${
        (cpuOf(peer.child.pid) - p0).toFixed(2)
      }; client QUIC: ${JSON.stringify(q.stats)} cwnd ${q.congestionWindow} rtt ${
        JSON.stringify(q.rttStats)
      }`,
    );
  }
  conn.close(0, "normal close");
  await driver.close();
  await peer.child.status.catch(() => {});
  report(
    kind === "ours" ? "QUIC ours → ours, loopback UDP" : "QUIC ours → Deno built-in (quinn)",
    `${total / MiB} MiB = ${mbps(total, ms)}, CPU ${cpu.toFixed(2)} s, sha256 ${
      got === sent ? "equal" : "MISMATCH"
    }`,
  );
}

async function writeConfig(dir: string, name: string, yaml: string): Promise<string> {
  const f = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(f, yaml);
  return f;
}

function startReceptor(config: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--unstable-net",
      ...profArgs,
      `${ROOT}main.ts`,
      "node",
      "-c",
      config,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

async function until<T>(f: () => T | Promise<T>, ms = 30000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v as NonNullable<T>;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out");
}

async function benchMesh(relays: number, tcpRate: number): Promise<void> {
  const total = Math.round(256 * SCALE) * MiB;
  const dir = await Deno.makeTempDir({ prefix: "receptor-bench-" });
  const sink = await startPeer("mesh-sink", "sink");
  const procs: Deno.ChildProcess[] = [];
  let target = sink.port;
  for (let i = relays; i >= 1; i--) {
    const port = freePort();
    const cfg = await writeConfig(
      dir,
      `relay${i}`,
      `- node:\n    id: relay${i}\n    datadir: ${dir}\n` +
        `- log-level: error\n- tcp-peer:\n    address: 127.0.0.1:${target}\n` +
        `- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1\n`,
    );
    procs.push(startReceptor(cfg));
    target = port;
  }
  const mesh = new MeshNode({ nodeId: "bench", logger });
  await until(async () => {
    try {
      await (await Deno.connect({ hostname: "127.0.0.1", port: target })).close();
      return true;
    } catch {
      return false;
    }
  });
  const peer = TcpPeerBackend.start({
    address: `127.0.0.1:${target}`,
    redial: true,
    cost: 1,
    allowedPeers: null,
    logger,
  }, mesh);
  await until(() => mesh.status().routingTable["sink"]);
  // a ping answered proves routes both ways (else the QUIC handshake can wait out a 1 s PTO)
  await until(async () => !("error" in await mesh.ping("sink", { timeoutMs: 1000 })));
  const pids = [sink.child.pid, ...procs.map((p) => p.pid)];
  const c0 = selfCpu(), p0 = pids.map(cpuOf);
  const t0 = performance.now();
  const conn = await dialStream(mesh, "sink", "sink", { logger });
  const dialMs = performance.now() - t0;
  const reply = readText(conn.readable);
  const sent = await pump(conn.writable, total);
  const got = (await reply).trim();
  const ms = performance.now() - t0;
  const cpu = selfCpu() - c0 + pids.reduce((s, p, i) => s + cpuOf(p) - p0[i], 0);
  if (STATS) {
    console.log(
      `  CPU s: dialer ${(selfCpu() - c0).toFixed(2)}, ` +
        pids.map((p, i) => `${i ? `relay${i}` : "sink"} ${(cpuOf(p) - p0[i]).toFixed(2)}`)
          .join(", ") +
        `, elapsed ${(ms / 1000).toFixed(2)} (dial ${dialMs.toFixed(0)} ms)`,
    );
    const q = conn.quic;
    console.log(
      `  dialer QUIC: ${JSON.stringify(q.stats)} cwnd ${q.congestionWindow} rtt ${
        JSON.stringify(q.rttStats)
      }`,
    );
  }
  conn.close();
  peer.close();
  mesh.close();
  for (const p of procs) p.kill("SIGTERM");
  sink.child.kill("SIGTERM");
  await Promise.all([...procs.map((p) => p.status), sink.child.status]);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const rate = total / MiB / (ms / 1000);
  report(
    `Mesh stream, ${relays + 1} hop${relays ? "s" : ""} (${relays} relay node${
      relays === 1 ? "" : "s"
    })`,
    `${total / MiB} MiB = ${mbps(total, ms)} (${(100 * rate / tcpRate).toFixed(0)}% of raw TCP), ` +
      `CPU ${cpu.toFixed(2)} s all processes, sha256 ${got === sent ? "equal" : "MISMATCH"}`,
  );
}

/** The floor no mesh stream implementation can beat here (scripts/bench_ceiling.ts). */
function benchCeiling(tcpRate: number): void {
  const c = measureCeiling(Math.round(64 * SCALE), tcpCpuPerMiB, navigator.hardwareConcurrency);
  const ms = (s: number) => `${(s * 1000).toFixed(2)} ms`;
  report(
    "Mesh stream ceiling (sha256 + AEAD alone)",
    [1, 3].map((h) => {
      const r = c.rate(h);
      return `${h} hop${h > 1 ? "s" : ""} ${r.toFixed(0)} MiB/s (${
        (100 * r / tcpRate).toFixed(0)
      }%)`;
    }).join(", ") + ` of raw TCP at best; per MiB ` +
      `sha256 ${ms(c.hashSecPerMiB)} each end, seal ${ms(c.sealSecPerMiB)}, ` +
      `open ${ms(c.openSecPerMiB)}, TCP ${ms(tcpCpuPerMiB)}; with no per-packet cost at all ` +
      `(AEAD streaming ${ms(c.aeadStreamSecPerMiB)}) 1 hop ${c.rateAnyPacketSize(1).toFixed(0)} ` +
      `MiB/s (${(100 * c.rateAnyPacketSize(1) / tcpRate).toFixed(0)}%)`,
  );
}

async function benchWork(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "receptor-bench-" });
  const pa = freePort(), pb = freePort();
  const size = Math.round(1024 * SCALE) * MiB;
  const a = await writeConfig(
    dir,
    "a",
    `- node:\n    id: a\n    datadir: ${dir}\n- log-level: error\n` +
      `- tcp-listener:\n    port: ${pa}\n    bindaddr: 127.0.0.1\n- control-service:\n    filename: ${dir}/a.sock\n`,
  );
  const b = await writeConfig(
    dir,
    "b",
    `- node:\n    id: b\n    datadir: ${dir}\n- log-level: error\n` +
      `- tcp-peer:\n    address: 127.0.0.1:${pa}\n- tcp-listener:\n    port: ${pb}\n    bindaddr: 127.0.0.1\n`,
  );
  const c = await writeConfig(
    dir,
    "c",
    `- node:\n    id: c\n    datadir: ${dir}\n- log-level: error\n` +
      `- tcp-peer:\n    address: 127.0.0.1:${pb}\n- control-service:\n    filename: ${dir}/c.sock\n` +
      `- work-command:\n    worktype: "true"\n    command: "true"\n` +
      `- work-command:\n    worktype: gen\n    command: head\n    params: -c ${size} /dev/zero\n`,
  );
  const procs = [a, b, c].map(startReceptor);
  const sock = `${dir}/a.sock`;
  try {
    await until(async () => {
      const cl = await ReceptorClient.connect(sock);
      const s = await cl.status();
      cl.close();
      const ads = s.Advertisements as { NodeID: string; WorkCommands: unknown[] | null }[];
      return ads.some((x) => x.NodeID === "c" && x.WorkCommands?.length);
    });
    const runOnce = async (
      worktype: string,
    ): Promise<{ ms: number; bytes: number; sha: string }> => {
      const t0 = performance.now();
      const sub = await submitWork(await ReceptorClient.connect(sock), worktype, null, {
        node: "c",
      });
      await until(async () => {
        const cl = await ReceptorClient.connect(sock);
        const st = await workStatus(cl, sub.unitid);
        cl.close();
        if (st.State === 3) throw new Error(`unit failed: ${st.Detail}`);
        return st.State === 2;
      }, 600000);
      const h = createHash("sha256");
      let bytes = 0;
      for await (const chunk of await workResults(await ReceptorClient.connect(sock), sub.unitid)) {
        h.update(chunk);
        bytes += chunk.length;
      }
      const ms = performance.now() - t0;
      const cl = await ReceptorClient.connect(sock);
      await cl.command(`work release ${sub.unitid}`);
      cl.close();
      return { ms, bytes, sha: h.digest("hex") };
    };
    const times: number[] = [];
    for (let i = 0; i < 50; i++) times.push((await runOnce("true")).ms);
    times.sort((x, y) => x - y);
    report(
      "Remote work round trip, 2 hops (`true`: submit → Succeeded → results EOF)",
      `median ${times[25].toFixed(0)} ms, p10 ${times[5].toFixed(0)} ms, p90 ${
        times[45].toFixed(0)
      } ms (50 runs)`,
    );
    const pids = procs.map((p) => p.pid);
    const p0 = pids.map(cpuOf);
    const r = await runOnce("gen");
    const cpu = pids.reduce((s, p, i) => s + cpuOf(p) - p0[i], 0);
    const expected = createHash("sha256").update(new Uint8Array(size)).digest("hex");
    report(
      `Remote work results, ${size / MiB} MiB from 2 hops (submit → all bytes at the client)`,
      `${mbps(r.bytes, r.ms)} over ${(r.ms / 1000).toFixed(1)} s, CPU ${
        cpu.toFixed(1)
      } s (nodes), ` +
        `sha256 ${r.sha === expected && r.bytes === size ? "equal" : "MISMATCH"}`,
    );
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.status));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const only = Deno.args[0];
const want = (n: string) => !only || only === n;
const os = Deno.osRelease();
console.log(
  `receptor for Deno benchmarks — ${
    new Date().toISOString()
  } — ${navigator.hardwareConcurrency} cores, Linux ${os}, Deno ${Deno.version.deno}, scale ${SCALE}\n`,
);
let tcpRate = 1;
if (GIVEN_TCP_RATE > 0) tcpRate = GIVEN_TCP_RATE;
else if (only !== "scale" && (want("tcp") || want("mesh") || want("mesh1") || want("mesh3"))) {
  tcpRate = await benchTcp();
}
if (!GIVEN_TCP_RATE && (want("tcp") || want("mesh"))) await benchTcp(true);
// the ceiling first, while this process has made little garbage yet
if (!GIVEN_TCP_RATE && (want("mesh") || want("mesh1") || want("mesh3"))) benchCeiling(tcpRate);
if (want("quic")) {
  await benchQuic("ours");
  await benchQuic("deno");
}
if (want("mesh") || only === "mesh1") await benchMesh(0, tcpRate);
if (want("mesh") || only === "mesh3") await benchMesh(2, tcpRate);
if (want("work")) await benchWork();
// start-up, memory and units/s, beside Go receptor when RECEPTOR_GO_BINARY is given
if (want("start")) rows.push(...await benchStart());
if (want("units")) rows.push(...await benchUnits());
// RSS per idle connection before the handshake (issue 10); `deno task bench idle`
if (want("idle")) await benchIdleConnections(report, Math.max(200, Math.round(2000 * SCALE)));
// sans-IO mesh scale (issue 10); `deno task bench scale`, BENCH_MESH_SIZES=100,1000 to pick
if (want("scale")) await benchMeshScale(report);
console.log("\n| measurement | result |\n|---|---|\n" + rows.join("\n"));
