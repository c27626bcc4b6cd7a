/**
 * The section kinds src/node/services.ts starts, apart from it so the node can tell whether
 * it needs to load the services (and the stream layer under them) at all.
 * @module
 */

/** Section kinds handled by `startServices`. */
export const SERVICE_KINDS: ReadonlySet<string> = new Set([
  "command-service",
  "tcp-server",
  "tcp-client",
  "udp-server",
  "udp-client",
  "unix-socket-server",
  "unix-socket-client",
]);
