/**
 * Version strings of receptor for Deno.
 * @module
 */

/** Our own version. */
export const VERSION = "0.1.0";

/** The Go receptor release whose behaviour we follow. */
export const UPSTREAM_COMPAT = "1.4.9";
