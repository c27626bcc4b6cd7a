/**
 * The README's first command, `deno task demo` (scripts/demo.ts), run as a user would: it must
 * show the 3-node mesh status, an answered 2-hop ping, the full traceroute and the remote work's
 * output, and exit 0 having stopped its nodes.
 * @module
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno task demo: status, 2-hop ping and traceroute, remote work", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", `${ROOT}scripts/demo.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `demo failed:\n${text}\n${err}`);
  assertMatch(text, /exec1\s+hop1/, "exec1 is routed via hop1");
  assertMatch(text, /Reply from exec1 in /);
  assertMatch(text, /2: exec1 in /);
  assertStringIncludes(text, "HELLO FROM THE CONTROLLER, RUN ON EXEC1 TWO HOPS AWAY");
  assertMatch(text, /Live mesh page: http:\/\/127\.0\.0\.1:\d+\//);
  assertStringIncludes(text, "demo done: nodes stopped");
});
