/**
 * A compile-time check that the typed sections (config/types.ts) and the section table
 * (config/schema.ts) list the same kinds and the same keys, so neither can drift while
 * config/typed.ts joins them with a cast. Value types are not derived: several fields are
 * converted after parsing (durations to ms, firewall rules), which the types describe.
 * @module
 */

import type { SECTION_TABLE } from "./schema.ts";
import type { Section } from "./types.ts";

type Spec = (typeof SECTION_TABLE)[number];
type SchemaKeys<K> = Extract<Spec, { kind: K }>["fields"][number]["key"];
type TypeKeys<K> = Exclude<keyof Extract<Section, { kind: K }>, "kind" | "source">;

/** Per kind: `never` when both sides agree, else what one side has that the other lacks. */
type Drift = {
  [K in Spec["kind"] | Section["kind"]]: [SchemaKeys<K>, TypeKeys<K>] extends
    [TypeKeys<K>, SchemaKeys<K>] ? never
    : {
      kind: K;
      onlyInSchema: Exclude<SchemaKeys<K>, TypeKeys<K>>;
      onlyInTypes: Exclude<TypeKeys<K>, SchemaKeys<K>>;
    };
}[Spec["kind"] | Section["kind"]];

/** Fails to compile, naming the kind and keys, when types.ts and schema.ts disagree. */
export const SCHEMA_MATCHES_TYPES: [Drift] extends [never] ? true : Drift = true;
