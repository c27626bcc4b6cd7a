/**
 * From collected instances to typed {@link Section}s: apply defaults, then the conversions
 * that upstream does when a section starts but that need no I/O (firewall rules, durations).
 * @module
 */

import { parseGoDuration } from "../gocompat/duration.ts";
import { ConfigError } from "./errors.ts";
import { parseFirewallRules } from "./firewall.ts";
import { applyDefaults, type RawSection } from "./raw_section.ts";
import type { NodeSection, Section } from "./types.ts";
import type { YMap } from "./yaml_v1.ts";
import { errorText } from "../util/error_text.ts";

/** Default and minimum for `node maxidleconnectiontimeout`, in ms. */
export const DEFAULT_MAX_IDLE_MS = 21_000;
/** Default `work-retention interval`, in ms. */
export const DEFAULT_RETENTION_INTERVAL_MS = 60_000;
/** Default `work-signing tokenexpiration`, in ms. */
export const DEFAULT_TOKEN_EXPIRATION_MS = 5 * 60_000;

function sectionError(
  raw: RawSection,
  msg: string,
  field?: string,
  value?: string | number,
): ConfigError {
  return new ConfigError(msg, {
    origin: "section",
    section: raw.spec.kind,
    source: raw.source,
    file: raw.file,
    field,
    value,
  });
}

/** Values of `node duplicatenotice` (the mesh's `DuplicateNoticePolicy`). */
const DUPLICATE_NOTICE_VALUES: readonly NodeSection["duplicatenotice"][] = ["exit", "stay"];

/**
 * `node duplicatenotice`, lower case; "" (not set or given empty) means the default, `stay` (the
 * mesh's `DEFAULT_DUPLICATE_NOTICE_POLICY`: no single peer may take a node down).
 */
function duplicateNoticePolicy(raw: RawSection, v: string): NodeSection["duplicatenotice"] {
  const p = (v === "" ? "stay" : v.toLowerCase()) as NodeSection["duplicatenotice"];
  if (DUPLICATE_NOTICE_VALUES.includes(p)) return p;
  throw sectionError(
    raw,
    `duplicatenotice must be ${DUPLICATE_NOTICE_VALUES.join(" or ")}`,
    "duplicatenotice",
    v,
  );
}

/** Apply defaults and build the typed section (throws {@link ConfigError}). */
export function toTypedSection(raw: RawSection): Section {
  applyDefaults(raw);
  const obj: Record<string, unknown> = { kind: raw.spec.kind, source: raw.source };
  for (const fld of raw.spec.fields) {
    let v = raw.values.get(fld.key) ?? null;
    if (v === null) {
      if (fld.type === "floatmap" || fld.type === "anymap") v = {};
      else if (fld.type === "rules") v = [];
      else if (fld.type === "strings" && fld.key !== "allowedpeers") v = [];
    }
    obj[fld.key] = v;
  }
  if (raw.spec.kind === "node") convertNode(raw, obj);
  else if (raw.spec.kind === "work-retention") convertRetention(raw, obj);
  else if (raw.spec.kind === "work-signing") convertSigning(raw, obj);
  // The keys are the table's, as in the derived Section type; the conversions above are the
  // ones config/types.ts lists (its `Converted`).
  return obj as unknown as Section;
}

/**
 * `node`: firewall rules parsed, mesh limits checked, `duplicatenotice` validated, the idle
 * timeout in ms.
 */
function convertNode(raw: RawSection, obj: Record<string, unknown>): void {
  try {
    obj.firewallrules = parseFirewallRules(obj.firewallrules as YMap[]);
  } catch (e) {
    throw sectionError(raw, errorText(e), "firewallrules");
  }
  for (const fld of raw.spec.fields) {
    const v = obj[fld.key];
    // the mesh limits: 0 (Go's zero value, also when not set) means the default
    if (fld.type === "int" && v !== null && !(Number.isSafeInteger(v) && (v as number) >= 0)) {
      throw sectionError(raw, `${fld.key} must be a positive integer (0 = default)`, fld.key);
    }
  }
  obj.duplicatenotice = duplicateNoticePolicy(raw, obj.duplicatenotice as string);
  const t = obj.maxidleconnectiontimeout as string;
  if (t === "") {
    obj.maxidleconnectiontimeout = DEFAULT_MAX_IDLE_MS;
    return;
  }
  let ms: number;
  try {
    ms = parseGoDuration(t);
  } catch {
    throw sectionError(
      raw,
      "failed to parse MaxIdleConnectionTimeout from configuration file -- valid examples include '1.5h', '30m', '30m10s'",
      "maxidleconnectiontimeout",
    );
  }
  if (ms < DEFAULT_MAX_IDLE_MS) {
    throw sectionError(
      raw,
      `user defined maxIdleConnectionTimeout [${
        Math.round(ms * 1e6)
      }] is less than the default default timeout [${DEFAULT_MAX_IDLE_MS * 1e6}]`,
      "maxidleconnectiontimeout",
    );
  }
  obj.maxidleconnectiontimeout = ms;
}

/** `work-retention`: the durations in ms, each with its minimum; `maxcount` not negative. */
function convertRetention(raw: RawSection, obj: Record<string, unknown>): void {
  const dur = (key: string, dflt: number, min: number) => {
    const t = (obj[key] as string | null) ?? "";
    if (t === "") return dflt;
    let ms: number;
    try {
      ms = parseGoDuration(t);
    } catch (e) {
      throw sectionError(raw, `${key}: ${errorText(e)}`, key);
    }
    if (ms < min) throw sectionError(raw, `${key} must be at least ${min / 1000}s`, key);
    return ms;
  };
  obj.maxage = dur("maxage", 0, 1000);
  obj.interval = dur("interval", DEFAULT_RETENTION_INTERVAL_MS, 100);
  obj.releasegiveup = dur("releasegiveup", 0, 1000);
  if ((obj.maxcount as number) < 0) {
    throw sectionError(raw, "maxcount must not be negative", "maxcount");
  }
}

/** `work-signing`: the token expiration in ms. */
function convertSigning(raw: RawSection, obj: Record<string, unknown>): void {
  const t = obj.tokenexpiration as string;
  if (t === "") {
    obj.tokenexpiration = DEFAULT_TOKEN_EXPIRATION_MS;
    return;
  }
  try {
    obj.tokenexpiration = parseGoDuration(t);
  } catch {
    throw sectionError(
      raw,
      "failed to parse TokenExpiration -- valid examples include '1.5h', '30m', '30m10s'",
      "tokenexpiration",
      t,
    );
  }
}
