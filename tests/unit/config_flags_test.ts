import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { ConfigError, parseInvocation } from "../../src/config/mod.ts";
import type { Section } from "../../src/config/types.ts";
import { memFiles } from "../fixtures/config/memfs.ts";

function node(argv: string[]): Section[] {
  const inv = parseInvocation(argv);
  if (inv.kind !== "node") throw new Error(`not a node invocation: ${inv.kind}`);
  return inv.sections;
}
function first<K extends Section["kind"]>(ss: Section[], kind: K): Extract<Section, { kind: K }> {
  const s = ss.find((x) => x.kind === kind);
  assert(s, `no ${kind}`);
  return s as Extract<Section, { kind: K }>;
}
function fails(argv: string[], part: string): ConfigError {
  const e = assertThrows(() => parseInvocation(argv), part);
  assert(e instanceof ConfigError, `not a ConfigError: ${e}`);
  return e;
}

Deno.test("flags #1/#2: no arguments and -h/--help/-H/--HELP give help", () => {
  for (const argv of [[], ["--help"], ["-h"], ["-H"], ["--HELP"], ["--Help"]]) {
    const inv = parseInvocation(argv);
    assertEquals(inv.kind, "help", JSON.stringify(argv));
    assert(inv.kind === "help");
    assert(inv.text.startsWith("Usage: receptor [--<action> [<param>=<value> ...] ...]\n"));
  }
  fails(["-help"], "command error: unknown config type help");
});

Deno.test("flags #3: help after parsing the preceding arguments", () => {
  assertEquals(parseInvocation(["--node", "id=x", "--help"]).kind, "help");
  assertEquals(parseInvocation(["--node", "id=x", "--help", "--bogus"]).kind, "help");
  fails(["--bogus", "--help"], "command error: unknown config type bogus");
  // the pending directive is not completed (no required-key check) before help
  assertEquals(parseInvocation(["--tcp-listener", "--help"]).kind, "help");
  assertThrows(
    () => parseInvocation(["-c", "missing.yaml", "--help"], { readFile: memFiles({}) }),
    "open missing.yaml: no such file or directory",
  );
});

Deno.test("flags #4: --bash-completion", () => {
  for (const a of ["--bash-completion", "--BASH-COMPLETION"]) {
    const inv = parseInvocation(["--node", "id=x", a]);
    assert(inv.kind === "bash-completion");
    assertStringIncludes(inv.text, "_receptor()\n{");
    assertStringIncludes(inv.text, "complete -F _receptor receptor\n");
    assertStringIncludes(inv.text, "--tcp-listener)");
    assertStringIncludes(inv.text, "bindaddr= port= tls= cost= nodecost= allowedpeers=");
  }
  const named = parseInvocation(["--bash-completion"], { progName: "rcpt" });
  assert(named.kind === "bash-completion");
  assertStringIncludes(named.text, "complete -F _rcpt rcpt");
});

Deno.test("flags #5/#6: --version alone, and combined", () => {
  assertEquals(parseInvocation(["--version"]).kind, "version");
  assertEquals(parseInvocation(["--VERSION"]).kind, "version");
  fails(["--version", "--node", "id=x"], "cannot specify any other options with version");
  fails(["--node", "id=x", "--version"], "cannot specify any other options with version");
  assertThrows(
    () =>
      parseInvocation(["--version", "-c", "a.yaml"], {
        readFile: memFiles({ "a.yaml": "- trace\n" }),
      }),
    "cannot specify any other options with version",
  );
});

Deno.test("flags #9/#10: certificate actions", () => {
  const e = fails(
    ["--cert-init", "commonname=x", "outcert=a"],
    "error in --cert-init: required parameters missing: ",
  );
  assertStringIncludes(e.message, "bits");
  assertStringIncludes(e.message, "outkey");
  fails(
    ["--cert-makereq", "commonname=x", "outreq=r", "--node", "id=a"],
    "cannot specify any other options with cert-makereq",
  );
  fails(
    ["--node", "id=a", "--cert-signreq", "req=a", "cacert=b", "cakey=c", "outcert=d"],
    "cannot specify any other options with cert-signreq",
  );
  const inv = parseInvocation([
    "--cert-makereq",
    "bits=2048",
    "commonname=hop1",
    "dnsname=hop1.example.net",
    "nodeid=hop1",
    "nodeid=hop1b",
    "outreq=certs/hop1.csr",
    "outkey=certs/hop1.key",
  ]);
  assert(inv.kind === "action" && inv.section.kind === "cert-makereq");
  assertEquals(inv.section.bits, 2048);
  assertEquals(inv.section.dnsname, ["hop1.example.net"]);
  assertEquals(inv.section.nodeid, ["hop1", "hop1b"]);
  assertEquals(inv.section.ipaddress, []);
  assertEquals(inv.section.inkey, "");
  const sign = parseInvocation([
    "--cert-signreq",
    "req=a",
    "cacert=b",
    "cakey=c",
    "outcert=d",
    "verify=yes",
  ]);
  assert(sign.kind === "action" && sign.section.kind === "cert-signreq");
  assertEquals(sign.section.verify, true);
  const init = parseInvocation([
    "--cert-init",
    "commonname=Mesh CA",
    "bits=4096",
    "outcert=a",
    "outkey=b",
  ]);
  assert(init.kind === "action" && init.section.kind === "cert-init");
  assertEquals([init.section.commonname, init.section.bits, init.section.notbefore], [
    "Mesh CA",
    4096,
    "",
  ]);
});

