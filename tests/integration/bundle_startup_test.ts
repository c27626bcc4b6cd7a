/**
 * What `deno run dist/receptor.js` reads before running (issue 11): Deno builds the module graph
 * up front and follows every `import()` with a literal specifier, so the bundle hides its lazy
 * chunk imports (scripts/bundle.ts). Checked with `deno info`, which builds the same graph: the
 * entry's graph holds only the entry and the chunks it imports statically — no mode's chunk —
 * while `--version`, `ctl --help` and `cert --help` (each loading its mode lazily) still work.
 * Needs the bundle (`deno task bundle`, run by `deno task test`).
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { hideLazyImports } from "../../scripts/bundle.ts";
import { VERSION } from "../../src/version.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DIST = `${ROOT}dist`;
const ENTRY = `${DIST}/receptor.js`;

function requireBundle(): void {
  try {
    Deno.statSync(ENTRY);
  } catch {
    throw new Error("missing dist/receptor.js: run `deno task bundle`");
  }
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("bundle: hideLazyImports rewrites chunk imports only", () => {
  const src =
    'const a = import("./cli-AB12.js");\nimport("node:vm");\nimport { x } from "./c.js";\n';
  assertEquals(
    hideLazyImports(src),
    'const a = import(new URL("./cli-AB12.js", import.meta.url).href);\n' +
      'import("node:vm");\nimport { x } from "./c.js";\n',
  );
});

Deno.test("bundle: deno's start-up graph of dist/receptor.js holds no lazily loaded chunk", async () => {
  requireBundle();
  const entryText = Deno.readTextFileSync(ENTRY);
  assert(!/\bimport\("\.\//.test(entryText), "the entry still has a literal lazy import()");
  const staticDeps = [...entryText.matchAll(/^} from "\.\/([\w-]+\.js)";$/gm)].map((m) => m[1]);
  const r = await run(["info", "--json", ENTRY]);
  assertEquals(r.code, 0, `deno info failed: ${r.stderr}`);
  const files = (JSON.parse(r.stdout).modules as { specifier: string }[])
    .map((m) => m.specifier)
    .filter((s) => s.startsWith("file:"))
    .map((s) => s.slice(s.lastIndexOf("/") + 1))
    .sort();
  assertEquals(files, ["receptor.js", ...staticDeps].sort(), "modules in the start-up graph");
  const chunks = [...Deno.readDirSync(DIST)].filter((e) => e.name.endsWith(".js")).length;
  assert(chunks > files.length + 10, `dist/ holds ${chunks} files, the graph ${files.length}`);
});

Deno.test("bundle: modes behind hidden imports still load (--version, ctl --help, cert --help)", async () => {
  requireBundle();
  const base = ["run", "--allow-all", "--unstable-net", ENTRY];
  const v = await run([...base, "--version"]);
  assertEquals([v.code, v.stdout.trim()], [0, VERSION], `--version: ${v.stderr}`);
  for (const mode of ["ctl", "cert"]) {
    const h = await run([...base, mode, "--help"]);
    assertEquals(h.code, 0, `${mode} --help exit code; stderr: ${h.stderr}`);
    assertStringIncludes(h.stdout + h.stderr, mode, `${mode} --help output`);
  }
});
