/**
 * Closing the two holes Deno's permission flags leave for `work-deno` units (issue 10):
 *
 * - **Module imports.** Deno loads a module's static imports, and dynamic `import()`s with a
 *   literal specifier, without checking `--allow-read` — so a module granted nothing could
 *   import `/etc/secret.json`. Before a unit runs, its module is bundled into one file in the
 *   unit's directory (`deno bundle`), and every file the bundle took in must be the module
 *   itself or lie inside `allowread`; the unit then runs the bundle, so no local import is
 *   resolved at run time except through a non-literal `import()`, which Deno does check.
 * - **Symlinks.** Deno checks the path as written, so a symlink inside an `allowread` or
 *   `allowwrite` directory reaches whatever it points to. Before a unit runs, every granted
 *   directory is walked (up to {@link MAX_SCAN_ENTRIES} entries) and the unit is refused if a
 *   symlink in it resolves outside the grants of the same kind, or dangles. A unit cannot make
 *   new symlinks itself (Deno requires unscoped read and write permission for that).
 *
 * Not covered: another process adding a symlink to a granted directory while the unit runs.
 * @module
 */

/** Most directory entries walked per unit start; beyond this the unit is refused. */
export const MAX_SCAN_ENTRIES = 100_000;
/** Longest a bundle step may take (ms). */
const BUNDLE_TIMEOUT_MS = 60_000;

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

function absolute(p: string, cwd: string): string {
  return p.startsWith("/") ? p : `${cwd.replace(/\/+$/, "")}/${p}`;
}

/** Normalise `.`/`..` and duplicate slashes of an absolute path (no symlink resolution). */
export function normalizePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

function inside(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(root + "/");
}

/** Both the written and the resolved form of each grant (a grant may itself be a symlink). */
async function grantRoots(grants: string[], cwd: string): Promise<string[]> {
  const roots: string[] = [];
  for (const g of grants) {
    if (g === "") continue;
    const abs = normalizePath(absolute(g, cwd));
    roots.push(abs);
    try {
      roots.push(await Deno.realPath(abs));
    } catch { /* does not exist (yet): only the written form */ }
  }
  return roots;
}

/**
 * Why the grants are unsafe, or null: a symlink inside a granted directory that resolves
 * outside the grants of its kind (or dangles), or a directory too large to check.
 */
export async function checkGrantSymlinks(
  kind: "allowread" | "allowwrite",
  grants: string[],
  cwd = Deno.cwd(),
): Promise<string | null> {
  const roots = await grantRoots(grants, cwd);
  let seen = 0;
  for (const g of grants.filter((x) => x !== "")) {
    const stack = [normalizePath(absolute(g, cwd))];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: AsyncIterable<Deno.DirEntry>;
      try {
        if (!(await Deno.stat(dir)).isDirectory) continue;
        entries = Deno.readDir(dir);
      } catch {
        continue; // missing or unreadable: Deno's own check decides
      }
      for await (const e of entries) {
        if (++seen > MAX_SCAN_ENTRIES) {
          return `${kind} ${g} holds more than ${MAX_SCAN_ENTRIES} entries; cannot check symlinks`;
        }
        const p = `${dir === "/" ? "" : dir}/${e.name}`;
        if (e.isDirectory) stack.push(p);
        if (!e.isSymlink) continue;
        let target: string;
        try {
          target = await Deno.realPath(p);
        } catch {
          return `${kind} ${g}: symlink ${p} dangles (it could be made to point anywhere)`;
        }
        if (!roots.some((r) => inside(target, r))) {
          return `${kind} ${g}: symlink ${p} leads outside the granted paths (to ${target})`;
        }
      }
    }
  }
  return null;
}

/**
 * Bundle `module` into `outFile` (one self-contained script) and check that every local file
 * it took in is the module itself or inside `allowread`. Throws with the reason otherwise.
 */
export async function bundleModule(
  deno: string,
  module: string,
  outFile: string,
  allowread: string[],
  cwd = Deno.cwd(),
): Promise<void> {
  const spec = /^file:/i.test(module) ? decodeURIComponent(new URL(module).pathname) : module;
  const modPath = normalizePath(absolute(spec, cwd));
  const out = await new Deno.Command(deno, {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      "--sourcemap=external",
      "-o",
      outFile,
      modPath,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ");
    throw new Error(`cannot bundle ${module}: ${err || `exit status ${out.code}`}`);
  }
  const mapFile = `${outFile}.map`;
  const map = JSON.parse(await Deno.readTextFile(mapFile)) as { sources?: string[] };
  await Deno.remove(mapFile).catch(() => {});
  const self = await Deno.realPath(modPath).catch(() => modPath);
  const roots = await grantRoots(allowread, cwd);
  for (const src of map.sources ?? []) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(src) && !/^file:/i.test(src)) continue; // node:, data:
    const p = /^file:/i.test(src)
      ? decodeURIComponent(new URL(src).pathname)
      : normalizePath(absolute(src, dirname(outFile)));
    const real = await Deno.realPath(p).catch(() => p);
    if (real === self || p === modPath) continue;
    if (!roots.some((r) => inside(real, r) || inside(p, r))) {
      await Deno.remove(outFile).catch(() => {});
      throw new Error(`module imports ${p}, which is not inside allowread`);
    }
  }
}
