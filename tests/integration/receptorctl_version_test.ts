/**
 * What the real receptorctl prints about our version: `receptor` shows
 * `<upstream>+deno.<ours>` and, because receptorctl compares versions for equality, its
 * stderr warning appears while the command itself succeeds (documented in README).
 * @module
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { startNode, stopAll } from "../helpers/node_process.ts";
import { receptorctl } from "../helpers/peers.ts";
import { runTool } from "../helpers/run.ts";
import { UPSTREAM_COMPAT, VERSION } from "../../src/version.ts";

Deno.test("receptorctl version: states the upstream version we implement", async () => {
  const ctl = receptorctl();
  const node = await startNode(
    "ver",
    (d, s) =>
      `- node:\n    id: ver\n    datadir: ${d}\n- local-only:\n- control-service:\n    filename: ${s}\n`,
  );
  try {
    assertEquals(VERSION, `${UPSTREAM_COMPAT}+deno.0.1.0`);
    const r = await runTool(ctl, ["--socket", node.socket, "version"]);
    assertEquals(r.code, 0, r.err);
    assertStringIncludes(r.out, `receptor     ${VERSION}\n`);
    assertStringIncludes(
      r.err,
      "Warning: receptorctl and receptor are different versions, they may not be compatible",
    );
    const st = await runTool(ctl, ["--socket", node.socket, "status"]);
    assertStringIncludes(st.out, `Version: ${VERSION}`);
  } finally {
    await stopAll([node]);
  }
});
