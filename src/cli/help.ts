/**
 * Help and bash-completion text for the node command line (spec §2.3). The text is generated
 * from the section table in `src/config/schema.ts`, laid out like upstream:
 * `Usage: receptor [--<action> [<param>=<value> ...] ...]`, `--help`, `--config <filename>`,
 * `--bash-completion`, then directives grouped (ungrouped, TLS configs, backends, services,
 * workers, certificates), one line per field with type, description, required and default.
 * @module
 */

import { helpText } from "../config/help_text.ts";

/** Full help text for program name `progName`. */
export function nodeHelpText(progName = "receptor"): string {
  return helpText(progName);
}
