/**
 * `examples/observability/node.yaml` as shipped (port and directory moved to free ones): the
 * node serves /ready, /health, the page and /metrics on the loopback URL the config shows, and
 * a unit submitted through its control socket appears in the metrics.
 * @module
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { runReceptor, startNode, stopAll } from "../helpers/node_process.ts";
import { type NodeProcess } from "../helpers/node_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("examples/observability: the one-node example serves what its comments say", async () => {
  const dir = await tempDir("receptor-observability-example-");
  const shipped = Deno.readTextFileSync(`${ROOT}examples/observability/node.yaml`);
  assertMatch(shipped, /address: 127\.0\.0\.1:9180/);
  assertStringIncludes(shipped, "http://127.0.0.1:9180/");
  const port = freePort();
  const text = shipped.replaceAll("9180", String(port))
    .replaceAll("/tmp/receptor-observability-example", dir);
  let node: NodeProcess | undefined;
  try {
    node = await startNode("node", () => text, { dir });
    const url = `http://127.0.0.1:${port}/`;
    await waitFor("/ready", async () => (await fetch(`${url}ready`)).status === 200, 20000);
    const h = await fetch(`${url}health`);
    assertEquals(h.status, 200);
    assertEquals((await h.json()).node, "observed");
    const page = await fetch(url);
    assertStringIncludes(await page.text(), '<script src="/app.js"></script>');
    const r = await runReceptor([
      "ctl",
      "--socket",
      `${dir}/node.sock`,
      "work",
      "submit",
      "echo",
      "-l",
      "hi",
      "-f",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), "hi");
    const m = await waitFor(
      "the unit in /metrics",
      async () => {
        const t = await (await fetch(`${url}metrics`)).text();
        return t.includes('receptor_work_units{work_type="echo",state="Succeeded"} 1') ? t : null;
      },
      20000,
      300,
    );
    assertStringIncludes(m, 'receptor_build_info{version="');
    assertStringIncludes(m, 'node_id="observed"');
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${node?.logText() ?? ""}`);
  } finally {
    await stopAll([node]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
