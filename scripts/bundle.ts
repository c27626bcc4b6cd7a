/**
 * Builds dist/receptor.js (what the integration tests and users run): `deno bundle
 * --code-splitting` so each mode (`ctl`, `cert`, the node, the work runner) stays in its own
 * chunk, loaded by main.ts's `import()` only when chosen; the entry is renamed to
 * dist/receptor.js. Chunks import each other by relative path, so the bundle runs from any cwd
 * (the whole dist/ directory is the artifact).
 *
 * One fix-up: the bundler injects its CommonJS `require` shim (an `import` of `node:module`,
 * which loads Deno's Node compatibility layer: ~10 MiB and tens of ms) as a bare side-effect
 * import into EVERY entry and lazily loaded chunk, although only the chunk holding the
 * CommonJS npm code uses it (and imports it by name). Those bare imports of a chunk holding no
 * module of ours are dropped, so `--version`, `ctl` and the work runner start without it.
 *
 * And one choice: the bundle takes `yaml`'s own ES module build (its package's "default"
 * export, plain JavaScript) instead of the CommonJS build Deno's "node" condition picks, which
 * `require`s node:process and node:buffer and so loads the Node compatibility layer for
 * every config file parsed. Same package and version; the source run keeps the npm default.
 *
 * And one rewrite: `deno run` builds its module graph before running anything, and that graph
 * follows every `import()` whose specifier is a string literal — so with the chunks' literal
 * `import("./x.js")`, even `--version` read, hashed and looked up (dep-analysis cache) all 55
 * files, 1.2 MB: ~5 ms of CPU and twice the syscalls of Deno's hello world (BENCHMARKS.md,
 * "Where `--version` time went"). Each chunk-to-chunk `import("./x.js")` becomes
 * `import(new URL("./x.js", import.meta.url).href)`, which the graph does not follow: a mode's
 * chunks are read when that mode imports them. (So `deno compile dist/receptor.js` would need
 * `--include dist/`; the `compile` task compiles main.ts, whose literal imports it embeds.)
 *
 * Run alone: `./node_modules/deno/deno run -A scripts/bundle.ts` (or `deno task bundle`).
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const DIST = `${ROOT}dist`;
const DENO = Deno.execPath();

/** A lazy chunk-to-chunk `import("./x.js")` as emitted by the bundler. */
const LAZY_IMPORT = /\bimport\("(\.\/[\w-]+\.js)"\)/g;

/** The rewritten form, to check that every target exists. */
const HIDDEN_IMPORT = /\bimport\(new URL\("(\.\/[\w-]+\.js)", import\.meta\.url\)\.href\)/g;

/** `text` with its lazy chunk imports hidden from `deno run`'s up-front module graph. */
export function hideLazyImports(text: string): string {
  return text.replace(
    LAZY_IMPORT,
    (_, rel: string) => `import(new URL("${rel}", import.meta.url).href)`,
  );
}

/** A chunk with no `// <source file>` section holds only bundler helpers. */
function helpersOnly(text: string): boolean {
  return !/^\/\/ \S+\.(?:[cm]?[jt]s|json)$/m.test(text);
}

async function main(): Promise<number> {
  await Deno.mkdir(DIST, { recursive: true });
  for (const e of Deno.readDirSync(DIST)) {
    if (e.isFile && e.name.endsWith(".js")) await Deno.remove(`${DIST}/${e.name}`);
  }
  const importMap = Deno.makeTempFileSync({ prefix: "receptor-bundle-", suffix: ".json" });
  const yamlEsm = `${ROOT}node_modules/yaml/browser/index.js`;
  Deno.statSync(yamlEsm); // fails with a clear path if the package layout changed
  Deno.writeTextFileSync(importMap, JSON.stringify({ imports: { yaml: yamlEsm } }));
  const out = await new Deno.Command(DENO, {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      "--import-map",
      importMap,
      "--outdir",
      DIST,
      "main.ts",
    ],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.removeSync(importMap);
  if (!out.success) return out.code || 1;
  const files = [...Deno.readDirSync(DIST)].filter((e) => e.isFile && e.name.endsWith(".js"));
  const helperChunks = new Set(
    files.filter((e) => helpersOnly(Deno.readTextFileSync(`${DIST}/${e.name}`))).map((e) => e.name),
  );
  let dropped = 0;
  for (const e of files) {
    const path = `${DIST}/${e.name}`;
    const text = Deno.readTextFileSync(path);
    const next = hideLazyImports(
      text.replace(/^import "\.\/([\w-]+\.js)";\n/gm, (line, name: string) => {
        if (!helperChunks.has(name)) return line;
        dropped++;
        return "";
      }),
    );
    if (next !== text) Deno.writeTextFileSync(path, next);
  }
  const names = new Set(files.map((e) => e.name));
  let hidden = 0;
  for (const e of files) {
    for (const [, rel] of Deno.readTextFileSync(`${DIST}/${e.name}`).matchAll(HIDDEN_IMPORT)) {
      hidden++;
      if (!names.has(rel.slice(2))) throw new Error(`${e.name}: lazy import of missing ${rel}`);
    }
  }
  await Deno.rename(`${DIST}/main.js`, `${DIST}/receptor.js`);
  console.log(
    `dist/receptor.js + ${files.length - 1} chunks (${dropped} shim imports dropped, ` +
      `${hidden} lazy imports hidden from the start-up graph)`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
