/**
 * Public entry of the v1 configuration front end: argument/file parsing into typed sections,
 * validation helpers, reload fingerprints, Go durations.
 * @module
 */

export { ConfigError } from "./errors.ts";
export { collectArgs, parseInvocation, type ParseOptions, reloadFileOf } from "./invocation.ts";
export { DurationError, formatGoDuration, parseGoDuration } from "../gocompat/duration.ts";
export { loadConfigFile, loadConfigText, type ReadFile } from "./file_loader.ts";
export { parseFirewallRules } from "./firewall.ts";
export { bashCompletionText, helpText } from "./help_text.ts";
export { compareForReload, nonReloadableFingerprints, type ReloadComparison } from "./reload.ts";
export { SECTIONS } from "./schema.ts";
export type { SectionSpec } from "./section_spec.ts";
export { DEFAULT_MAX_IDLE_MS, DEFAULT_TOKEN_EXPIRATION_MS } from "./typed.ts";
export {
  BACKEND_KINDS,
  decodeFingerprints,
  effectiveNodeId,
  hasBackend,
  nodeSection,
  preReloadCheck,
  RELOADABLE_KINDS,
  sectionsOf,
  type ValidateOptions,
  validateSections,
} from "./validate.ts";
export type * from "./types.ts";
