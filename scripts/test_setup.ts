/**
 * Readies every external test peer before `deno task test` runs the suite: runs each installer
 * `scripts/peers/*.ts` (in name order, one after another so their package-manager calls do not
 * race), prints what each one said, and ends with one line naming the installers that failed.
 * A failed installer does not stop the others, nor the tests: the tests that need its peer fail
 * with `missing <peer>: …`. Always exits 0 unless no installer could be run at all.
 * Usage: ./node_modules/deno/deno run -A scripts/test_setup.ts
 * @module
 */

const PEERS_DIR = new URL("./peers/", import.meta.url).pathname;

/** The installers: every scripts/peers/*.ts (not the shared code in scripts/peers/lib/). */
export function installers(dir = PEERS_DIR): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => e.name)
    .sort();
}

/** Runs one installer with this Deno; returns whether it succeeded. */
async function runInstaller(name: string): Promise<boolean> {
  const started = performance.now();
  try {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${PEERS_DIR}${name}`],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    if (!o.success) console.error(`test setup: scripts/peers/${name} failed (exit ${o.code})`);
    else console.log(`test setup: scripts/peers/${name} ok (${secs}s)`);
    return o.success;
  } catch (e) {
    console.error(`test setup: scripts/peers/${name} could not run: ${(e as Error).message}`);
    return false;
  }
}

if (import.meta.main) {
  const names = installers();
  const failed: string[] = [];
  for (const name of names) if (!(await runInstaller(name))) failed.push(name);
  if (failed.length) {
    console.error(
      `test setup: ${failed.length} of ${names.length} installers failed (${failed.join(", ")}); ` +
        "the tests that need their peers will fail with `missing …`",
    );
  } else {
    console.log(`test setup: all ${names.length} test peers ready`);
  }
  if (names.length === 0) Deno.exit(1);
}
