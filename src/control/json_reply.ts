/**
 * Encodes control replies the way Go's encoding/json does where clients could notice:
 * compact, one line, and `<`, `>`, `&` escaped as `\u003c`, `\u003e`, `\u0026`.
 * @module
 */

/** One-line JSON text of `value` with Go's HTML-safe escaping. */
export function encodeReply(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v))
    .replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}
