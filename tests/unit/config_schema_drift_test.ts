/**
 * config/types.ts and the section table in config/schema.ts list the same kinds and keys.
 * The real check is at compile time (config/schema_drift.ts fails to type-check, naming the
 * kind and the keys, when they drift); this test makes `deno test` compile it.
 */
import { assertEquals } from "../helpers/assert.ts";
import { SCHEMA_MATCHES_TYPES } from "../../src/config/schema_drift.ts";

Deno.test("config types and schema table agree on kinds and keys", () => {
  assertEquals(SCHEMA_MATCHES_TYPES, true);
});
