/**
 * Timers shared by the shells: an abortable sleep.
 * @module
 */

/**
 * Resolve after `ms`, or as soon as `signal` aborts (never rejects). Callers check the signal
 * afterwards when they need to know which happened.
 *
 * @example
 * ```ts
 * await delay(100, ac.signal);
 * if (ac.signal.aborted) return;
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });
}
