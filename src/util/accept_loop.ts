/**
 * The accept loop every listener shares (mesh TCP and WebSocket listeners, the control service).
 * @module
 */

import { delay } from "./delay.ts";

/** Longest back-off between retries of a failing accept (ms). */
export const ACCEPT_RETRY_MAX_MS = 1000;

/**
 * Hand each connection `listener` accepts to `handle` until `isClosed()`. Transient failures
 * (EMFILE, ECONNABORTED...) must not stop a listener: they are logged as
 * `<what> accept failed: …` and retried after a doubling back-off (5 ms up to
 * {@link ACCEPT_RETRY_MAX_MS}), as Go's accept loops do. A closed listener ends the loop.
 */
export async function acceptLoop<C>(
  listener: { accept(): Promise<C> },
  what: string,
  logger: { error(message: string): void },
  isClosed: () => boolean,
  handle: (conn: C) => void,
): Promise<void> {
  let wait = 0;
  while (!isClosed()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (isClosed() || e instanceof Deno.errors.BadResource) return;
      wait = Math.min(wait ? wait * 2 : 5, ACCEPT_RETRY_MAX_MS);
      logger.error(`${what} accept failed: ${e}; retrying in ${wait} ms`);
      await delay(wait);
      continue;
    }
    wait = 0;
    handle(conn);
  }
}
