/**
 * The shape of one firewall rule, shared by the configuration layer (which validates it) and
 * the mesh (which compiles and applies it). Both are siblings in the layer order, so the one
 * declaration lives here, below both.
 * @module
 */

/** A validated firewall rule (keys present only when given). */
export interface FirewallRule {
  /** Lower-cased action. */
  action: "accept" | "reject" | "drop";
  fromnode?: string;
  tonode?: string;
  fromservice?: string;
  toservice?: string;
}
