/**
 * Import-order check: every relative import under `src/` and in `main.ts` must point DOWN the
 * declared layer order (or stay inside its own folder). Prints one line per violation — file,
 * import, layers — and exits 1 when there is any; prints one summary line and exits 0 otherwise.
 *
 * The order, lowest first (a layer may import any layer below it, never one above it, and never
 * a sibling on its own rank):
 *
 * ```
 * 0  src/util/, log.ts, clock.ts, version.ts   shared helpers, logging, time, version strings
 * 1  src/gocompat/                         Go text formats (time, duration, strconv, shlex, JSON)
 * 2  src/quic/ | src/mesh/ | src/certs/ | src/config/   independent cores (siblings)
 * 3  src/streams/                          QUIC streams over mesh datagrams
 * 4  src/work/                             work units, their types and protocol
 * 5  src/control/ | src/ctl/               control service; its client (siblings)
 * 6  src/services/                         tcp/udp/unix proxies, command service
 * 7  src/node/                             assembles a running node
 * 8  src/cli/                              argv handling per mode
 * 9  main.ts
 * ```
 *
 * `log.ts`, `clock.ts` and `version.ts` sit at rank 0 with util (every layer logs, keeps time,
 * and the node announces its version). `ctl` is the
 * client side of the control protocol: it shares the work submit protocol (rank 4) and util, and
 * is a sibling of the control service it talks to, so neither may import the other.
 *
 * Usage: `deno run -A scripts/check_layers.ts` (run first by `deno task test`).
 * @module
 */

/** Layer rank of each top-level part of src/ (folders end with "/"). */
export const LAYERS: ReadonlyArray<readonly [string, number]> = [
  ["src/util/", 0],
  ["src/log.ts", 0],
  ["src/clock.ts", 0],
  ["src/version.ts", 0],
  ["src/gocompat/", 1],
  ["src/quic/", 2],
  ["src/mesh/", 2],
  ["src/certs/", 2],
  ["src/config/", 2],
  ["src/streams/", 3],
  ["src/work/", 4],
  ["src/control/", 5],
  ["src/ctl/", 5],
  ["src/services/", 6],
  ["src/node/", 7],
  ["src/cli/", 8],
  ["main.ts", 9],
];

/**
 * Imports allowed although they point up, each with the reason. Keep this list short and give
 * every entry a way out.
 */
export const KNOWN_EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  // (none: the detached command runner now lives in src/work/ with its own small entry)
]);

/** The part of the tree a path belongs to, or undefined for a path outside the map. */
export function partOf(path: string): readonly [string, number] | undefined {
  return LAYERS.find(([p]) => p.endsWith("/") ? path.startsWith(p) : path === p);
}

/** Relative import specifiers in `text`, comments removed first. */
export function importsOf(text: string): string[] {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of code.matchAll(re)) out.push(m[1]);
  return out;
}

function join(dir: string, rel: string): string {
  const parts = dir === "" ? [] : dir.split("/");
  for (const seg of rel.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}

/** Violations (one text line each) for a file at repo-relative `path` with source `text`. */
export function violationsOf(path: string, text: string): string[] {
  const from = partOf(path);
  if (!from) return [`${path}: not in the layer map (add it to scripts/check_layers.ts)`];
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const out: string[] = [];
  for (const spec of importsOf(text)) {
    const target = join(dir, spec);
    const to = partOf(target);
    if (!to || to[0] === from[0]) continue; // outside src (e.g. node_modules) or same part
    if (to[1] < from[1]) continue;
    if (KNOWN_EXCEPTIONS.has(`${path} -> ${target}`)) continue;
    const how = to[1] === from[1] ? "sideways" : "upward";
    out.push(
      `${path}: imports ${spec} — ${how}: ${from[0]} (layer ${from[1]}) -> ${to[0]} (layer ${
        to[1]
      })`,
    );
  }
  return out;
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(p);
    else if (e.isFile && p.endsWith(".ts")) yield p;
  }
}

async function main(): Promise<number> {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  Deno.chdir(root);
  const files = ["main.ts"];
  for await (const f of tsFiles("src")) files.push(f);
  files.sort();
  const problems: string[] = [];
  for (const f of files) problems.push(...violationsOf(f, await Deno.readTextFile(f)));
  for (const p of problems) console.log(p);
  if (problems.length > 0) {
    console.log(`check_layers: ${problems.length} import(s) break the layer order`);
    return 1;
  }
  console.log(`check_layers: ${files.length} files, every import points down`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
