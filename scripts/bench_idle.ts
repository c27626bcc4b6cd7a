/**
 * `deno task bench idle`: RSS a real node spends per idle TCP connection before the handshake
 * (issue 10; goal < 16 KiB). A node from source with a `tcp-listener` whose cap is above the
 * count; `n` connections that never speak; (RSS with them − RSS before) / n, each the smallest
 * of a few samples.
 * @module
 */
import { ensureOpenFiles, IdleConns } from "../tests/helpers/idle_conns.ts";
import { rssKiB } from "../tests/helpers/hostile_peer.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function settledRss(pid: number): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    min = Math.min(min, rssKiB(pid));
    await new Promise((r) => setTimeout(r, 200));
  }
  return min;
}

/** Measure and `report` one line. */
export async function benchIdleConnections(
  report: (name: string, detail: string) => void,
  n = 2000,
): Promise<void> {
  await ensureOpenFiles(n + 1000);
  const dir = await Deno.makeTempDir({ prefix: "receptor-bench-idle-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const socket = `${dir}/node.sock`;
  await Deno.writeTextFile(
    `${dir}/node.yaml`,
    `---
- node:
    id: idle
    datadir: ${dir}/data
- log-level:
    level: error
- tcp-listener:
    bindaddr: 127.0.0.1
    port: ${port}
    maxunauthenticated: ${n + 100}
    handshaketimeout: 120s
- control-service:
    service: control
    filename: ${socket}
`,
  );
  const node = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--unstable-net",
      `${ROOT}main.ts`,
      "node",
      "-c",
      `${dir}/node.yaml`,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let conns: IdleConns | undefined;
  try {
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      try {
        await Deno.stat(socket);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await new Promise((r) => setTimeout(r, 1000)); // let start-up garbage settle
    const base = await settledRss(node.pid);
    conns = await IdleConns.open(port, n);
    await new Promise((r) => setTimeout(r, 1000));
    const held = conns.conns.length - conns.ended;
    const rss = await settledRss(node.pid);
    report(
      "idle TCP connections before the handshake",
      `${
        ((rss - base) / held).toFixed(1)
      } KiB RSS each (${held} held; node ${base} → ${rss} KiB; goal < 16 KiB)`,
    );
  } finally {
    conns?.close();
    node.kill("SIGTERM");
    await node.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await benchIdleConnections((n, d) => console.log(`${n}: ${d}`));
