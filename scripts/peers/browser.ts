/**
 * Test peer: a headless browser for the live mesh page test — Debian's `chromium` driven by
 * `playwright-core` from npm (no browser download: Playwright only talks to /usr/bin/chromium).
 * playwright-core is a pinned devDependency, so `npm install` puts it in node_modules; when it is
 * not there at the pinned version (e.g. a shared install), it is installed into
 * `$RECEPTOR_TEST_CACHE/npm` instead. Idempotent; one line per peer readied.
 *
 *   ./node_modules/deno/deno run -A scripts/peers/browser.ts
 * @module
 */

/** The pinned playwright-core (same as package.json's devDependencies). */
export const PLAYWRIGHT_CORE_VERSION = "1.65.2";
/** Debian's Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** The cache directory of test peers. */
export function testCacheDir(): string {
  return Deno.env.get("RECEPTOR_TEST_CACHE") ??
    `${Deno.env.get("HOME") ?? "/root"}/.cache/receptor-deno`;
}

/** Directories holding `node_modules/playwright-core`, in the order tests try them. */
export function playwrightRoots(repoRoot: string): string[] {
  return [`${repoRoot}/node_modules`, `${testCacheDir()}/npm/node_modules`];
}

async function run(cmd: string, args: string[], cwd?: string): Promise<boolean> {
  const p = new Deno.Command(cmd, { args, cwd, stdout: "inherit", stderr: "inherit" }).spawn();
  return (await p.status).success;
}

function versionAt(dir: string): string | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/playwright-core/package.json`)).version;
  } catch {
    return null;
  }
}

/** Install the Debian package `pkg` if `probe` is missing (apt-get update on a first failure). */
export async function aptEnsure(pkg: string, probe: string): Promise<void> {
  try {
    Deno.statSync(probe);
    return;
  } catch { /* missing */ }
  const env = ["-y", "-q", "install", "--no-install-recommends", pkg];
  if (
    !await run("apt-get", env) &&
    !(await run("apt-get", ["-q", "update"]) && await run("apt-get", env))
  ) {
    throw new Error(`apt-get install ${pkg} failed`);
  }
  Deno.statSync(probe);
}

async function main(): Promise<void> {
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  try {
    await aptEnsure("chromium", CHROMIUM_PATH);
  } catch (e) {
    console.error(`browser: cannot install Debian chromium: ${(e as Error).message}`);
    Deno.exit(1);
  }
  const [local, cache] = playwrightRoots(root);
  if (
    versionAt(local) !== PLAYWRIGHT_CORE_VERSION && versionAt(cache) !== PLAYWRIGHT_CORE_VERSION
  ) {
    const prefix = `${testCacheDir()}/npm`;
    Deno.mkdirSync(prefix, { recursive: true });
    const ok = await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--save-exact",
      "--prefix",
      prefix,
      `playwright-core@${PLAYWRIGHT_CORE_VERSION}`,
    ]);
    if (!ok || versionAt(cache) !== PLAYWRIGHT_CORE_VERSION) {
      console.error(`browser: npm install playwright-core@${PLAYWRIGHT_CORE_VERSION} failed`);
      Deno.exit(1);
    }
  }
  const where = versionAt(local) === PLAYWRIGHT_CORE_VERSION ? local : cache;
  console.log(`browser: ${CHROMIUM_PATH} + playwright-core ${PLAYWRIGHT_CORE_VERSION} (${where})`);
}

if (import.meta.main) await main();
