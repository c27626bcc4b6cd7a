/**
 * `deno task install`: builds the bundle (scripts/bundle.ts, dist/) and writes a `receptor`
 * launcher that runs it with the npm-pinned Deno by absolute path (so it works without Deno on
 * PATH). Target directory: `$RECEPTOR_INSTALL_DIR`, else `~/.local/bin`.
 *
 * The launcher runs the bundle, not main.ts: from source `deno run` reads, hashes and
 * cache-checks every module main.ts can reach (its lazy imports included) before running, which
 * costs `receptor --version` ~50 ms of CPU instead of the bundle's ~25 (BENCHMARKS.md, "Where
 * `--version` time went"). `--from-source` writes the old launcher (main.ts: edits take effect
 * without rebuilding). Rebuild with `deno task bundle` after pulling.
 * @module
 */
const root = new URL("../", import.meta.url).pathname;
const dir = Deno.env.get("RECEPTOR_INSTALL_DIR") ?? `${Deno.env.get("HOME")}/.local/bin`;
const deno = Deno.execPath();
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const fromSource = Deno.args.includes("--from-source");

let entry = `${root}main.ts`;
if (!fromSource) {
  const built = await new Deno.Command(deno, {
    args: ["run", "--allow-all", `${root}scripts/bundle.ts`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!built.success) {
    console.error("install: building the bundle failed (see above); nothing installed");
    Deno.exit(1);
  }
  entry = `${root}dist/receptor.js`;
}
await Deno.mkdir(dir, { recursive: true });
const target = `${dir}/receptor`;
await Deno.writeTextFile(
  target,
  `#!/bin/sh\n# receptor for Deno launcher (deno task install)\n` +
    `exec ${quote(deno)} run --allow-all --unstable-net ${quote(entry)} "$@"\n`,
  { mode: 0o755 },
);
await Deno.chmod(target, 0o755);
console.log(`installed ${target} (runs ${entry})`);
const onPath = (Deno.env.get("PATH") ?? "").split(":").includes(dir);
if (!onPath) console.log(`add it to PATH: export PATH="${dir}:$PATH"`);
