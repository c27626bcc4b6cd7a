/**
 * `deno task demo`: starts the three-node mesh of examples/three-node (controller → hop1 ←
 * exec1) on a free port in a temp dir, then shows what receptor does: the mesh status, a
 * 2-hop ping and traceroute, and remote work on exec1 submitted from the controller with its
 * output streamed back. The controller also serves the live mesh page and metrics (the
 * `observability` section); its URL is printed. Stops the nodes at the end (or on Ctrl-C);
 * `deno task demo --keep` keeps the mesh up until Ctrl-C so the page can be looked at.
 * @module
 */
import { ReceptorClient } from "../src/ctl/client.ts";
import { formatStatus } from "../src/ctl/format_status.ts";

const root = new URL("../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "receptor-demo-" });
function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return p;
}
const port = freePort();
const httpPort = freePort();
const pageUrl = `http://127.0.0.1:${httpPort}/`;
const keep = Deno.args.includes("--keep");

const names = ["hop1", "exec1", "controller"];
const children: Deno.ChildProcess[] = [];
const say = (s: string) => console.log(`\x1b[1m${s}\x1b[0m`);

async function stopAll() {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch { /* gone */ }
  }
  await Promise.all(children.map((c) => c.status.catch(() => {})));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    await stopAll();
    if (keep) say("\nnodes stopped");
    Deno.exit(keep ? 0 : 130);
  });
}

for (const name of names) {
  const text = (await Deno.readTextFile(`${root}examples/three-node/${name}.yaml`))
    .replaceAll("27199", String(port))
    .replaceAll("/tmp/receptor-example", dir);
  // The controller serves the live mesh page, /metrics and /health on loopback.
  const extra = name === "controller"
    ? `\n- observability:\n    address: 127.0.0.1:${httpPort}\n`
    : "";
  await Deno.writeTextFile(`${dir}/${name}.yaml`, text + extra);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--unstable-net",
      `${root}main.ts`,
      "node",
      "-c",
      `${dir}/${name}.yaml`,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  children.push(child);
  say(`started ${name} (pid ${child.pid}) with ${dir}/${name}.yaml`);
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

try {
  const sock = `${dir}/controller.sock`;
  const client = await waitFor("controller socket", () => ReceptorClient.connect(sock));
  await waitFor("exec1's work types to reach the controller", async () => {
    const s = await client.status();
    const ads = s.Advertisements as { NodeID: string; WorkCommands: unknown[] | null }[];
    return ads.some((a) => a.NodeID === "exec1" && a.WorkCommands?.length) ? s : undefined;
  });
  // Service ads can arrive before routes have converged both ways: an answered ping shows they have.
  await waitFor("routes between the controller and exec1", async () => {
    const r = await client.ping("exec1");
    return r.Success ? r : undefined;
  });
  say("\n$ receptor ctl --socket controller.sock status");
  console.log(formatStatus(await client.status()));
  say("$ receptor ctl --socket controller.sock ping exec1");
  const p = await client.ping("exec1");
  console.log(p.Success ? `Reply from ${p.From} in ${p.TimeStr}` : p.Error);
  say("\n$ receptor ctl --socket controller.sock traceroute exec1");
  const t = await client.traceroute("exec1");
  for (const k of Object.keys(t)) console.log(`${k}: ${t[k].From} in ${t[k].TimeStr}`);
  client.close();

  say(
    "\n$ receptor ctl --socket controller.sock work submit upper --node exec1 -l '...' --follow",
  );
  const { runCtlCli } = await import("../src/ctl/cli.ts");
  const code = await runCtlCli([
    "--socket",
    sock,
    "work",
    "submit",
    "upper",
    "--node",
    "exec1",
    "--payload-literal",
    "hello from the controller, run on exec1 two hops away",
    "--follow",
  ]);
  if (code !== 0) console.log(`(remote work exited with ${code})`);
  say(`\nLive mesh page: ${pageUrl}  (metrics: ${pageUrl}metrics)`);
} catch (e) {
  console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
  await stopAll();
  Deno.exit(1);
}
if (keep) {
  say("mesh kept up (--keep): open the page above; Ctrl-C stops the nodes");
  setInterval(() => {}, 1 << 30); // stay up; the signal listeners stop the nodes and exit
  await new Promise(() => {});
}
await stopAll();
say("\ndemo done: nodes stopped");
