import { compileFirewallRules } from "../../src/mesh/firewall.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";

const msg = (fromNode: string, toNode: string, fromService: string, toService: string) => ({
  fromNode,
  toNode,
  fromService,
  toService,
});

Deno.test("firewall: first match wins, default accept", () => {
  const fw = compileFirewallRules([
    { action: "accept", fromnode: "trusted" },
    { action: "reject", toservice: "ping" },
    { action: "drop", tonode: "/sec.*/" },
  ]);
  assertEquals(fw.evaluate(msg("trusted", "secret", "x", "ping")), "accept");
  assertEquals(fw.evaluate(msg("a", "secret", "x", "ping")), "reject");
  assertEquals(fw.evaluate(msg("a", "secret", "x", "y")), "drop");
  assertEquals(fw.evaluate(msg("a", "public", "x", "y")), "accept");
  assertEquals(
    compileFirewallRules([{ action: "drop" }]).evaluate(msg("a", "b", "c", "d")),
    "drop",
  );
});

Deno.test("firewall: regex anchoring and flags as in Go", () => {
  const fw = compileFirewallRules([{ action: "drop", fromnode: "/a.*b/" }]);
  assertEquals(fw.evaluate(msg("appleb", "x", "s", "t")), "drop");
  assertEquals(fw.evaluate(msg("Appleb", "x", "s", "t")), "accept");
  assertEquals(fw.evaluate(msg("xappleb", "x", "s", "t")), "accept");
  const ci = compileFirewallRules([{ action: "drop", fromnode: "/(?i)a.*b/" }]);
  assertEquals(ci.evaluate(msg("Appleb", "x", "s", "t")), "drop");
  // No grouping: /a|b/ means ^a or b$.
  const alt = compileFirewallRules([{ action: "drop", fromnode: "/a|b/" }]);
  assertEquals(alt.evaluate(msg("axx", "x", "s", "t")), "drop");
  assertEquals(alt.evaluate(msg("xxb", "x", "s", "t")), "drop");
  assertEquals(alt.evaluate(msg("xax", "x", "s", "t")), "accept");
  // exact string comparison is case-sensitive, no regex meaning
  const ex = compileFirewallRules([{ action: "drop", tonode: "a.b" }]);
  assertEquals(ex.evaluate(msg("n", "axb", "s", "t")), "accept");
  assertEquals(ex.evaluate(msg("n", "a.b", "s", "t")), "drop");
});

Deno.test("firewall: bad regex, missing slash and bad action throw naming the rule", () => {
  let e = assertThrows(() =>
    compileFirewallRules([{ action: "drop" }, { action: "drop", tonode: "/a(b/" }])
  );
  assertStringIncludes(e.message, "rule 1");
  assertStringIncludes(e.message, "/a(b/");
  e = assertThrows(() => compileFirewallRules([{ action: "drop", fromservice: "/abc" }]));
  assertStringIncludes(e.message, "rule 0");
  assertStringIncludes(e.message, "closing /");
  assertThrows(() => compileFirewallRules([{ action: "drop", fromservice: "/" }]), "closing /");
  assertThrows(
    () => compileFirewallRules([{ action: "allow" as "accept" }]),
    "unknown action",
  );
  assertEquals(
    compileFirewallRules([{ action: "DROP" as "drop" }]).evaluate(msg("a", "b", "c", "d")),
    "drop",
  );
});
