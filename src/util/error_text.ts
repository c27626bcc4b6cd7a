/**
 * The one way to turn a caught value into text for a log line or an error reply.
 * @module
 */

/** An error's message, or the thrown value as a string when it is not an `Error`. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
