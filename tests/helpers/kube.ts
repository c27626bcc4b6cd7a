/**
 * Helpers of the `work-kubernetes` tests: where receptorctl is.
 * @module
 */
const ROOT = new URL("../../", import.meta.url).pathname;

/** receptorctl from the repository's .venv, else PATH; null when there is none. */
export function locateReceptorctlOrNull(): string | null {
  const candidates = [`${ROOT}.venv/bin/receptorctl`];
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    if (d) candidates.push(`${d}/receptorctl`);
  }
  for (const p of candidates) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}
