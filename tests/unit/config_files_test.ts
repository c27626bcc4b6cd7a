import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { ConfigError, parseInvocation } from "../../src/config/mod.ts";
import type { Invocation, Section } from "../../src/config/types.ts";
import { memFiles } from "../fixtures/config/memfs.ts";

function run(text: string, extra: string[] = []): Invocation {
  return parseInvocation(["-c", "c.yaml", ...extra], { readFile: memFiles({ "c.yaml": text }) });
}
function sections(text: string, extra: string[] = []): Section[] {
  const inv = run(text, extra);
  if (inv.kind !== "node") throw new Error(`not a node invocation: ${inv.kind}`);
  return inv.sections;
}
function fails(text: string, part: string, extra: string[] = []): ConfigError {
  const e = assertThrows(() => run(text, extra), part);
  assert(e instanceof ConfigError, `not a ConfigError: ${e}`);
  return e;
}
function one<K extends Section["kind"]>(ss: Section[], kind: K): Extract<Section, { kind: K }> {
  const found = ss.filter((s) => s.kind === kind);
  assertEquals(found.length, 1, `instances of ${kind}`);
  return found[0] as Extract<Section, { kind: K }>;
}

Deno.test("files #38: a missing file gives the OS error with the path", () => {
  const e = assertThrows(
    () => parseInvocation(["-c", "/no/such.yaml"], { readFile: memFiles({}) }),
    "error loading config file: open /no/such.yaml: no such file or directory",
  );
  assert(e instanceof ConfigError);
  assertEquals((e as ConfigError).file, "/no/such.yaml");
  // and through the real file system
  assertThrows(
    () => parseInvocation(["-c", "/nonexistent-dir-xyz/a.yaml"]),
    "error loading config file: open /nonexistent-dir-xyz/a.yaml: no such file or directory",
  );
});

Deno.test("files #39: a top-level map fails with yaml.v2's unmarshal error, naming the file", () => {
  const e = fails("node:\n  id: x\n", "cannot unmarshal !!map into []interface {}");
  assertStringIncludes(e.message, "error loading config file: c.yaml: yaml: unmarshal errors:");
  fails("just a string\n", "cannot unmarshal !!str `just a ...` into []interface {}");
});

Deno.test("files #40: empty and comment-only files are valid (implicit node)", () => {
  for (const t of ["", "# nothing here\n", "---\n"]) {
    const ss = sections(t);
    assertEquals(ss.map((s) => s.kind), ["node"]);
    assertEquals(ss[0].source, "implicit node");
  }
});

Deno.test("files #41/#44: local-only forms; a boolean value is invalid", () => {
  for (
    const t of ["- local-only\n", "- local-only:\n", "- local-only: null\n", "- local-only: ~\n"]
  ) {
    const lo = one(sections(t), "local-only");
    assertEquals(lo.local, false);
  }
  fails("- local-only: true\n", "invalid config format for local-only");
  fails("- local-only: [1]\n", "invalid config format for local-only");
});

Deno.test("files #42: bare values in files", () => {
  const ss = sections('- node: foo\n- log-level: debug\n- tcp-peer: "host:2222"\n');
  assertEquals(one(ss, "node").id, "foo");
  assertEquals(one(ss, "log-level").level, "debug");
  assertEquals(one(ss, "tcp-peer").address, "host:2222");
  fails(
    "- trace: yes please\n",
    "could not get barevalue for command trace: command does not allow bare values",
  );
});

Deno.test("files #43: an integer bare value fails, a string one works", () => {
  fails("- tcp-listener: 2222\n", "invalid config format for tcp-listener");
  assertEquals(one(sections('- tcp-listener: "2222"\n'), "tcp-listener").port, 2222);
  fails(
    '- tcp-listener: "abc"\n',
    'error setting field Port in command tcp-listener: strconv.ParseInt: parsing "abc": invalid syntax',
  );
});

