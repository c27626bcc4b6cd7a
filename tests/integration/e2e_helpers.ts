/**
 * Shared helpers of the end-to-end tests (e2e_*): a mesh of real node processes where every
 * node has its own `datadir` and extra config sections, locating receptorctl and a Python
 * that can import it, running a tool with a deadline, sha256 of files, and process checks.
 * @module
 */
import { assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { receptorctl } from "../helpers/peers.ts";
import { runTool, type ToolResult } from "../helpers/run.ts";
import { type Mesh, type MeshMember, type MeshSpec, nodeYaml, startMesh } from "../helpers/mesh.ts";

const dec = new TextDecoder();

export { runTool, type ToolResult };

/**
 * Start a mesh like helpers/mesh.ts `startMesh`, but each node's `datadir` is `<dir>/data`
 * (so unit directories are `<dir>/data/<id>/<unit>`), and `extraYaml` adds sections other than
 * `node`. Nodes start one after the other in `spec.nodes` order, so list each edge's listener
 * (second element) before its dialer. Waits for convergence; on failure stops everything and
 * throws with the logs.
 */
export async function startE2eMesh(
  spec: MeshSpec,
  opts: {
    /** Extra lines (indented 4) for a node's `control-service` section, e.g. `    tls: srv`. */
    controlExtra?: (node: string, dir: string) => string;
  } = {},
): Promise<Mesh> {
  const mesh = await startMesh(spec, {
    tempPrefix: "receptor-e2e-",
    inOrder: true,
    nodeYaml: (id, m, peers, extra) =>
      nodeYaml({
        id,
        datadir: `${m.dir}/data`,
        port: m.port,
        peers,
        socket: m.socket,
        extra,
        logLevel: spec.logLevel,
        controlExtra: opts.controlExtra?.(id, m.dir),
      }),
  });
  try {
    await mesh.waitConverged();
  } catch (e) {
    const logs = [...mesh.members.values()].map((m) =>
      `--- ${m.id} ---\n${m.proc?.logText() ?? "(not started)"}`
    ).join("\n");
    await mesh.stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  return mesh;
}

/** Unit directory of `unit` on mesh member `m`. */
export function unitDir(m: MeshMember, unit: string): string {
  return `${m.dir}/data/${m.id}/${unit}`;
}

/** Read a unit's status file (null if missing or unreadable). */
export function readUnitStatus(
  m: MeshMember,
  unit: string,
): { State: number; Detail: string; StdoutSize: number; ExtraData: unknown } | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${unitDir(m, unit)}/status`));
  } catch {
    return null;
  }
}

/** Hex sha256 of a file (the shared helper). */
export { sha256File } from "../helpers/data.ts";

/** PIDs of processes whose command line contains `needle` (via pgrep -f), minus our own. */
export function pgrep(needle: string): number[] {
  const o = new Deno.Command("pgrep", { args: ["-f", needle], stdout: "piped", stderr: "null" })
    .outputSync();
  return dec.decode(o.stdout).split("\n").filter((l) => l.trim() !== "").map(Number)
    .filter((p) => p !== Deno.pid);
}

/** Whether process `pid` exists (and is not a zombie). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Poll until no process's command line contains `needle`. */
export async function waitNoProcesses(needle: string, timeoutMs = 20000): Promise<void> {
  await waitFor(
    `no processes matching ${needle}`,
    () => {
      const left = pgrep(needle).filter(pidAlive);
      if (left.length > 0) throw new Error(`still running: ${left.join(",")}`);
      return true;
    },
    timeoutMs,
    200,
  );
  assertEquals(pgrep(needle).filter(pidAlive), [], `processes matching ${needle}`);
}

/** Logs of every mesh node, for failure messages (tail of each). */
export function meshLogs(mesh: Mesh, tail = 60): string {
  return [...mesh.members.values()].map((m) =>
    `--- ${m.id} ---\n${(m.proc?.log ?? []).slice(-tail).join("\n")}`
  ).join("\n");
}

/**
 * A minimal streaming control client over a Unix socket: line reads, then raw chunks (for
 * big result streams, where helpers/mesh.ts CtlConn would buffer everything).
 */
export class StreamingCtl {
  #conn: Deno.UnixConn;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = new Uint8Array(0);

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  /** Connect to a control socket (the banner is left to read). */
  static async open(path: string): Promise<StreamingCtl> {
    return new StreamingCtl(await Deno.connect({ transport: "unix", path }));
  }

  /** Write `line` plus a newline. */
  async sendLine(line: string): Promise<void> {
    const b = new TextEncoder().encode(line + "\n");
    let off = 0;
    while (off < b.length) off += await this.#conn.write(b.subarray(off));
  }

  /** Next line (without newline), or null at EOF. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const line = dec.decode(this.#buf.subarray(0, i));
        this.#buf = this.#buf.slice(i + 1);
        return line;
      }
      const r = await this.#reader.read();
      if (r.done) return null;
      const b = new Uint8Array(this.#buf.length + r.value.length);
      b.set(this.#buf);
      b.set(r.value, this.#buf.length);
      this.#buf = b;
    }
  }

  /** Next raw chunk (buffered bytes first), or null at EOF. */
  async readChunk(): Promise<Uint8Array | null> {
    if (this.#buf.length) {
      const b = this.#buf;
      this.#buf = new Uint8Array(0);
      return b;
    }
    const r = await this.#reader.read();
    return r.done ? null : r.value;
  }

  /** Half-close our sending side (end of a submit payload). */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /** Close the connection. */
  close(): void {
    try {
      this.#reader.releaseLock();
      this.#conn.close();
    } catch { /* closed */ }
  }
}

/** A work unit's status as `receptorctl work list` prints it. */
export interface CtlUnitStatus {
  State: number;
  StateName: string;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: Record<string, unknown> | null;
}

/** Runs the pinned receptorctl against mesh node `node`'s control socket. */
export function ctlOn(
  mesh: Mesh,
  node: string,
  args: string[],
  stdin?: string,
): Promise<ToolResult> {
  return runTool(receptorctl(), ["--socket", mesh.node(node).socket, ...args], stdin, 60000);
}

/** `receptorctl work list` on `node` (optionally one unit), parsed; throws on failure. */
export async function ctlWorkList(
  mesh: Mesh,
  node: string,
  unit?: string,
): Promise<Record<string, CtlUnitStatus>> {
  const args = ["work", "list", ...(unit ? ["--unit_id", unit] : [])];
  const r = await ctlOn(mesh, node, args);
  if (r.code !== 0) throw new Error(`${args.join(" ")} on ${node}: ${r.out}${r.err}`);
  return JSON.parse(r.out);
}

/** The unit ID in receptorctl's `Unit ID: …` line. */
export function unitIdOf(out: string): string {
  const m = /Unit ID: ([A-Za-z0-9]+)/.exec(out);
  if (!m) throw new Error(`no Unit ID in ${out}`);
  return m[1];
}
