/**
 * The live mesh page in a real headless Chromium (Debian's `chromium` driven by playwright-core,
 * both installed by scripts/peers/browser.ts): on a 4-node mesh the page on node a lists every
 * node and link as text; after node d is killed the page drops d's link within seconds, without
 * a reload. A screenshot is saved to tests/artifacts/ (gitignored).
 */
import { createRequire } from "node:module";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { chromium, playwrightCoreDir, REPO_ROOT } from "../helpers/peers.ts";

const ARTIFACTS = `${REPO_ROOT}tests/artifacts`;

/** Chromium flags: no network side traffic, no GPU, no sandbox (root in CI). */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// deno-lint-ignore no-explicit-any
type Playwright = any;

/** Chromium and the pinned playwright-core, or a `missing <peer>: <how>` failure. */
function loadPlaywright(): Playwright {
  chromium();
  return createRequire(import.meta.url)(playwrightCoreDir());
}

Deno.test("observability: the live mesh page shows a 4-node mesh and follows a node's death", async () => {
  const pw = loadPlaywright();
  const port = freePort();
  const mesh = await startMesh({
    nodes: ["a", "b", "c", "d"],
    // [dialer, listener]: a ring a-b-c-d plus the chord a-c
    edges: [["b", "a"], ["c", "b"], ["d", "c"], ["c", "a"]],
    extraYaml: (id) =>
      id === "a"
        ? `- observability:\n    address: 127.0.0.1:${port}\n`
        : `- work-command:\n    worktype: echo-${id}\n    command: cat\n`,
  }, { tempPrefix: "receptor-page-" });
  const profile = await tempDir("receptor-chromium-");
  let ctx: Playwright;
  try {
    await mesh.waitConverged();
    ctx = await pw.chromium.launchPersistentContext(profile, {
      executablePath: chromium(),
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 800 },
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    const rows = (table: string): Promise<string[]> =>
      page.$$eval(
        `#${table} tbody tr`,
        (trs: { textContent: string | null }[]) => trs.map((t) => t.textContent ?? ""),
      );
    const keys = (table: string): Promise<string[]> =>
      page.$$eval(
        `#${table} tbody tr[data-key]`,
        (trs: { dataset: { key: string } }[]) => trs.map((t) => t.dataset.key),
      );

    await waitFor(
      "all four nodes and links on the page",
      async () => {
        const n = await keys("nodes");
        const l = await keys("links");
        return n.join() === "a,b,c,d" && l.length === 4;
      },
      15000,
      200,
    );
    assertEquals(await keys("nodes"), ["a", "b", "c", "d"]);
    assertEquals(await page.textContent("#self"), "a");
    assertEquals(await keys("links"), ["a b", "a c", "b c", "c d"]);
    const nodeRows = await rows("nodes");
    assert(nodeRows.some((r) => r.startsWith("d") && r.includes("c")), `d via c: ${nodeRows}`);
    assert(nodeRows.some((r) => r.includes("echo-b")), `b's work type shown: ${nodeRows}`);
    assertEquals((await keys("peers")).sort(), ["b", "c"]);
    // The graph has one labelled group per node (the tables carry the same facts as text).
    assertEquals(await page.$$eval("#graph g.node", (g: unknown[]) => g.length), 4);
    assertEquals(await page.getAttribute("#graph", "role"), "img");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/mesh_page.png`, fullPage: true });

    await mesh.kill("d");
    await waitFor(
      "the page to drop node d's link",
      async () => {
        const l = await keys("links");
        return l.join() === "a b,a c,b c";
      },
      10000,
      100,
    );
    assertEquals(await keys("links"), ["a b", "a c", "b c"], "links after d died");
    const after = await keys("nodes");
    const dRow = (await rows("nodes")).find((r) => r.startsWith("d"));
    assert(!after.includes("d") || dRow?.includes("no route"), `d still routed: ${dRow}`);
    const said = await waitFor(
      "an announcement of the change",
      async () => {
        const c = (await page.textContent("#changes")) ?? "";
        return /(left|unreachable): d/.test(c) ? c : null;
      },
      5000,
      100,
    );
    assert(said.includes("d"));
    await page.screenshot({ path: `${ARTIFACTS}/mesh_page_after_kill.png`, fullPage: true });
    assertEquals(errors, []);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${mesh.logs()}`);
  } finally {
    await ctx?.close().catch(() => {});
    await mesh.stop();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
});
