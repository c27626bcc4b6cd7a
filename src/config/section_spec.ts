/**
 * The shape of the v1 section table: section and field descriptors, field value types and
 * help groups, plus the per-section lookups and the Go/help spellings of each field type.
 * The table itself is in `schema.ts`.
 * @module
 */

/** Field value types used by receptor's v1 configuration. */
export type FieldType =
  | "string"
  | "int"
  | "float"
  | "bool"
  | "strings" // []string
  | "floatmap" // map[string]float64
  | "anymap" // map[string]interface{}
  | "rules"; // []netceptor.FirewallRuleData

/** One field of a section. */
export interface FieldSpec {
  /** Go struct field name (used in some upstream messages, e.g. bare values). */
  goName: string;
  /** Lower-case key as used in files and on the command line. */
  key: string;
  type: FieldType;
  /** Default as upstream's tag text, converted like a command-line value; undefined = none. */
  default?: string;
  required?: boolean;
  /** Bare-value field (`--section VALUE`, `- section: "VALUE"`). */
  bare?: boolean;
  description?: string;
}

/** Help group of a section (upstream's cmdline sections). */
export interface HelpGroup {
  description: string;
  order: number;
}

/** One configuration directive. */
export interface SectionSpec {
  /** Name as registered upstream (`UDP-listener` keeps its capitals). */
  name: string;
  /** Lower-case name: the key in files and the `--flag` on the command line. */
  kind: string;
  description: string;
  fields: readonly FieldSpec[];
  required?: boolean;
  singleton?: boolean;
  exclusive?: boolean;
  hidden?: boolean;
  group?: HelpGroup;
}

/** Look up a field case-insensitively. */
export function fieldSpec(section: SectionSpec, key: string): FieldSpec | undefined {
  const lk = key.toLowerCase();
  return section.fields.find((x) => x.key === lk);
}

/** The bare-value field of a section, if any. */
export function bareField(section: SectionSpec): FieldSpec | undefined {
  return section.fields.find((x) => x.bare);
}

/** Go type name of a field type, as it appears in upstream error messages. */
export function goTypeName(t: FieldType): string {
  switch (t) {
    case "string":
      return "string";
    case "int":
      return "int";
    case "float":
      return "float64";
    case "bool":
      return "bool";
    case "strings":
      return "[]string";
    case "floatmap":
      return "map[string]float64";
    case "anymap":
      return "map[string]interface {}";
    case "rules":
      return "[]netceptor.FirewallRuleData";
  }
}

/** Upstream's help-text rendering of a field type. */
export function helpTypeName(t: FieldType): string {
  switch (t) {
    case "strings":
      return "[]string (may be repeated)";
    case "floatmap":
      return "JSON dict of string to float64";
    case "anymap":
      return "JSON dict with string keys";
    case "rules":
      return "JSON list of JSON dict of JSON data to JSON data";
    default:
      return goTypeName(t);
  }
}
