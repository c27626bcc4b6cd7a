/**
 * Timers shared by the shells: an abortable sleep, a signal that aborts some time after another.
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

/**
 * A signal that aborts `ms` after `stop` does (or never); `dispose` clears its timer and
 * listener. Lets a read already under way finish when its loop is told to stop, within a bound.
 */
export function abortAfterStop(
  stop: AbortSignal,
  ms: number,
): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onStop = () => {
    timer = setTimeout(() => ac.abort(stop.reason), ms);
  };
  if (stop.aborted) onStop();
  else stop.addEventListener("abort", onStop, { once: true });
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      stop.removeEventListener("abort", onStop);
    },
  };
}
