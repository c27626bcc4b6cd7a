/**
 * Test peer: `promtool` from Debian's `prometheus` package, used to validate `/metrics`
 * (`promtool check metrics`). Idempotent; prints one line when ready.
 *
 *   ./node_modules/deno/deno run -A scripts/peers/prometheus.ts
 * @module
 */
import { aptEnsure } from "./browser.ts";

/** Where Debian installs promtool. */
export const PROMTOOL_PATH = "/usr/bin/promtool";

if (import.meta.main) {
  try {
    await aptEnsure("prometheus", PROMTOOL_PATH);
  } catch (e) {
    console.error(
      `prometheus: cannot install Debian prometheus (promtool): ${(e as Error).message}`,
    );
    Deno.exit(1);
  }
  const out = new Deno.Command(PROMTOOL_PATH, { args: ["--version"], stderr: "piped" })
    .outputSync();
  const v = new TextDecoder().decode(out.stdout).split("\n")[0] ||
    new TextDecoder().decode(out.stderr).split("\n")[0];
  console.log(`prometheus: ${PROMTOOL_PATH} (${v.trim()})`);
}