Deno.test("files #45: section names are case-sensitive lower-case in files", () => {
  fails(
    "- Node:\n    id: x\n",
    "could not get config type for command Node: unknown config type Node",
  );
  assertEquals(one(sections("- udp-listener: {port: 1}\n"), "udp-listener").port, 1);
  fails("- UDP-listener: {port: 1}\n", "unknown config type UDP-listener");
});

Deno.test("files #46: keys are case-insensitive", () => {
  for (const key of ["workType", "worktype", "WORKTYPE"]) {
    const wc = one(
      sections(`- work-command:\n    ${key}: echo\n    command: echo\n`),
      "work-command",
    );
    assertEquals(wc.worktype, "echo");
  }
  fails("- tcp-listener:\n    port: 1\n    bind-addr: x\n", "unknown field name bind-addr");
});

Deno.test("files #47: item shapes", () => {
  fails("- node: {id: a}\n  trace:\n", "config format invalid: item has multiple names");
  fails("- {}\n", "config format invalid: item has multiple names");
  fails("- [a]\n", "unknown config file format");
  fails("- 12\n", "unknown config file format");
  fails("- 12: x\n", "section key is not a string");
  fails("- tcp-listener: {1: 2}\n", "invalid config format for tcp-listener");
});

Deno.test("files #48: unknown key names file, key and section", () => {
  const e = fails(
    "- tcp-listener:\n    port: 1\n    bogus: 2\n",
    "field bogus not defined for command tcp-listener: unknown field name bogus",
  );
  assertStringIncludes(e.message, "c.yaml");
  assertEquals(e.section, "tcp-listener");
  assertEquals(e.field, "bogus");
});

Deno.test("files #49: missing required keys", () => {
  fails(
    "- tcp-listener:\n    bindaddr: x\n",
    "error in tcp-listener: required parameter missing: port",
  );
  fails(
    "- tls-client:\n    name: a\n",
    "error in tls-client: required parameters missing: cert, key",
  );
  // #62
  fails("- tls-client:\n    name: a\n    key: k\n", "required parameter missing: cert");
});

Deno.test("files #50: an empty value for a scalar key is nil", () => {
  fails("- node:\n    id:\n", "error setting field id in command node: value cannot be nil");
});

Deno.test("files #51: singletons", () => {
  fails("- node: a\n- node: b\n", "only one node directive is allowed");
  fails("- trace\n- trace\n", "only one trace directive is allowed");
  assertThrows(
    () => run("- node: a\n", ["--node", "id=z"]),
    'directive "node" is only allowed once',
  );
});

Deno.test("files #52: permissions forms", () => {
  for (const p of ["0660", '"0660"']) {
    const cs = one(
      sections(`- control-service:\n    filename: /tmp/s\n    permissions: ${p}\n`),
      "control-service",
    );
    assertEquals(cs.permissions, 0o660, p);
  }
  assertEquals(
    one(sections("- control-service:\n    permissions: 660\n"), "control-service").permissions,
    660,
  );
  assertEquals(
    one(sections("- control-service:\n    filename: x\n"), "control-service").permissions,
    0o600,
  );
  const inv = parseInvocation(["--control-service", "filename=/tmp/s", "permissions=0660"]);
  assert(inv.kind === "node");
  assertEquals((inv.sections[0] as { permissions: number }).permissions, 0o660);
});

Deno.test("files #53: YAML 1.1 booleans", () => {
  assertEquals(
    one(sections("- tcp-peer:\n    address: h:1\n    redial: off\n"), "tcp-peer").redial,
    false,
  );
  assertEquals(
    one(sections("- tcp-peer:\n    address: h:1\n    redial: yes\n"), "tcp-peer").redial,
    true,
  );
  assertEquals(one(sections("- node:\n    id: no\n"), "node").id, "false");
  assertEquals(
    one(
      sections("- work-python:\n    worktype: a\n    plugin: b\n    function: y\n"),
      "work-python",
    ).function,
    "true",
  );
});

