/**
 * `work-deno` sandbox escapes (issue 10), against a real node: a module granted nothing cannot
 * read a local file through a static import (.ts and .json), a literal dynamic `import()` with
 * a JSON import attribute, or a computed `import()`; a symlink inside `allowread` or
 * `allowwrite` that leads outside makes the node refuse the unit. Imports from inside
 * `allowread` still work, so the rule is not simply "no imports".
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { type NodeProcess, runReceptor, withNode } from "../helpers/node_process.ts";
import { waitFor } from "../helpers/net.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import { workStatus } from "../../src/ctl/work_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const SECRET = "s3cr3t-outside-the-grants";

/** Module sources by work type; `D` is replaced by the node's temp dir. */
const MODULES: Record<string, string> = {
  staticjson: `import s from "D/secret/secret.json" with { type: "json" };\nconsole.log(s.v);\n`,
  staticts: `import { v } from "D/secret/secret.ts";\nconsole.log(v);\n`,
  dynjson: `const m = await import("D/secret/secret.json", { with: { type: "json" } });
console.log(m.default.v);\n`,
  dyncomputed: `const p = ["D/secret/secret", "json"].join(".");
const m = await import(p, { with: { type: "json" } });\nconsole.log(m.default.v);\n`,
  symread: `console.log(await Deno.readTextFile("D/rgrant/link.txt"));\n`,
  symwrite:
    `await Deno.writeTextFile("D/wgrant/dirlink/planted.txt", "x");\nconsole.log("wrote");\n`,
  libok: `import { hello } from "D/lib/hello.ts";\nconsole.log(hello());\n`,
};

function withSandboxNode(fn: (n: NodeProcess) => Promise<void>): Promise<void> {
  return withNode("sandbox", (dir, socket) => {
    for (const d of ["secret", "mods", "rgrant", "wgrant", "lib", "outdir"]) {
      Deno.mkdirSync(`${dir}/${d}`);
    }
    Deno.writeTextFileSync(`${dir}/secret/secret.json`, JSON.stringify({ v: SECRET }));
    Deno.writeTextFileSync(`${dir}/secret/secret.ts`, `export const v = "${SECRET}";\n`);
    Deno.writeTextFileSync(`${dir}/secret/plain.txt`, SECRET);
    Deno.symlinkSync(`${dir}/secret/plain.txt`, `${dir}/rgrant/link.txt`);
    Deno.symlinkSync(`${dir}/outdir`, `${dir}/wgrant/dirlink`);
    Deno.writeTextFileSync(`${dir}/lib/hello.ts`, `export const hello = () => "hello from lib";\n`);
    const sections = Object.entries(MODULES).map(([name, src]) => {
      Deno.writeTextFileSync(`${dir}/mods/${name}.ts`, src.replaceAll("D/", `${dir}/`));
      const grants = name === "symread"
        ? `    allowread:\n      - ${dir}/rgrant\n`
        : name === "symwrite"
        ? `    allowwrite:\n      - ${dir}/wgrant\n`
        : name === "libok"
        ? `    allowread:\n      - ${dir}/lib\n`
        : "";
      return `- work-deno:\n    worktype: ${name}\n    module: ${dir}/mods/${name}.ts\n${grants}`;
    });
    return `---
- node:
    id: sandbox
    datadir: ${dir}/data
- local-only:
- control-service:
    service: control
    filename: ${socket}
${sections.join("")}`;
  }, fn);
}

/** Submit `type` with an empty payload; returns the unit's final state, detail and output. */
async function run(n: NodeProcess, type: string) {
  const r = await runReceptor(["ctl", "--socket", n.socket, "work", "submit", type, "-n"]);
  // a unit the sandbox refuses fails at start: submit reports its Detail
  if (r.code !== 0) return { state: 3, detail: r.stderr, output: r.stdout + r.stderr };
  const id = /Unit ID: (\S+)/.exec(r.stdout)![1];
  const c = await ReceptorClient.connect(n.socket);
  try {
    const st = await waitFor(`unit ${type} to finish`, async () => {
      const s = await workStatus(c, id);
      return s.State === 2 || s.State === 3 ? s : null;
    }, 60000);
    const res = await runReceptor(["ctl", "--socket", n.socket, "work", "results", id]);
    return { state: st.State, detail: st.Detail, output: res.stdout + res.stderr };
  } finally {
    c.close();
  }
}

Deno.test(
  "hostile: work-deno imports and symlinks cannot reach outside the grants",
  opts,
  async () => {
    await withSandboxNode(async (n) => {
      const results = await Promise.all(Object.keys(MODULES).map((t) => run(n, t)));
      const by = Object.fromEntries(Object.keys(MODULES).map((t, i) => [t, results[i]]));
      for (const t of ["staticjson", "staticts", "dynjson", "dyncomputed", "symread", "symwrite"]) {
        const r = by[t];
        assertEquals(r.state, 3, `${t} must fail: ${r.detail}`);
        assert(!r.output.includes(SECRET), `${t} leaked the secret: ${r.output}`);
      }
      // imports the bundle would take in from outside allowread refuse the unit before it runs
      for (const t of ["staticjson", "staticts", "dynjson"]) {
        assertStringIncludes(by[t].detail, "Sandbox: module imports");
        assertStringIncludes(by[t].detail, "which is not inside allowread");
      }
      // a computed import() is resolved at run time, where Deno checks read permission
      assertStringIncludes(
        by.dyncomputed.output,
        `Requires read access to "${n.dir}/secret/secret.json"`,
      );
      assertStringIncludes(by.symread.detail, "Sandbox: allowread");
      assertStringIncludes(by.symread.detail, "leads outside the granted paths");
      assertStringIncludes(by.symwrite.detail, "Sandbox: allowwrite");
      assert(!existsSync(`${n.dir}/outdir/planted.txt`), "nothing was written through the symlink");
      // an import from inside allowread is fine
      assertEquals(by.libok.state, 2, by.libok.detail);
      assertStringIncludes(by.libok.output, "hello from lib");
    });
  },
);

function existsSync(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
