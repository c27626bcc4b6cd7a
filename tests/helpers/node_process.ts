/**
 * Start real `receptor` node processes for integration tests: from the bundle built by
 * `deno task bundle` (dist/receptor.js) when present — the build CI ships — else from source.
 * Output is captured so a failing test can show the node's log.
 * @module
 */
import { tempDir, waitFor } from "./net.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** argv prefix that runs the receptor program under test. */
export function receptorCommand(): string[] {
  const deno = Deno.execPath();
  const bundle = `${ROOT}dist/receptor.js`;
  const useSource = Deno.env.get("RECEPTOR_FROM_SOURCE") === "1";
  let entry = `${ROOT}main.ts`;
  if (!useSource) {
    try {
      Deno.statSync(bundle);
      entry = bundle;
    } catch { /* no bundle: run from source */ }
  }
  return [deno, "run", "--allow-all", "--unstable-net", entry];
}

/** Run `receptor <args>` to completion; returns code and output. */
export async function runReceptor(
  args: string[],
  opts: { stdin?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...pre] = receptorCommand();
  const p = new Deno.Command(cmd, {
    args: [...pre, ...args],
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    cwd: opts.cwd,
    env: opts.env,
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await p.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running node process. */
export class NodeProcess {
  readonly log: string[] = [];
  #child: Deno.ChildProcess;
  #exited: Promise<Deno.CommandStatus>;
  #exitedFlag = false;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly socket: string,
    args: string[],
    env?: Record<string, string>,
  ) {
    const [cmd, ...pre] = receptorCommand();
    this.#child = new Deno.Command(cmd, {
      args: [...pre, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.#pump(this.#child.stdout);
    this.#pump(this.#child.stderr);
    this.#exited = this.#child.status.then((s) => {
      this.#exitedFlag = true;
      return s;
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#exitedFlag;
  }

  async #pump(s: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let partial = "";
    for await (const chunk of s) {
      partial += dec.decode(chunk, { stream: true });
      const lines = partial.split("\n");
      partial = lines.pop()!;
      this.log.push(...lines);
    }
    if (partial) this.log.push(partial);
  }

  /** Whole captured log as text. */
  logText(): string {
    return this.log.join("\n");
  }

  /** Wait until a log line matches. */
  waitForLog(re: RegExp, timeoutMs = 20000): Promise<string> {
    return waitFor(
      `log line ${re} from ${this.name}`,
      () => this.log.find((l) => re.test(l)),
      timeoutMs,
    );
  }

  /** Send a signal (default SIGTERM). */
  kill(sig: Deno.Signal = "SIGTERM"): void {
    if (this.#exitedFlag) return;
    try {
      this.#child.kill(sig);
    } catch { /* gone */ }
  }

  /** Stop the node (SIGTERM, then SIGKILL after 5 s) and wait for it. */
  async stop(): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const t = setTimeout(() => this.kill("SIGKILL"), 5000);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** Wait for the process to exit by itself. */
  wait(): Promise<Deno.CommandStatus> {
    return this.#exited;
  }
}

/** Start a node from YAML config text in its own temp dir; waits for its control socket. */
export async function startNode(
  name: string,
  yaml: (dir: string, socket: string) => string,
  opts: { waitSocket?: boolean; extraArgs?: string[]; dir?: string } = {},
): Promise<NodeProcess> {
  const dir = opts.dir ?? await tempDir(`receptor-${name}-`);
  const socket = `${dir}/${name}.sock`;
  const cfg = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(cfg, yaml(dir, socket));
  const node = new NodeProcess(name, dir, socket, ["node", "-c", cfg, ...(opts.extraArgs ?? [])]);
  if (opts.waitSocket !== false) {
    try {
      await waitFor(`control socket of ${name}`, async () => {
        if (node.exited) throw new Error(`node ${name} exited:\n${node.logText()}`);
        await Deno.stat(socket);
        return true;
      });
    } catch (e) {
      await node.stop();
      throw e;
    }
  }
  return node;
}

/** Stop every node, ignoring errors; removes their temp dirs. */
export async function stopAll(nodes: (NodeProcess | undefined)[]): Promise<void> {
  await Promise.all(nodes.map(async (n) => {
    if (!n) return;
    await n.stop().catch(() => {});
    await Deno.remove(n.dir, { recursive: true }).catch(() => {});
  }));
}

/**
 * Start a node (as {@link startNode}), run `fn` with it, print the node's log when `fn` throws,
 * (its last `logTail` characters when given), then run `beforeStop` (e.g. release leftover work, errors ignored) and stop the node and remove
 * its temp dir.
 */
export async function withNode(
  name: string,
  yaml: (dir: string, socket: string) => string,
  fn: (n: NodeProcess) => Promise<void>,
  opts: { beforeStop?: (n: NodeProcess) => Promise<unknown>; logTail?: number } = {},
): Promise<void> {
  const n = await startNode(name, yaml);
  try {
    await fn(n);
  } catch (e) {
    console.error(opts.logTail ? n.logText().slice(-opts.logTail) : n.logText());
    throw e;
  } finally {
    await opts.beforeStop?.(n).catch(() => {});
    await stopAll([n]);
  }
}
