/**
 * `work-deno` against a real node: a module that upper-cases stdin succeeds; a module that
 * reads outside its `allowread` list fails with a Detail naming the denied permission, while
 * reading inside it works; runtime params need `allowruntimeparams`; the types are
 * advertised like other work types.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { type NodeProcess, runReceptor, withNode } from "../helpers/node_process.ts";
import { waitFor } from "../helpers/net.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import { workStatus } from "../../src/ctl/work_client.ts";
import { denoRunArgs, parseDeniedPermission, shlexQuote } from "../../src/work/deno_unit.ts";
import { shlexSplit } from "../../src/gocompat/shlex.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const UPPER = `const text = await new Response(Deno.stdin.readable).text();
await Deno.stdout.write(new TextEncoder().encode(text.toUpperCase() + Deno.args.join(",")));
`;
const READER = `const path = Deno.args[0];
console.log("reading " + path);
console.log(await Deno.readTextFile(path));
`;

function withDenoNode(fn: (n: NodeProcess) => Promise<void>): Promise<void> {
  return withNode("denonode", (dir, socket) => {
    Deno.mkdirSync(`${dir}/allowed`);
    Deno.writeTextFileSync(`${dir}/allowed/ok.txt`, "inside");
    Deno.writeTextFileSync(`${dir}/secret.txt`, "outside");
    Deno.writeTextFileSync(`${dir}/upper.ts`, UPPER);
    Deno.writeTextFileSync(`${dir}/reader.ts`, READER);
    return `---
- node:
    id: denonode
    datadir: ${dir}/data
- local-only:
- control-service:
    service: control
    filename: ${socket}
- work-deno:
    worktype: upper
    module: ${dir}/upper.ts
- work-deno:
    worktype: reader
    module: file://${dir}/reader.ts
    allowread:
      - ${dir}/allowed
    allowruntimeparams: true
`;
  }, fn);
}

const ctl = (n: NodeProcess, args: string[]) =>
  runReceptor(["ctl", "--socket", n.socket, "work", ...args]);

Deno.test("work-deno: sandboxed modules run; denied permission named in Detail", opts, async () => {
  await withDenoNode(async (n) => {
    let r = await ctl(n, ["submit", "upper", "-l", "hello deno", "-f"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "HELLO DENO\n");

    // runtime params are refused without allowruntimeparams
    r = await ctl(n, ["submit", "upper", "-n", "x"]);
    assertEquals(r.code, 101);
    assertStringIncludes(r.stderr, "extra params provided but not allowed");

    // reading inside allowread works (runtime params become Deno.args)
    r = await ctl(n, ["submit", "reader", "-n", "-f", `${n.dir}/allowed/ok.txt`]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "inside");

    // reading outside allowread fails, Detail names the permission
    const secret = `${n.dir}/secret.txt`;
    r = await ctl(n, ["submit", "reader", "-n", secret]);
    assertEquals(r.code, 0, r.stderr);
    const id = /Unit ID: (\S+)/.exec(r.stdout)![1];
    const c = await ReceptorClient.connect(n.socket);
    try {
      const st = await waitFor("permission detail", async () => {
        const s = await workStatus(c, id);
        return s.State === 3 && s.Detail.startsWith("Permission denied") ? s : null;
      });
      assertStringIncludes(st.Detail, `requires read access to "${secret}"`);
      assertStringIncludes(st.Detail, "exit status 1");
    } finally {
      c.close();
    }
    r = await ctl(n, ["results", id]);
    assertEquals(r.code, 1);
    assert(!r.stdout.includes("outside"), "secret leaked");
    assertStringIncludes(r.stdout, `NotCapable: Requires read access to "${secret}"`);
    assert(!r.stdout.includes("\x1b["), "results carry no colour escapes");
    assertStringIncludes(r.stderr, "Remote unit failed: Permission denied: requires read access");

    // advertised like other work types
    const c2 = await ReceptorClient.connect(n.socket);
    const status = await c2.status();
    c2.close();
    const ads = status.Advertisements as { WorkCommands: { WorkType: string }[] | null }[];
    const types = ads.flatMap((a) => a.WorkCommands ?? []).map((w) => w.WorkType).sort();
    assertEquals(types, ["reader", "upper"]);
  });
});

Deno.test("work-deno: argument building and permission parsing", () => {
  const args = denoRunArgs({
    worktype: "t",
    module: "mods/x y.ts",
    allowread: ["/a", "/b,c"],
    allownet: ["example.com:443"],
    allowenv: [],
  }, "/srv");
  assertEquals(args, [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-remote",
    "--no-npm",
    "--allow-read=/a,/b,,c",
    "--allow-net=example.com:443",
    "/srv/mods/x y.ts",
  ]);
  for (const a of ["plain", "x y", "it's", "#hash", "", 'a"b\\c']) {
    assertEquals(shlexSplit(shlexQuote(a)), [a]);
  }
  assertEquals(
    parseDeniedPermission(
      '\x1b[31merror\x1b[0m: Uncaught (in promise) NotCapable: Requires net access to "x:80", run again with the --allow-net flag',
    ),
    'requires net access to "x:80"',
  );
  assertEquals(
    parseDeniedPermission("NotCapable: Requires env access, run again with the --allow-env flag"),
    "requires env access",
  );
  assertEquals(parseDeniedPermission("all fine"), null);
});