Deno.test("files #54: int conversions", () => {
  assertEquals(one(sections('- tcp-listener:\n    port: "0o17"\n'), "tcp-listener").port, 15);
  assertEquals(one(sections("- tcp-listener:\n    port: 0o17\n"), "tcp-listener").port, 15);
  assertEquals(one(sections("- tcp-listener:\n    port: 2222.9\n"), "tcp-listener").port, 2222);
  fails("- tcp-listener:\n    port: [1]\n", "type error (expected int)");
});

Deno.test("files #55: a scalar for a list gives a one-element list; [] is non-nil empty", () => {
  assertEquals(
    one(sections("- tcp-listener:\n    port: 1\n    allowedpeers: solo\n"), "tcp-listener")
      .allowedpeers,
    ["solo"],
  );
  assertEquals(
    one(sections("- tcp-listener:\n    port: 1\n    allowedpeers: []\n"), "tcp-listener")
      .allowedpeers,
    [],
  );
  assertEquals(one(sections("- tcp-listener:\n    port: 1\n"), "tcp-listener").allowedpeers, null);
  assertEquals(
    one(sections("- tcp-listener:\n    port: 1\n    allowedpeers:\n"), "tcp-listener").allowedpeers,
    null,
  );
  assertEquals(
    one(
      sections("- tcp-listener:\n    port: 1\n    allowedpeers:\n      - a\n      - b\n"),
      "tcp-listener",
    ).allowedpeers,
    ["a", "b"],
  );
});

Deno.test("files #56/#57: firewall rules from YAML; JSON on the command line fails", () => {
  const node = one(
    sections(
      "- node:\n    id: n\n    firewallrules:\n      - action: Reject\n        tonode: ctl\n        toservice: control\n      - Action: drop\n        FromNode: /a.*/\n",
    ),
    "node",
  );
  assertEquals(node.firewallrules, [
    { action: "reject", tonode: "ctl", toservice: "control" },
    { action: "drop", fromnode: "/a.*/" },
  ]);
  assertThrows(
    () => parseInvocation(["--node", 'firewallrules=[{"action":"accept"}]']),
    "must be type netceptor.FirewallRuleData",
  );
  fails("- node:\n    firewallrules:\n      - action: allow\n", "unknown action: allow");
  // YAML 1.1: a node called `n` must be quoted, or it is the boolean false
  fails(
    "- node:\n    firewallrules:\n      - action: drop\n        tonode: n\n",
    "tonode must be a string",
  );
  fails(
    "- node:\n    firewallrules:\n      - action: accept\n        tonode: 5\n",
    "error in rule 0: invalid firewall rule. tonode must be a string",
  );
  fails(
    "- node:\n    firewallrules:\n      - action: accept\n      - action: accept\n        port: x\n",
    "error in rule 1: invalid filewall rule. unknown key: port",
  );
});

Deno.test("files #58/#59: first document only; anchors and merge keys", () => {
  const ss = sections("---\n- node: a\n...\n---\n- node: b\n- bogus\n");
  assertEquals(one(ss, "node").id, "a");
  const peers = sections(
    "- tcp-peer: &p\n    address: h:1\n    cost: 2\n- tcp-peer:\n    <<: *p\n    address: h:2\n",
  ).filter((s) => s.kind === "tcp-peer");
  assertEquals(peers.map((p) => [p.address, p.cost]), [["h:1", 2], ["h:2", 2]]);
});

Deno.test("files #65: maxidleconnectiontimeout", () => {
  fails("- node:\n    maxidleconnectiontimeout: 10s\n", "is less than the default default timeout");
  assertEquals(
    one(sections("- node:\n    maxidleconnectiontimeout: 60s\n"), "node").maxidleconnectiontimeout,
    60_000,
  );
  assertEquals(one(sections("- node: x\n"), "node").maxidleconnectiontimeout, 21_000);
  fails(
    "- node:\n    maxidleconnectiontimeout: abc\n",
    "failed to parse MaxIdleConnectionTimeout from configuration file -- valid examples include '1.5h', '30m', '30m10s'",
  );
});

