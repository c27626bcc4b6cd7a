/**
 * Test helpers for building meshes of real node processes: each node gets a `tcp-listener`
 * on a free port, a Unix control socket and a `tcp-peer` for every edge it dials. Also a tiny
 * raw control-protocol client (independent of src/ctl) so tests see the exact bytes.
 *
 * @example
 * ```ts
 * const mesh = await startMesh({ nodes: ["a", "b"], edges: [["a", "b"]] });
 * try {
 *   await mesh.waitConverged();
 *   const r = await ctlCommand(mesh.node("a").socket, "ping b");
 * } finally {
 *   await mesh.stop();
 * }
 * ```
 * @module
 */
import { freePort, tempDir, waitFor } from "./net.ts";
import { type NodeProcess, startNode } from "./node_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw control-protocol connection: banner read, then lines in and out. */
export class CtlConn {
  /** The banner line the server sent first. */
  banner = "";
  #conn: Deno.Conn;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  #pending: Promise<Uint8Array | null> | null = null;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connect to a Unix socket path or `tcp://host:port`, and read the banner line. */
  static async open(address: string): Promise<CtlConn> {
    const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(address);
    const conn = m
      ? await Deno.connect({ hostname: m[1], port: Number(m[2]) })
      : await Deno.connect({ transport: "unix", path: address });
    const c = new CtlConn(conn);
    const banner = await c.readLine(10000).catch((e) => {
      c.close();
      throw e;
    });
    if (banner === null) {
      c.close();
      throw new Error(`no banner from ${address}`);
    }
    c.banner = banner;
    return c;
  }

  /** Write raw text (no newline added). */
  async write(text: string | Uint8Array): Promise<void> {
    const b = typeof text === "string" ? encoder.encode(text) : text;
    let off = 0;
    while (off < b.length) off += await this.#conn.write(b.subarray(off));
  }

  /** Write `line` plus a newline. */
  sendLine(line: string): Promise<void> {
    return this.write(line + "\n");
  }

  /** Next line without the newline; null at EOF. Throws after `timeoutMs`. */
  async readLine(timeoutMs = 30000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const line = decoder.decode(this.#buf.subarray(0, i));
        this.#buf = this.#buf.slice(i + 1);
        return line;
      }
      if (this.#eof) {
        if (this.#buf.length === 0) return null;
        const line = decoder.decode(this.#buf);
        this.#buf = new Uint8Array(0);
        return line;
      }
      await this.#fill(deadline - Date.now());
      if (Date.now() > deadline) throw new Error("timed out reading a control reply line");
    }
  }

  /** Everything until EOF (after any buffered bytes). */
  async readAll(timeoutMs = 30000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#eof) {
      if (Date.now() > deadline) throw new Error("timed out reading to EOF");
      await this.#fill(deadline - Date.now());
    }
    const out = this.#buf;
    this.#buf = new Uint8Array(0);
    return out;
  }

