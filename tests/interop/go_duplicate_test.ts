/**
 * The duplicate-notice credibility rule against a real Go receptor node (README "Duplicate node
 * IDs (credibility rule)", wire.md §5.5). Opt-in: set RECEPTOR_GO_BINARY to a Go receptor
 * executable you built yourself; without it the test is reported as ignored, not passed.
 *
 * Mesh: Go node `twin` → tsb ← tsc, and later tsd → tsb. Our node, also called `twin`, runs
 * with the opt-in `duplicatenotice: exit` (Go's behaviour; the default `stay` never exits) and
 * joins with peers tsc and tsd while tsd is not running yet: the Go original's notices reach it
 * over one link, so it stays up, re-announcing with back-off. Then tsd starts, our twin's second
 * link comes up, the notices arrive over both, and it exits as Go's duplicate would. The Go node
 * stays up throughout and answers pings as `twin` at the end.
 */
import { goReceptorBinary, goReceptorTestName } from "../helpers/peers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";

const GO = goReceptorBinary();
/** How long our twin is watched with one link (it must stay up). */
const ONE_LINK_MS = 30_000;

const nodeYaml = (
  id: string,
  dir: string,
  sock: string,
  listen?: number,
  peers: number[] = [],
  nodeLines = "", // more `node` keys (for our twin only: not upstream keys)
) =>
  `- node:\n    id: ${id}\n    datadir: ${dir}\n${nodeLines}` +
  (listen ? `- tcp-listener:\n    port: ${listen}\n    bindaddr: 127.0.0.1\n` : "") +
  peers.map((p) => `- tcp-peer:\n    address: 127.0.0.1:${p}\n`).join("") +
  `- control-service:\n    filename: ${sock}\n`;

Deno.test({
  name: goReceptorTestName(
    "interop: a Go original's duplicate notices stop our twin only once they arrive over two links",
  ),
  ignore: !GO,
  async fn() {
    const dir = await tempDir("receptor-go-dup-");
    const pb = freePort(), pc = freePort(), pd = freePort();
    const nodes: (NodeProcess | undefined)[] = [];
    let go: Deno.ChildProcess | undefined;
    let goExited = false;
    try {
      const tsb = await startNode("tsb", (d, s) => nodeYaml("tsb", d, s, pb));
      nodes.push(tsb);
      nodes.push(await startNode("tsc", (d, s) => nodeYaml("tsc", d, s, pc, [pb])));
      await Deno.writeTextFile(
        `${dir}/twin.yaml`,
        nodeYaml("twin", dir, `${dir}/go.sock`, 0, [pb]),
      );
      go = new Deno.Command("sh", {
        args: ["-c", `exec "$0" -c "$1" >"$2" 2>&1`, GO!, `${dir}/twin.yaml`, `${dir}/go.log`],
      }).spawn();
      go.status.then(() => {
        goExited = true;
      });
      const ping = async (to: string) => {
        const c = await ReceptorClient.connect(tsb.socket);
        try {
          return await c.ping(to);
        } finally {
          c.close();
        }
      };
      await waitFor("tsb pings the Go twin", async () => (await ping("twin")).Success, 30_000, 500);
      // our twin (a later epoch): peers tsc (up) and tsd (not started yet)
      await new Promise((r) => setTimeout(r, 1100)); // a clearly larger epoch than Go's
      const twin = await startNode(
        "twin",
        (d, s) => nodeYaml("twin", d, s, 0, [pc, pd], "    duplicatenotice: exit\n"),
      );
      nodes.push(twin);
      await twin.waitForLog(/DUPLICATE NODE NOTICE/, 20_000);
      await new Promise((r) => setTimeout(r, ONE_LINK_MS));
      const bumps = twin.log.filter((l) => l.includes("DUPLICATE NODE NOTICE")).length;
      assert(!twin.exited, `our twin exited with one link:\n${twin.logText()}`);
      assert(bumps >= 2 && bumps <= 1 + Math.ceil(Math.log2(ONE_LINK_MS / 1000)), `${bumps} bumps`);
      assert(!goExited, "the Go twin exited");
      // a second link: tsd joins the mesh at the port our twin has been redialling
      nodes.push(await startNode("tsd", (d, s) => nodeYaml("tsd", d, s, pd, [pb])));
      const t0 = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const st = await Promise.race([
        twin.wait(),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), 60_000))),
      ]).finally(() => clearTimeout(timer));
      assert(st !== null, `our twin still running 60 s after its second link:\n${twin.logText()}`);
      assertEquals(st.code, 1);
      console.log(
        `one link: ${bumps} re-announcements in ${ONE_LINK_MS / 1000} s; two links: exited ` +
          `${((Date.now() - t0) / 1000).toFixed(1)} s after tsd started`,
      );
      assert(twin.log.some((l) => l.includes("We are a duplicate node")));
      assert(!goExited, "the Go twin exited");
      const p = await waitFor(
        "tsb pings the Go twin again",
        async () => {
          const r = await ping("twin");
          return r.Success ? r : null;
        },
        30_000,
        500,
      );
      assertEquals(p.From, "twin");
    } catch (e) {
      console.error(await Deno.readTextFile(`${dir}/go.log`).catch(() => "(no Go log)"));
      throw e;
    } finally {
      try {
        go?.kill("SIGTERM");
      } catch { /* gone */ }
      await go?.status;
      await stopAll(nodes);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
