/**
 * Idle TCP connections for memory tests: open many connections that never speak, learn which
 * ones the server closed, and make sure this process may hold that many file descriptors.
 * @module
 */

/** A set of idle client connections, each drained (and discarded) until the server closes it. */
export class IdleConns {
  readonly conns: Deno.TcpConn[] = [];
  /** Connections the server has closed (EOF or reset). */
  ended = 0;
  /** Connections that could not be opened (refused at connect). */
  failed = 0;
  /** Why connections could not be opened: error text → count. */
  readonly failures = new Map<string, number>();

  /** Open `n` connections to 127.0.0.1:`port`, `batch` at a time. */
  static async open(port: number, n: number, batch = 100): Promise<IdleConns> {
    const s = new IdleConns();
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      const got = await Promise.allSettled(
        Array.from({ length: k }, () => Deno.connect({ hostname: "127.0.0.1", port })),
      );
      for (const g of got) {
        if (g.status === "fulfilled") {
          s.conns.push(g.value);
          s.#drain(g.value);
        } else {
          s.failed++;
          const why = String(g.reason);
          s.failures.set(why, (s.failures.get(why) ?? 0) + 1);
        }
      }
    }
    return s;
  }

  async #drain(c: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(1024);
    try {
      while ((await c.read(buf)) !== null) { /* discard the node's initial messages */ }
    } catch { /* reset or closed locally */ }
    this.ended++;
  }

  /** One line: how many were opened, failed (and why), ended, still open. */
  summary(): string {
    const why = [...this.failures].map(([e, k]) => `${k}× ${e}`).join(", ");
    return `opened ${this.conns.length}, failed at connect ${this.failed}` +
      `${why ? ` (${why})` : ""}, ended by the server ${this.ended}, ` +
      `still open ${this.conns.length - this.ended}`;
  }

  /**
   * Wait until something listens on 127.0.0.1:`port` (a connection is accepted by the kernel;
   * it is closed at once). A node creates its control socket before it binds its backends, and
   * the ws-listener's module is loaded lazily, so a test that waited only for the control
   * socket could otherwise connect to a port nobody listens on yet (ECONNREFUSED).
   */
  static async waitListening(port: number, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return;
      } catch (e) {
        if (!(e instanceof Deno.errors.ConnectionRefused) || Date.now() > deadline) {
          throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms: ${e}`);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Close every connection still open. */
  close(): void {
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  }
}

/** This process's soft limit on open files. */
export function openFileLimit(): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(Deno.readTextFileSync("/proc/self/limits"));
  if (!m) throw new Error("cannot read Max open files from /proc/self/limits");
  return m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/**
 * Make sure this process (and the nodes it starts, which inherit the limit) may open `need`
 * files: raise the limit with `prlimit` if it is lower. Throws a one-line reason if it cannot.
 */
export async function ensureOpenFiles(need: number): Promise<void> {
  if (openFileLimit() >= need) return;
  const want = String(Math.max(need, 8192));
  try {
    await new Deno.Command("prlimit", {
      args: ["--pid", String(Deno.pid), `--nofile=${want}:${want}`],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch { /* reported below */ }
  if (openFileLimit() < need) {
    throw new Error(
      `missing open-file headroom: need ${need}, have ${openFileLimit()} (raise ulimit -n, ` +
        "or install util-linux's prlimit and run as a user allowed to raise it)",
    );
  }
}
