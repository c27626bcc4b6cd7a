/**
 * Closing something that may already be closed.
 * @module
 */

/**
 * Closes `c`, ignoring the error it throws when already closed or gone — the one outcome a
 * close-on-shutdown or close-on-error path has no use for (the resource is released either way).
 */
export function closeQuietly(c: { close(): unknown }): void {
  try {
    c.close();
  } catch {
    // already closed (BadResource) or the peer is gone: nothing is left to release
  }
}