Deno.test("flags #16/#17: bare values and case/dash forms", () => {
  const a = first(node(["--tcp-listener", "2222"]), "tcp-listener");
  const b = first(node(["--tcp-listener", "port=2222"]), "tcp-listener");
  assertEquals(a.port, 2222);
  assertEquals({ ...a, source: "" }, { ...b, source: "" });
  const c = first(node(["--TCP-Listener", "Port=2222", "BINDADDR=127.0.0.1"]), "tcp-listener");
  assertEquals([c.port, c.bindaddr, c.source], [2222, "127.0.0.1", "--TCP-Listener"]);
  assertEquals(first(node(["-tcp-listener", "port=2222"]), "tcp-listener").port, 2222);
  assertEquals(first(node(["--UDP-LISTENER", "7"]), "udp-listener").port, 7);
  assertEquals(first(node(["--node", "foo"]), "node").id, "foo");
  assertEquals(first(node(["--log-level", "debug", "--local-only"]), "log-level").level, "debug");
  assertEquals(first(node(["--tcp-peer", "host:2222"]), "tcp-peer").address, "host:2222");
  fails(["--trace", "x"], "config error: command does not allow bare values");
});

Deno.test("flags #18/#19/#20/#21/#22: listener errors", () => {
  fails(["--tcp-listener"], "error in --tcp-listener: required parameter missing: port");
  fails(
    ["--TCP-listener", "bindaddr=x"],
    "error in --TCP-listener: required parameter missing: port",
  );
  const e = fails(
    ["--tcp-listener", "port=abc"],
    'error setting config value for field port: strconv.ParseInt: parsing "abc": invalid syntax',
  );
  assertEquals(e.field, "port");
  fails(
    ["--tcp-listener", "abc"],
    'error setting config value for field Port: strconv.ParseInt: parsing "abc"',
  );
  assertEquals(first(node(["--tcp-listener", "port=0x10"]), "tcp-listener").port, 16);
  fails(["--tcp-listener", "port=1", "bogus=2"], "config error: unknown field name bogus");
  fails(["port=1"], "parameter specified before command");
  fails(["foo", "--node", "x"], "parameter specified before command");
});

Deno.test("flags #23/#24: singletons on the command line", () => {
  fails(["--node", "foo", "--node", "bar"], 'directive "node" is only allowed once');
  fails(["--log-level", "debug", "--trace", "--trace"], 'directive "trace" is only allowed once');
  fails(
    ["--work-signing", "a", "--work-signing", "b"],
    'directive "work-signing" is only allowed once',
  );
  // upstream quirk: a file loaded after a flag instance is not checked
  const inv = parseInvocation(["--trace", "-c", "a.yaml"], {
    readFile: memFiles({ "a.yaml": "- trace\n" }),
  });
  assert(inv.kind === "node");
  assertEquals(inv.sections.filter((s) => s.kind === "trace").length, 2);
});

Deno.test("flags #26/#27: maps and lists on the command line", () => {
  const l = first(node(["--tcp-listener", "port=0", 'nodecost={"a":1.3,"b":5.6}']), "tcp-listener");
  assertEquals(l.nodecost, { a: 1.3, b: 5.6 });
  fails(["--tcp-listener", "port=0", "nodecost=a"], "type error (expected map[string]float64)");
  const two = first(
    node(["--tcp-listener", "port=0", "allowedpeers=a", "allowedpeers=b"]),
    "tcp-listener",
  );
  assertEquals(two.allowedpeers, ["a", "b"]);
  const three = first(
    node(["--tcp-listener", "port=0", 'allowedpeers=["a","b"]', "allowedpeers=c"]),
    "tcp-listener",
  );
  assertEquals(three.allowedpeers, ["a", "b", "c"]);
  const replaced = first(
    node(["--tcp-listener", "port=0", "allowedpeers=x", 'allowedpeers=["a"]']),
    "tcp-listener",
  );
  assertEquals(replaced.allowedpeers, ["a"]);
  const none = first(node(["--tcp-listener", "port=0", "allowedpeers=[]"]), "tcp-listener");
  assertEquals(none.allowedpeers, []);
});

