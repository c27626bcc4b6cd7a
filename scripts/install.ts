/**
 * `deno task install`: writes a `receptor` launcher that runs this checkout with the
 * npm-pinned Deno by absolute path (so it works without Deno on PATH). Target directory:
 * `$RECEPTOR_INSTALL_DIR`, else `~/.local/bin`.
 * @module
 */
const root = new URL("../", import.meta.url).pathname;
const dir = Deno.env.get("RECEPTOR_INSTALL_DIR") ?? `${Deno.env.get("HOME")}/.local/bin`;
const deno = Deno.execPath();
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
await Deno.mkdir(dir, { recursive: true });
const target = `${dir}/receptor`;
await Deno.writeTextFile(
  target,
  `#!/bin/sh\n# receptor for Deno launcher (deno task install)\n` +
    `exec ${quote(deno)} run --allow-all --unstable-net ${quote(`${root}main.ts`)} "$@"\n`,
  { mode: 0o755 },
);
await Deno.chmod(target, 0o755);
console.log(`installed ${target}`);
const onPath = (Deno.env.get("PATH") ?? "").split(":").includes(dir);
if (!onPath) console.log(`add it to PATH: export PATH="${dir}:$PATH"`);
