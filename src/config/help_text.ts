/**
 * Help and bash-completion text generated from the section table, laid out like upstream's
 * cmdline module (`Usage: receptor [--<action> [<param>=<value> ...] ...]`).
 * @module
 */

import { SECTIONS } from "./schema.ts";
import { type HelpGroup, helpTypeName, type SectionSpec } from "./section_spec.ts";

function sectionHelp(s: SectionSpec): string {
  let out = `   --${s.kind}`;
  if (s.description) out += `: ${s.description}`;
  if (s.required) out += " (required)";
  out += "\n";
  for (const f of s.fields) {
    out += `      ${f.key}=<${helpTypeName(f.type)}>`;
    if (f.description) out += `: ${f.description}`;
    const extras: string[] = [];
    if (f.required) extras.push("required");
    if (f.default !== undefined && f.default !== "") extras.push(`default: ${f.default}`);
    if (extras.length > 0) out += ` (${extras.join(", ")})`;
    out += "\n";
  }
  return out + "\n";
}

/** The full help text (ends with a blank line). */
export function helpText(progName = "receptor"): string {
  let out = `Usage: ${progName} [--<action> [<param>=<value> ...] ...]\n\n` +
    "   --help: Show this help\n\n" +
    "   --config <filename>: Load additional config options from a YAML file\n\n" +
    "   --bash-completion: Generate a completion script for the bash shell\n" +
    `         Run ". <(${progName} --bash-completion)" to activate now\n\n`;
  // (null, not undefined: Array.sort always moves undefined to the end)
  const groups: (HelpGroup | null)[] = [null];
  for (const s of SECTIONS) {
    if (s.group && !s.hidden && !groups.includes(s.group)) groups.push(s.group);
  }
  groups.sort((a, b) => (a?.order ?? 0) - (b?.order ?? 0));
  for (const g of groups) {
    if (g) out += `${g.description}\n\n`;
    for (const req of [true, false]) {
      for (const s of SECTIONS) {
        if (s.hidden || (s.group ?? null) !== g || !!s.required !== req) continue;
        out += sectionHelp(s);
      }
    }
  }
  return out;
}

/** A bash completion script defining `_<progName>` (directives, `key=` names, files after -c). */
export function bashCompletionText(progName = "receptor"): string {
  const actions = [
    "--help",
    "--bash-completion",
    "--config",
    "-c",
    ...SECTIONS.map((s) => `--${s.kind}`),
  ];
  let out = `_${progName}()\n{\n` +
    "  local cur prevdashed count DASHCMDS\n" +
    "  cur=${COMP_WORDS[COMP_CWORD]}\n" +
    "  count=$((COMP_CWORD-1))\n" +
    "  while [[ $count > 1 && ! ${COMP_WORDS[$count]} == --* ]]; do\n" +
    "    count=$((count-1))\n" +
    "  done\n" +
    "  prevdashed=${COMP_WORDS[$count]}\n" +
    `  DASHCMDS="${actions.join(" ")}"\n` +
    "  if [[ $cur == -* ]]; then\n" +
    '    COMPREPLY=($(compgen -W "$DASHCMDS" -- ${cur}))\n' +
    "  else\n" +
    "    case ${prevdashed} in\n" +
    "      -c|--config)\n" +
    "        COMPREPLY=($(compgen -f -- ${cur}))\n" +
    "        ;;\n";
  for (const s of SECTIONS) {
    if (s.hidden) continue;
    const params = s.fields.map((f) => `${f.key}=`).join(" ");
    out += `      --${s.kind})\n` +
      `        COMPREPLY=($(compgen -W "${params}" -- \${cur}))\n` +
      "        ;;\n";
  }
  out += "      *)\n" +
    '        COMPREPLY=($(compgen -W "$DASHCMDS" -- ${cur}))\n' +
    "        ;;\n" +
    "    esac\n" +
    "  fi\n" +
    "  [[ $COMPREPLY == *= ]] && compopt -o nospace\n" +
    "}\n" +
    `complete -F _${progName} ${progName}\n`;
  return out;
}