Deno.test("flags #28/#29: booleans and values containing =", () => {
  assertEquals(first(node(["--tcp-peer", "host:1", "redial=no"]), "tcp-peer").redial, false);
  assertEquals(first(node(["--tcp-peer", "host:1"]), "tcp-peer").redial, true);
  fails(["--tcp-peer", "host:1", "redial=off"], "could not parse off as boolean");
  assertEquals(first(node(["--node", "id=a=b"]), "node").id, "a=b");
  assertEquals(first(node(["--control-service", "service="]), "control-service").service, "");
  assertEquals(first(node(["--node", "id=x", "datadir="]), "node").datadir, "");
});

Deno.test("flags #76: an empty argument is an error, not a crash", () => {
  fails([""], "empty argument");
  fails(["--node", ""], "empty argument");
});

Deno.test("flags: --config pending state survives the next directive (upstream quirk)", () => {
  const inv = parseInvocation(["--config", "--node", "foo.yaml"], {
    readFile: memFiles({ "foo.yaml": "- tcp-listener: {port: 9}\n" }),
  });
  assert(inv.kind === "node");
  assertEquals(inv.sections.map((s) => s.kind), ["tcp-listener", "node"]);
  // a trailing --config is ignored
  const t = parseInvocation(["--local-only", "--config"]);
  assert(t.kind === "node");
  assertEquals(t.sections.map((s) => s.kind), ["local-only", "node"]);
});

Deno.test("flags: defaults of §3 tables", () => {
  const ss = node([
    "--node",
    "--tcp-listener",
    "1",
    "--ws-listener",
    "2",
    "--ws-peer",
    "ws://h:1/",
    "--udp-peer",
    "h:2",
    "--control-service",
    "--tls-server",
    "name=s",
    "cert=c",
    "key=k",
    "--work-kubernetes",
    "worktype=k",
    "--work-signing",
    "/k.pem",
    "--tcp-server",
    "port=1",
    "remotenode=n",
    "remoteservice=s",
    "--unix-socket-server",
    "filename=f",
    "remotenode=n",
    "remoteservice=s",
    "--log-level",
  ]);
  const n = first(ss, "node");
  assertEquals([n.id, n.datadir, n.firewallrules, n.maxidleconnectiontimeout], [
    "",
    "/tmp/receptor",
    [],
    21000,
  ]);
  const tl = first(ss, "tcp-listener");
  assertEquals([tl.bindaddr, tl.tls, tl.cost, tl.nodecost, tl.allowedpeers], [
    "0.0.0.0",
    "",
    1,
    {},
    null,
  ]);
  const wl = first(ss, "ws-listener");
  assertEquals([wl.path, wl.bindaddr], ["/", "0.0.0.0"]);
  const wp = first(ss, "ws-peer");
  assertEquals([wp.redial, wp.extraheader, wp.cost], [true, "", 1]);
  assertEquals(first(ss, "udp-peer").redial, true);
  const cs = first(ss, "control-service");
  assertEquals([cs.service, cs.filename, cs.permissions, cs.tcplisten], ["control", "", 0o600, ""]);
  const ts = first(ss, "tls-server");
  assertEquals([ts.requireclientcert, ts.pinnedclientcert, ts.mintls13], [false, [], false]);
  const wk = first(ss, "work-kubernetes");
  assertEquals([wk.authmethod, wk.deletepodonrestart, wk.streammethod], [
    "incluster",
    true,
    "logger",
  ]);
  const sg = first(ss, "work-signing");
  assertEquals([sg.privatekey, sg.tokenexpiration], ["/k.pem", 300_000]);
  assertEquals(first(ss, "tcp-server").bindaddr, "0.0.0.0");
  assertEquals(first(ss, "unix-socket-server").permissions, 0o600);
  assertEquals(first(ss, "log-level").level, "error");
});

Deno.test("flags: the hidden command-runner directive", () => {
  const ss = node([
    "--node",
    "id=worker",
    "--log-level",
    "info",
    "--command-runner",
    "command=echo",
    "params=hi there",
    "unitdir=/tmp/u",
  ]);
  const cr = first(ss, "command-runner");
  assertEquals([cr.command, cr.params, cr.unitdir], ["echo", "hi there", "/tmp/u"]);
  fails(["--command-runner", "command=x"], "required parameters missing: params, unitdir");
  const help = parseInvocation(["--help"]);
  assert(help.kind === "help");
  assertEquals(help.text.includes("command-runner"), false);
});

Deno.test("flags: work-signing tokenexpiration", () => {
  assertEquals(
    first(node(["--work-signing", "privatekey=k", "tokenexpiration=10m"]), "work-signing")
      .tokenexpiration,
    600_000,
  );
  fails(
    ["--work-signing", "privatekey=k", "tokenexpiration=soon"],
    "failed to parse TokenExpiration -- valid examples include '1.5h', '30m', '30m10s'",
  );
});