Deno.test("files: node duplicatenotice is stay (default) or exit; anything else is a located error", () => {
  assertEquals(one(sections("- node: x\n"), "node").duplicatenotice, "stay");
  assertEquals(one(sections(""), "node").duplicatenotice, "stay");
  const dn = (v: string) => one(sections(`- node:\n    duplicatenotice: ${v}\n`), "node");
  assertEquals(dn("stay").duplicatenotice, "stay");
  assertEquals(dn("Stay").duplicatenotice, "stay");
  assertEquals(dn("exit").duplicatenotice, "exit");
  assertEquals(dn("EXIT").duplicatenotice, "exit");
  assertEquals(dn('""').duplicatenotice, "stay");
  const e = fails("- node:\n    duplicatenotice: halt\n", "duplicatenotice must be exit or stay");
  assertEquals(
    e.message,
    "duplicatenotice must be exit or stay (node from c.yaml, duplicatenotice: halt)",
  );
  assertEquals([e.section, e.field, e.file], ["node", "duplicatenotice", "c.yaml"]);
  // the command-line form
  const inv = parseInvocation(["--node", "id=n1", "duplicatenotice=exit"]);
  assert(inv.kind === "node");
  assertEquals(one(inv.sections, "node").duplicatenotice, "exit");
  const dflt = parseInvocation(["--node", "id=n1"]);
  assert(dflt.kind === "node");
  assertEquals(one(dflt.sections, "node").duplicatenotice, "stay");
  assertThrows(
    () => parseInvocation(["--node", "id=n1", "duplicatenotice=no"]),
    "duplicatenotice must be exit or stay (node on the command line, duplicatenotice: no)",
  );
});

Deno.test("files #7: a file holding only `- version` is the version action", () => {
  assertEquals(run("- version\n").kind, "version");
  assertThrows(() => run("- version\n- trace\n"), "cannot specify any other options with version");
  const inv = run(
    "- cert-init:\n    commonname: ca\n    bits: 2048\n    outcert: a\n    outkey: b\n",
  );
  assert(inv.kind === "action");
  assertEquals(inv.section.kind, "cert-init");
});

Deno.test("files #37/#60: -c equals flags; several files merge in argument order", () => {
  const yaml =
    "- node:\n    id: foo\n- tcp-listener:\n    port: 2222\n- control-service:\n    filename: /var/run/r.sock\n";
  const a = sections(yaml);
  const b = parseInvocation([
    "--node",
    "id=foo",
    "--tcp-listener",
    "port=2222",
    "--control-service",
    "filename=/var/run/r.sock",
  ]);
  assert(b.kind === "node");
  const strip = (ss: Section[]) => ss.map(({ source: _s, ...rest }) => rest);
  assertEquals(strip(a), strip(b.sections));
  const inv = parseInvocation(
    ["--tcp-listener", "port=1", "-c", "a.yaml", "--tcp-listener", "port=3", "--config", "b.yaml"],
    {
      readFile: memFiles({
        "a.yaml": "- tcp-listener: {port: 2}\n",
        "b.yaml": "- tcp-listener: {port: 4}\n",
      }),
    },
  );
  assert(inv.kind === "node");
  assertEquals(inv.sections.map((s) => s.kind === "tcp-listener" ? s.port : s.kind), [
    1,
    2,
    3,
    4,
    "node",
  ]);
  assertEquals(inv.sections.map((s) => s.source), [
    "--tcp-listener",
    "a.yaml",
    "--tcp-listener",
    "b.yaml",
    "implicit node",
  ]);
  assertEquals(inv.configFiles, ["a.yaml", "b.yaml"]);
  assertEquals(inv.reloadFile, "a.yaml");
});

