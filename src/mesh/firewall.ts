/**
 * Firewall rules for data messages (wire.md §9): first matching rule decides, no match means
 * accept. A condition `/re/` is a regular expression anchored as `^re$` (literally, so `/a|b/`
 * means `^a` or `b$`, as in Go); anything else is an exact, case-sensitive comparison.
 *
 * Unlike upstream, a malformed regex or a missing closing `/` is an error, not a silently
 * dropped condition.
 * @module
 */

import { errorText } from "../util/error_text.ts";
import type { FirewallRule } from "../util/firewall_rule.ts";

export type { FirewallRule };

/** The addressing of a data message, as the firewall sees it. */
export interface FirewallSubject {
  fromNode: string;
  toNode: string;
  fromService: string;
  toService: string;
}

/** Outcome of applying the rules. */
export type FirewallAction = "accept" | "reject" | "drop";

type Matcher = (value: string) => boolean;

/** Rules ready to apply; build with {@link compileFirewallRules}. */
export class CompiledRules {
  readonly #rules: { action: FirewallAction; conds: [keyof FirewallSubject, Matcher][] }[];
  /** Use {@link compileFirewallRules}. */
  constructor(
    rules: { action: FirewallAction; conds: [keyof FirewallSubject, Matcher][] }[],
  ) {
    this.#rules = rules;
  }
  /** Number of rules. */
  get length(): number {
    return this.#rules.length;
  }
  /** The action of the first rule matching `m`, or "accept" when none matches. */
  evaluate(m: FirewallSubject): FirewallAction {
    for (const r of this.#rules) {
      if (r.conds.every(([field, match]) => match(m[field]))) return r.action;
    }
    return "accept";
  }
}

const FIELDS: [keyof FirewallRule, keyof FirewallSubject][] = [
  ["fromnode", "fromNode"],
  ["tonode", "toNode"],
  ["fromservice", "fromService"],
  ["toservice", "toService"],
];

/** Translate a Go RE2 leading flag group `(?flags)` into JS RegExp flags. */
function compileRegex(inner: string): RegExp {
  let flags = "";
  const m = /^\(\?([imsU]+)\)/.exec(inner);
  if (m) {
    if (m[1].includes("U")) throw new Error("the U (ungreedy) flag is not supported");
    for (const f of new Set(m[1])) flags += f;
    inner = inner.slice(m[0].length);
  }
  const source = `^${inner}$`;
  try {
    return new RegExp(source, flags + "u");
  } catch {
    return new RegExp(source, flags); // throws SyntaxError if invalid in both modes
  }
}

/**
 * Validate and compile rules. Throws an Error naming the rule index and the offending pattern
 * or action.
 *
 * @example
 * ```ts
 * const fw = compileFirewallRules([{ action: "reject", toservice: "/p.*g/" }]);
 * fw.evaluate({ fromNode: "a", toNode: "b", fromService: "x", toService: "ping" }); // "reject"
 * ```
 */
export function compileFirewallRules(rules: readonly FirewallRule[]): CompiledRules {
  return new CompiledRules(rules.map((rule, i) => {
    const action = String(rule.action ?? "").toLowerCase();
    if (action !== "accept" && action !== "reject" && action !== "drop") {
      throw new Error(`firewall rule ${i}: unknown action ${JSON.stringify(rule.action)}`);
    }
    const conds: [keyof FirewallSubject, Matcher][] = [];
    for (const [key, field] of FIELDS) {
      const pat = rule[key];
      if (pat === undefined || pat === "") continue;
      if (typeof pat !== "string") {
        throw new Error(`firewall rule ${i}: ${key} must be a string`);
      }
      if (!pat.startsWith("/")) {
        conds.push([field, (v) => v === pat]);
        continue;
      }
      if (pat.length < 2 || !pat.endsWith("/")) {
        throw new Error(
          `firewall rule ${i}: ${key} pattern ${JSON.stringify(pat)} lacks the closing /`,
        );
      }
      let re: RegExp;
      try {
        re = compileRegex(pat.slice(1, -1));
      } catch (e) {
        throw new Error(
          `firewall rule ${i}: ${key} pattern ${JSON.stringify(pat)} is not a valid regular ` +
            `expression: ${errorText(e)}`,
        );
      }
      conds.push([field, (v) => re.test(v)]);
    }
    return { action: action as FirewallAction, conds };
  }));
}
