/**
 * Version strings of receptor for Deno.
 *
 * What `receptor --version` and the control service's `status` (`Version`) report:
 * `<upstream>+deno.<ours>`, e.g. `1.4.9+deno.0.1.0`. The part before `+` is the Go receptor
 * release whose wire protocol and control commands we implement; `+deno.<ours>` is semver
 * build metadata, the same place Go receptor's own untagged builds put their commit
 * (`1.4.5+f031d2`). receptorctl compares this string with its own version for equality, so it
 * prints `Warning: receptorctl and receptor are different versions, they may not be
 * compatible` on stderr for every command (as it does for any Go build whose version is not
 * exactly its own); the command still works. README "Where we differ" documents this.
 * @module
 */

/** Our own release. */
export const OWN_VERSION = "0.1.0";

/** The Go receptor release whose behaviour (wire protocol, control commands) we follow. */
export const UPSTREAM_COMPAT = "1.4.9";

/** The version we report: upstream protocol version, then ours as build metadata. */
export const VERSION = `${UPSTREAM_COMPAT}+deno.${OWN_VERSION}`;
