/**
 * A section instance while it is being collected: its spec, where it came from, field values
 * (Go zero values until set) and which fields were mentioned (those get no default).
 * @module
 */

import { type FieldValue, setFieldValue, zeroValue } from "./convert.ts";
import type { FieldSpec, SectionSpec } from "./section_spec.ts";
import type { YValue } from "./yaml_v1.ts";

/** A section instance before defaults and typing. */
export interface RawSection {
  spec: SectionSpec;
  /** File path, the flag as typed (`--tcp-listener`), or `implicit node`. */
  source: string;
  /** Set when the instance came from a config file. */
  file?: string;
  values: Map<string, FieldValue>;
  /** Lower-case keys that were given (any value, even empty). */
  fieldsSet: Set<string>;
}

/** A new instance with all fields at their zero values. */
export function newRawSection(spec: SectionSpec, source: string, file?: string): RawSection {
  const values = new Map<string, FieldValue>();
  for (const fld of spec.fields) values.set(fld.key, zeroValue(fld.type));
  return { spec, source, file, values, fieldsSet: new Set() };
}

/** Assign a value to a field (throws ConversionError) and mark it as set. */
export function assignField(raw: RawSection, field: FieldSpec, value: YValue): void {
  raw.values.set(field.key, setFieldValue(field, raw.values.get(field.key) ?? null, value));
  raw.fieldsSet.add(field.key);
}

/** Required keys not yet given, in field order. */
export function missingRequired(raw: RawSection): string[] {
  return raw.spec.fields.filter((f) => f.required && !raw.fieldsSet.has(f.key)).map((f) => f.key);
}

/** Upstream's `required parameter(s) missing: a, b` text, or null when nothing is missing. */
export function requiredMessage(raw: RawSection): string | null {
  const miss = missingRequired(raw);
  if (miss.length === 0) return null;
  return `required parameter${miss.length > 1 ? "s" : ""} missing: ${miss.join(", ")}`;
}

/** Apply declared defaults to every field that was not mentioned. */
export function applyDefaults(raw: RawSection): void {
  for (const fld of raw.spec.fields) {
    if (fld.default === undefined || fld.default === "" || raw.fieldsSet.has(fld.key)) continue;
    raw.values.set(fld.key, setFieldValue(fld, raw.values.get(fld.key) ?? null, fld.default));
  }
}
