/**
 * Firewall rule validation for `node firewallrules` (spec §3.1.1): every value a string, keys
 * `action`, `fromnode`, `tonode`, `fromservice`, `toservice` (case-insensitive), action one of
 * accept/reject/drop. Messages are upstream's (including its `filewall` typo).
 * @module
 */

import { goSprintS } from "../gocompat/strconv.ts";
import type { FirewallRule } from "./types.ts";
import type { YMap } from "./yaml_v1.ts";
import { errorText } from "../util/error_text.ts";

const MATCH_KEYS = ["fromnode", "tonode", "fromservice", "toservice"] as const;

/** Validate raw YAML rules; throws `Error` with upstream's `error in rule N: ...` text. */
export function parseFirewallRules(rules: YMap[]): FirewallRule[] {
  return rules.map((rule, i) => {
    try {
      return parseRule(rule);
    } catch (e) {
      throw new Error(`error in rule ${i}: ${errorText(e)}`);
    }
  });
}

function parseRule(rule: YMap): FirewallRule {
  let action = "";
  const out: Partial<FirewallRule> = {};
  for (const [k, v] of rule) {
    const key = typeof k === "string" ? k : goSprintS(k);
    if (typeof v !== "string") {
      throw new Error(`invalid firewall rule. ${key} must be a string`);
    }
    const lk = key.toLowerCase();
    if (lk === "action") action = v;
    else if ((MATCH_KEYS as readonly string[]).includes(lk)) {
      if (v === "") delete out[lk as typeof MATCH_KEYS[number]];
      else out[lk as typeof MATCH_KEYS[number]] = v;
    } else {
      throw new Error(`invalid filewall rule. unknown key: ${key}`);
    }
  }
  const a = action.toLowerCase();
  if (a !== "accept" && a !== "reject" && a !== "drop") {
    throw new Error(`unknown action: ${action}`);
  }
  return { action: a, ...out };
}