  async #fill(ms: number): Promise<void> {
    if (!this.#pending) {
      const chunk = new Uint8Array(65536);
      this.#pending = this.#conn.read(chunk).then(
        (n) => (n === null ? null : chunk.subarray(0, n)),
        () => null,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), Math.max(1, ms));
    });
    try {
      const got = await Promise.race([this.#pending, timeout]);
      if (got === "timeout") return;
      this.#pending = null;
      if (got === null) {
        this.#eof = true;
        return;
      }
      const b = new Uint8Array(this.#buf.length + got.length);
      b.set(this.#buf);
      b.set(got, this.#buf.length);
      this.#buf = b;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send one command line and read one reply line. */
  async command(line: string, timeoutMs = 30000): Promise<string> {
    await this.sendLine(line);
    const r = await this.readLine(timeoutMs);
    if (r === null) throw new Error(`connection closed before a reply to ${line}`);
    return r;
  }

  /** Half-close our sending side. */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /** Close the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

/**
 * Run one command on a fresh control connection; returns the parsed JSON reply, or throws
 * with the `ERROR: ...` line.
 */
export async function ctlJson<T = Record<string, unknown>>(
  address: string,
  line: string,
  timeoutMs = 30000,
): Promise<T> {
  const c = await CtlConn.open(address);
  try {
    const r = await c.command(line, timeoutMs);
    if (r.startsWith("ERROR:")) throw new Error(r);
    return JSON.parse(r) as T;
  } finally {
    c.close();
  }
}

/** The `status` reply shape tests look at. */
export interface StatusReply {
  NodeID: string;
  Version: string;
  SystemCPUCount: number;
  SystemMemoryMiB: number;
  Connections: { NodeID: string; Cost: number }[];
  RoutingTable: Record<string, string>;
  Advertisements: Record<string, unknown>[];
  KnownConnectionCosts: Record<string, Record<string, number>>;
}

/** `status` of a node. */
export function ctlStatus(address: string): Promise<StatusReply> {
  return ctlJson<StatusReply>(address, "status");
}

/** A ping reply. */
export interface PingReply {
  Success: boolean;
  From?: string;
  Time?: number;
  TimeStr?: string;
  Error?: string;
}

/** Description of a mesh to start. */
export interface MeshSpec {
  /** Node IDs. */
  nodes: string[];
  /** `[dialer, listener]`: the first node gets a tcp-peer to the second's listener. */
  edges: [string, string][];
  /** Extra YAML list items per node (already indented as top-level items). */
  extraYaml?: (node: string, dir: string) => string;
  /** Log level (default info). */
  logLevel?: string;
}

/** One node of a started mesh. */
export interface MeshMember {
  id: string;
  port: number;
  dir: string;
  socket: string;
  config: string;
  proc: NodeProcess;
}

/** What {@link nodeYaml} writes for one node. */
export interface NodeYamlOptions {
  id: string;
  /** tcp-listener port on 127.0.0.1 (none when omitted). */
  port?: number;
  /** Ports of the nodes this one dials (tcp-peer on 127.0.0.1). */
  peers?: number[];
  /** The control service's Unix socket. */
  socket: string;
  /** Default: `data` beside the socket (never the shared /tmp/receptor). */
  datadir?: string;
  /** More lines (indented 4) inside the node section, e.g. firewallrules. */
  nodeLines?: string[];
  /** Default "info"; null writes no log-level section. */
  logLevel?: string | null;
  /** Write a `local-only` section. */
  localOnly?: boolean;
  /** Extra lines (indented 4) inside the control-service section, e.g. `    tls: srv`. */
  controlExtra?: string;
  /** Work types to offer: presets by name or full specs ({@link workYaml}). */
  work?: WorkSpec[];
  /** Further sections, appended verbatim. */
  extra?: string;
}

/** Work types many tests offer: name → command and params. */
export const WORK_PRESETS = {
  /** Upper-cases its payload. */
  upper: { command: "tr", params: "a-z A-Z" },
  /** Echoes its payload. */
  cat: { command: "cat" },
  /** Prints "oops" and exits 3. */
  fail3: { command: "sh", params: `-c "echo oops; exit 3"` },
  /** Runs for a minute (to be cancelled or released). */
  sleeper: { command: "sleep", params: `"60"` },
} as const;

/** A work type: a preset's name, or a full work-command section. */
export type WorkSpec = keyof typeof WORK_PRESETS | {
  worktype: string;
  command: string;
  params?: string;
  /** More lines (indented 4) for the section, e.g. `    verifysignature: true`. */
  more?: string[];
};

/** The work-command sections for `specs` (each ends with a newline). */
export function workYaml(...specs: WorkSpec[]): string {
  return specs.map((spec) => {
    const w = typeof spec === "string" ? { worktype: spec, ...WORK_PRESETS[spec] } : spec;
    const lines = [`- work-command:`, `    worktype: ${w.worktype}`, `    command: ${w.command}`];
    if ("params" in w && w.params !== undefined) lines.push(`    params: ${w.params}`);
    if ("more" in w && w.more) lines.push(...w.more);
    return lines.join("\n") + "\n";
  }).join("");
}

/** Config text of one test node: listener, peers, control socket, work types, extras. */
export function nodeYaml(o: NodeYamlOptions): string {
  const datadir = o.datadir ?? `${o.socket.slice(0, o.socket.lastIndexOf("/"))}/data`;
  const level = o.logLevel === undefined ? "info" : o.logLevel;
  const lines = [
    `- node:`,
    `    id: ${o.id}`,
    `    datadir: ${datadir}`,
    ...(o.nodeLines ?? []),
    ...(level === null ? [] : [`- log-level:`, `    level: ${level}`]),
    ...(o.localOnly ? [`- local-only:`] : []),
    ...(o.port === undefined
      ? []
      : [`- tcp-listener:`, `    bindaddr: 127.0.0.1`, `    port: ${o.port}`]),
    ...(o.peers ?? []).flatMap((p) => [`- tcp-peer:`, `    address: 127.0.0.1:${p}`]),
    `- control-service:`,
    `    service: control`,
    `    filename: ${o.socket}`,
    ...(o.controlExtra ? [o.controlExtra.replace(/\n$/, "")] : []),
  ];
  return lines.join("\n") + "\n" + workYaml(...(o.work ?? [])) + (o.extra ?? "");
}

/** {@link nodeYaml} with positional arguments, for the many simple nodes. */
export function meshNodeYaml(
  id: string,
  port: number,
  peers: number[],
  socket: string,
  extra = "",
  logLevel = "info",
): string {
  return nodeYaml({ id, port, peers, socket, extra, logLevel });
}

/**
 * Starts nodes one at a time, each in its own subdirectory of `dir`, from {@link nodeYaml} with
 * the caller's sections as `extra` (for tests whose nodes differ in listeners/peers/TLS);
 * `nodes` lists what was started, for `stopAll`.
 */
export function nodeStarter(dir: string, logLevel: string | null = "info"): {
  nodes: NodeProcess[];
  start: (id: string, body: string) => Promise<NodeProcess>;
} {
  const nodes: NodeProcess[] = [];
  const start = async (id: string, body: string) => {
    const ndir = `${dir}/${id}`;
    await Deno.mkdir(ndir);
    const yaml = (_d: string, socket: string) => nodeYaml({ id, socket, logLevel, extra: body });
    const n = await startNode(id, yaml, { dir: ndir });
    nodes.push(n);
    return n;
  };
  return { nodes, start };
}

/** A running mesh of node processes. */
export class Mesh {
  readonly members = new Map<string, MeshMember>();
  constructor(readonly spec: MeshSpec, readonly root: string) {}

  /** The member named `id` (throws if unknown). */
  node(id: string): MeshMember {
    const m = this.members.get(id);
    if (!m) throw new Error(`no mesh node ${id}`);
    return m;
  }

  /** Ports of the nodes `id` dials. */
  peersOf(id: string): number[] {
    return this.spec.edges.filter(([a]) => a === id).map(([, b]) => this.node(b).port);
  }

  /** Start (or restart) node `id` with its config; waits for its control socket. */
  async startMember(id: string): Promise<MeshMember> {
    const m = this.node(id);
    m.proc = await startNode(id, () => Deno.readTextFileSync(m.config), { dir: m.dir });
    await waitFor(
      `control service of ${id}`,
      async () => {
        if (m.proc.exited) throw new Error(`node ${id} exited:\n${m.proc.logText()}`);
        const s = await this.status(id);
        return s.NodeID === id;
      },
      20000,
      100,
    );
    return m;
  }

  /** SIGKILL a node and wait for it to exit. */
  async kill(id: string): Promise<void> {
    const m = this.node(id);
    m.proc.kill("SIGKILL");
    await m.proc.wait();
  }

  /** `status` of `id`. */
  status(id: string): Promise<StatusReply> {
    return ctlStatus(this.node(id).socket);
  }

  /** `ping <target>` from `id`. */
  ping(id: string, target: string): Promise<PingReply> {
    return ctlJson<PingReply>(this.node(id).socket, `ping ${target}`, 20000);
  }

  /** Spec neighbours of `id` (both directions). */
  neighboursOf(id: string): string[] {
    return this.spec.edges.flatMap(([a, b]) => (a === id ? [b] : b === id ? [a] : []));
  }

  /**
   * Wait until every running node listed in `alive` (default: all) has its spec connections to
   * the other alive nodes established (unless `allEdges` is false: a restarted node's
   * neighbours may still be in redial back-off), knows every alive node in
   * KnownConnectionCosts and has a route to each of the others.
   */
  async waitConverged(
    alive: string[] = this.spec.nodes,
    timeoutMs = 30000,
    opts: { allEdges?: boolean } = {},
  ): Promise<void> {
    const allEdges = opts.allEdges ?? true;
    await waitFor(
      `mesh convergence of ${alive.join(",")}`,
      async () => {
        for (const id of alive) {
          const s = await this.status(id);
          const conns = s.Connections.map((c) => c.NodeID);
          for (const n of allEdges ? this.neighboursOf(id) : []) {
            if (alive.includes(n) && !conns.includes(n)) return false;
          }
          const known = Object.keys(s.KnownConnectionCosts).sort();
          for (const other of alive) {
            if (!known.includes(other)) return false;
            if (other !== id && !s.RoutingTable[other]) return false;
          }
        }
        return true;
      },
      timeoutMs,
      200,
    );
  }

  /** Logs of every node (for failure messages). */
  logs(): string {
    return [...this.members.values()].map((m) => `--- ${m.id} ---\n${m.proc.logText()}`).join(
      "\n",
    );
  }

  /** Stop every node and remove the temp dirs. */
  async stop(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.proc?.stop().catch(() => {})));
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

/** How {@link startMesh} writes each node's config (default {@link meshNodeYaml}). */
export interface StartMeshOptions {
  tempPrefix?: string;
  /** Start nodes one at a time in `spec.nodes` order (list listeners first) instead of in waves. */
  inOrder?: boolean;
  nodeYaml?: (id: string, m: MeshMember, peerPorts: number[], extra: string) => string;
}

/** Start every node of `spec` (listeners first by construction: ports are chosen up front). */
export async function startMesh(spec: MeshSpec, opts: StartMeshOptions = {}): Promise<Mesh> {
  const root = await tempDir(opts.tempPrefix ?? "receptor-mesh-");
  const mesh = new Mesh(spec, root);
  for (const id of spec.nodes) {
    const dir = `${root}/${id}`;
    await Deno.mkdir(dir);
    mesh.members.set(id, {
      id,
      port: freePort(),
      dir,
      socket: `${dir}/${id}.sock`,
      config: `${dir}/${id}.yaml`,
      proc: undefined as unknown as NodeProcess,
    });
  }
  for (const id of spec.nodes) {
    const m = mesh.node(id);
    const extra = spec.extraYaml?.(id, m.dir) ?? "";
    await Deno.writeTextFile(
      m.config,
      opts.nodeYaml?.(id, m, mesh.peersOf(id), extra) ??
        meshNodeYaml(id, m.port, mesh.peersOf(id), m.socket, extra, spec.logLevel),
    );
  }
  try {
    // Start in waves so a node's dial targets are usually listening before it dials (a failed
    // first dial costs a 5 s redial). In a cycle, some node has to go first anyway.
    const started = new Set<string>();
    if (opts.inOrder) {
      for (const id of spec.nodes) {
        await mesh.startMember(id);
        started.add(id);
      }
    }
    while (started.size < spec.nodes.length) {
      const left = spec.nodes.filter((id) => !started.has(id));
      let wave = left.filter((id) =>
        spec.edges.every(([a, b]) => a !== id || started.has(b) || b === id)
      );
      if (wave.length === 0) wave = [left[0]];
      await Promise.all(wave.map((id) => mesh.startMember(id)));
      for (const id of wave) started.add(id);
    }
  } catch (e) {
    await mesh.stop();
    throw e;
  }
  return mesh;
}
