/**
 * `deno task demo --keep`: the demo prints the live mesh page's URL, keeps the mesh up after
 * its steps (the page answers and lists all three nodes), and stops the nodes on Ctrl-C.
 * @module
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno task demo --keep: prints the page URL and keeps the mesh up until SIGINT", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", `${ROOT}scripts/demo.ts`, "--keep"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let out = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) out += dec.decode(chunk, { stream: true });
  })();
  const errText = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  const readingErr = (async () => {
    for (;;) {
      const { value, done } = await errText.read();
      if (done) return;
      err += value;
    }
  })();
  let stopped = false;
  try {
    await waitFor("the demo to keep the mesh up", () => out.includes("Ctrl-C"), 120000, 200);
    const url = /Live mesh page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    assert(url, `no page URL in:\n${out}`);
    const page = await fetch(url);
    assertEquals(page.status, 200);
    assertStringIncludes(await page.text(), "<title>receptor mesh</title>");
    const mesh = await (await fetch(`${url}api/mesh`)).json();
    assertEquals(mesh.nodes.map((n: { id: string }) => n.id), ["controller", "exec1", "hop1"]);
    child.kill("SIGINT");
    const st = await child.status;
    stopped = true;
    await reading;
    await readingErr;
    assertEquals(st.code, 0, `demo --keep exit:\n${out}\n${err}`);
    assertStringIncludes(out, "nodes stopped");
    await waitFor(
      "the page to go away",
      async () => {
        try {
          await (await fetch(url)).body?.cancel();
          return false;
        } catch {
          return true;
        }
      },
      10000,
      200,
    );
    await assertRejects(() => fetch(url));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`);
  } finally {
    if (!stopped) {
      try {
        child.kill("SIGINT");
      } catch { /* gone */ }
      await child.status;
      await reading.catch(() => {});
      await readingErr.catch(() => {});
    }
  }
});
