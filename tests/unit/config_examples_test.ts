import { assert, assertEquals } from "../helpers/assert.ts";
import { parseInvocation, sectionsOf, validateSections } from "../../src/config/mod.ts";
import type { Section } from "../../src/config/types.ts";

const dir = new URL("../fixtures/config/", import.meta.url).pathname;

function load(name: string): Section[] {
  const inv = parseInvocation(["-c", dir + name]);
  assert(inv.kind === "node");
  validateSections(inv.sections, { hostname: () => "h" });
  return inv.sections;
}
const strip = (ss: Section[]) => ss.map(({ source: _s, ...rest }) => rest);

Deno.test("spec §6.1 control node example", () => {
  const ss = load("spec_controller.yaml");
  const [node] = sectionsOf(ss, "node");
  assertEquals(node.id, "controller");
  assertEquals(node.firewallrules, [{
    action: "reject",
    tonode: "controller",
    toservice: "control",
  }]);
  assertEquals(sectionsOf(ss, "control-service")[0].permissions, 0o660);
  assertEquals(sectionsOf(ss, "work-signing")[0].tokenexpiration, 600_000);
  assertEquals(sectionsOf(ss, "tcp-peer")[0].tls, "mesh-client");
});

Deno.test("spec §6.2 hop node: file and command line are equivalent", () => {
  const file = load("spec_hop.yaml");
  const inv = parseInvocation([
    "--node",
    "hop1",
    "--tls-server",
    "name=mesh-server",
    "cert=/etc/receptor/tls/hop1.crt",
    "key=/etc/receptor/tls/hop1.key",
    "clientcas=/etc/receptor/tls/ca.crt",
    "requireclientcert=true",
    "--tcp-listener",
    "27199",
    "tls=mesh-server",
    "allowedpeers=controller",
    "allowedpeers=exec1",
    "--control-service",
    "filename=/var/run/receptor/receptor.sock",
  ]);
  assert(inv.kind === "node");
  assertEquals(strip(inv.sections), strip(file));
  assertEquals(sectionsOf(file, "tcp-listener")[0].allowedpeers, ["controller", "exec1"]);
});

Deno.test("spec §6.3 execution node example", () => {
  const ss = load("spec_exec.yaml");
  assertEquals(sectionsOf(ss, "node")[0].maxidleconnectiontimeout, 60_000);
  assertEquals(sectionsOf(ss, "control-service")[0].permissions, 0o660);
  const [wc] = sectionsOf(ss, "work-command");
  assertEquals([wc.worktype, wc.params, wc.allowruntimeparams, wc.verifysignature], [
    "ansible-runner",
    "worker",
    true,
    true,
  ]);
  assertEquals(sectionsOf(ss, "tls-client")[0].mintls13, true);
});
