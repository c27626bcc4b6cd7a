/**
 * The control `reload` command's work (config.md §4.6): re-parse the original arguments,
 * check that only reloadable items of the first config file changed, then restart every
 * backend from the new sections.
 * @module
 */
import type { Invocation, Section } from "../config/types.ts";
import { parseInvocation } from "../config/invocation.ts";
import { preReloadCheck } from "../config/validate.ts";
import { compareForReload, nonReloadableFingerprints } from "../config/reload.ts";
import { ConfigError } from "../config/errors.ts";
import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";

/** Result of one reload. */
export type ReloadResult = { ok: true } | { ok: false; error: string };

/** Build the reload function for a node started with `-c FILE`. */
export function makeReloader(
  inv: Extract<Invocation, { kind: "node" }>,
  deps: { logger: Logger; restart: (sections: Section[]) => void | Promise<void> },
): () => Promise<ReloadResult> {
  const file = inv.reloadFile!;
  let startText: string | null = null;
  try {
    startText = Deno.readTextFileSync(file);
  } catch { /* no readable config file: nothing remembered to compare against */ }
  // The file as started is parsed on the first reload, not here: a second YAML parse at
  // start-up delayed the control socket by a few ms (BENCHMARKS.md, "Where start-up went").
  let fingerprints: Set<string> | undefined;
  const remembered = (): Set<string> => {
    if (fingerprints) return fingerprints;
    try {
      fingerprints = startText === null ? new Set() : nonReloadableFingerprints(startText);
    } catch {
      fingerprints = new Set(); // unparsable at start: nothing remembered to compare against
    }
    return fingerprints;
  };
  const message = (e: unknown) => (e instanceof ConfigError ? e.toString() : errorText(e));
  return async () => {
    let sections: Section[];
    try {
      const again = parseInvocation(inv.argv);
      if (again.kind !== "node") throw new Error("configuration no longer starts a node");
      sections = again.sections;
      preReloadCheck(sections);
    } catch (e) {
      return { ok: false, error: `${message(e)} ERRORCODE 4` };
    }
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch (e) {
      return { ok: false, error: `${message(e)} ERRORCODE 4` };
    }
    const cmp = compareForReload(remembered(), text);
    if (!cmp.ok) {
      return { ok: false, error: `${cmp.message} ERRORCODE ${cmp.code}` };
    }
    try {
      await deps.restart(sections);
    } catch (e) {
      return { ok: false, error: `${message(e)} ERRORCODE 4` };
    }
    deps.logger.info("Reload complete: backends restarted");
    return { ok: true };
  };
}
