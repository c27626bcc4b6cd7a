/**
 * Building blocks of the v1 section table (src/config/schema.ts): the help groups, the field
 * constructor and the fields several backends share.
 * @module
 */

import type { FieldSpec, FieldType, HelpGroup } from "./section_spec.ts";

/** Help group: TLS configs and other shared resources. */
export const GROUP_CONFIG: HelpGroup = {
  description: "Commands that configure resources used by other commands:",
  order: 5,
};
/** Help group: backends. */
export const GROUP_BACKENDS: HelpGroup = {
  description: "Commands to configure back-ends, which connect Receptor nodes together:",
  order: 10,
};
/** Help group: services. */
export const GROUP_SERVICES: HelpGroup = {
  description: "Commands to configure services that run on top of the Receptor mesh:",
  order: 20,
};
/** Help group: workers. */
export const GROUP_WORKERS: HelpGroup = {
  description: "Commands to configure workers that process units of work:",
  order: 30,
};
/** Help group: certificates. */
export const GROUP_CERTS: HelpGroup = {
  description: "Commands to generate certificates and run a certificate authority",
  order: 90,
};

/**
 * One field: Go name, type, help text; the key is the Go name in lower case. Key and type stay
 * literal, so config/types.ts derives the typed sections from the table.
 */
export function f<G extends string, T extends FieldType>(
  goName: G,
  type: T,
  description: string,
  opts: { default?: string; required?: boolean; bare?: boolean } = {},
): FieldSpec & { key: Lowercase<G>; type: T } {
  return { goName, key: goName.toLowerCase() as Lowercase<G>, type, description, ...opts };
}

/** Shared backend field: `cost`. */
export const COST = () => f("Cost", "float", "Connection cost (weight)", { default: "1.0" });
/** Shared listener field: `nodecost`. */
export const NODECOST = () => f("NodeCost", "floatmap", "Per-node costs");
/** Shared backend field: `allowedpeers`. */
export const ALLOWED = () =>
  f("AllowedPeers", "strings", "Peer node IDs to allow via this connection");
/** Shared peer field: `redial`. */
export const REDIAL = () =>
  f("Redial", "bool", "Keep redialing on lost connection", { default: "true" });
/** Our addition (not upstream): limits on connections that have not completed the handshake. */
export const ADMISSION = () => [
  f(
    "MaxUnauthenticated",
    "int",
    "Connections held at once that have not completed the TLS and mesh handshakes; more are closed",
    { default: "256" },
  ),
  f(
    "HandshakeTimeout",
    "string",
    "Time a connection has to complete the TLS and mesh handshakes (Go duration)",
    { default: "12s" },
  ),
];
/** Shared listener field: `bindaddr`. */
export const BIND = () =>
  f("BindAddr", "string", "Local address to bind to", { default: "0.0.0.0" });