Deno.test("files: only an exactly spelled --config/-c enables reload", () => {
  const rf = memFiles({ "a.yaml": "- local-only\n" });
  const r = (argv: string[]) => {
    const inv = parseInvocation(argv, { readFile: rf });
    assert(inv.kind === "node");
    return inv.reloadFile;
  };
  assertEquals(r(["--config", "a.yaml"]), "a.yaml");
  assertEquals(r(["-c", "a.yaml"]), "a.yaml");
  assertEquals(r(["--CONFIG", "a.yaml"]), null);
  assertEquals(r(["-config", "a.yaml"]), null);
  assertEquals(r(["--local-only"]), null);
});

/** Our own example configs: every section kind, both work-type spellings, comments, `...`. */
const FIXTURES = new URL("../fixtures/config/", import.meta.url).pathname;
const EXAMPLES = `${FIXTURES}examples`;
const ERRORS = `${FIXTURES}errors`;

/** Parses one example file as `receptor -c FILE` would. */
function parseExample(name: string) {
  const inv = parseInvocation(["-c", `${EXAMPLES}/${name}`]);
  assert(inv.kind === "node", name);
  return inv;
}

Deno.test("files: every example config parses, and together they use every section kind", () => {
  const kinds = new Set<string>();
  const names = [...Deno.readDirSync(EXAMPLES)].map((e) => e.name).sort();
  assertEquals(names.length, 9);
  for (const name of names) {
    const inv = parseExample(name);
    assert(inv.sections.some((s) => s.kind === "node"), name);
    for (const s of inv.sections) kinds.add(s.kind);
  }
  assertEquals([...kinds].sort(), [
    "command-service",
    "control-service",
    "local-only",
    "log-level",
    "node",
    "tcp-client",
    "tcp-listener",
    "tcp-peer",
    "tcp-server",
    "tls-client",
    "tls-server",
    "trace",
    "udp-client",
    "udp-listener",
    "udp-peer",
    "udp-server",
    "unix-socket-client",
    "unix-socket-server",
    "work-command",
    "work-deno",
    "work-kubernetes",
    "work-python",
    "work-signing",
    "work-verification",
    "ws-listener",
    "ws-peer",
  ]);
});

Deno.test("files: example values come through typed (durations, both work-type spellings)", () => {
  const signed = parseExample("signed_work.yaml");
  const ws = signed.sections.find((s) => s.kind === "work-signing");
  assert(ws && ws.kind === "work-signing");
  assertEquals(ws.tokenexpiration, 8_100_000); // 2h15m in ms
  const types = signed.sections.flatMap((s) => s.kind === "work-command" ? [s.worktype] : []);
  assertEquals(types, ["checked-shout", "plain-shout"]);
  const leaf = parseExample("leaf.yaml");
  assertEquals(leaf.sections.map((s) => s.kind), [
    "log-level",
    "node",
    "tcp-peer",
    "control-service",
  ]);
  // no node section: the node is implicit
  const container = parseExample("container.conf");
  assertEquals(container.sections.filter((s) => s.kind === "node").length, 1);
});

Deno.test("files: broken config files are rejected with the file and the problem named", () => {
  const unknown = `${ERRORS}/unknown_field.yml`;
  const e1 = assertThrows(() => parseInvocation(["-c", unknown]));
  assert(e1 instanceof ConfigError);
  assertStringIncludes(e1.message, `error loading config file: ${unknown}: `);
  assertStringIncludes(
    e1.message,
    "field allowedpeers not defined for command node: unknown field name allowedpeers",
  );
  const syntax = `${ERRORS}/syntax_error.yml`;
  const e2 = assertThrows(() => parseInvocation(["-c", syntax]));
  assert(e2 instanceof ConfigError);
  assertStringIncludes(e2.message, `error loading config file: ${syntax}: `);
  assertStringIncludes(e2.message, "yaml: line ");
});
