/**
 * Test helpers: free ports, polling with a deadline, temp dirs.
 * @module
 */

export { freePort, freeUdpPort } from "../../scripts/free_port.ts";

/**
 * Poll `check` until it returns a truthy value or the deadline passes (then throw with `what`
 * and the last error). Returns the truthy value.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20000,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix = "receptor-test-"): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}
