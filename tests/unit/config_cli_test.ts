import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runNodeCli } from "../../src/cli/node_cli.ts";
import { nodeHelpText } from "../../src/cli/help.ts";
import { UPSTREAM_COMPAT, VERSION } from "../../src/version.ts";
import { ConfigError, validateSections } from "../../src/config/mod.ts";
import type { CertAction, Invocation } from "../../src/config/types.ts";
import { memFiles } from "../fixtures/config/memfs.ts";

interface Fake {
  out: string;
  started: Extract<Invocation, { kind: "node" }>[];
  actions: CertAction[];
}

async function cli(
  argv: string[],
  opts: {
    files?: Record<string, string>;
    startCode?: number;
    actionError?: string;
    version?: string;
    validate?: boolean;
  } = {},
): Promise<[number, Fake]> {
  const fake: Fake = { out: "", started: [], actions: [] };
  const code = await runNodeCli(argv, {
    version: opts.version ?? "1.2.3",
    stdout: (t) => fake.out += t,
    readFile: memFiles(opts.files ?? {}),
    startNode: (inv) => {
      fake.started.push(inv);
      if (opts.validate) validateSections(inv.sections, { hostname: () => "h" });
      return Promise.resolve(opts.startCode ?? 0);
    },
    runCertAction: (s) => {
      fake.actions.push(s);
      return opts.actionError ? Promise.reject(new Error(opts.actionError)) : Promise.resolve();
    },
  });
  return [code, fake];
}

Deno.test("cli #1/#2: help with no arguments or -h, exit 0, nothing started", async () => {
  for (const argv of [[], ["--help"], ["-H"], ["--HELP"], ["--node", "id=x", "-h"]]) {
    const [code, f] = await cli(argv);
    assertEquals(code, 0);
    assert(f.out.startsWith("Usage: receptor [--<action> [<param>=<value> ...] ...]\n"), f.out);
    assertEquals(f.started.length, 0);
  }
});

Deno.test("cli #3: errors before --help are printed as Error: ... with exit 1", async () => {
  const [code, f] = await cli(["--bogus", "--help"]);
  assertEquals(code, 1);
  assertEquals(f.out, "Error: command error: unknown config type bogus\n");
});

Deno.test("cli #4/#5: completion and version", async () => {
  let [code, f] = await cli(["--bash-completion"]);
  assertEquals(code, 0);
  assertStringIncludes(f.out, "complete -F _receptor receptor");
  [code, f] = await cli(["--version"]);
  assertEquals([code, f.out], [0, "1.2.3\n"]);
  [code, f] = await cli(["--version"], { version: "" });
  assertEquals([code, f.out], [0, "Version unknown\n"]);
  [code, f] = await cli(["--node", "id=x", "--version"]);
  assertEquals([code, f.out], [1, "Error: cannot specify any other options with version\n"]);
  [code, f] = await cli(["-c", "v.yaml"], { files: { "v.yaml": "- version\n" } });
  assertEquals([code, f.out], [0, "1.2.3\n"]);
});

Deno.test("cli: certificate actions run once; their errors exit 1", async () => {
  let [code, f] = await cli(["--cert-init", "commonname=ca", "bits=2048", "outcert=a", "outkey=b"]);
  assertEquals(code, 0);
  assertEquals(f.actions.map((a) => a.kind), ["cert-init"]);
  assertEquals(f.started.length, 0);
  assertEquals(f.out, "");
  [code, f] = await cli(["--cert-makereq", "commonname=x", "outreq=r"], {
    actionError: "must provide either InKey or OutKey",
  });
  assertEquals([code, f.out], [1, "Error: must provide either InKey or OutKey\n"]);
  [code, f] = await cli(["--cert-init", "commonname=x", "outcert=a"]);
  assertEquals(code, 1);
  assertStringIncludes(f.out, "Error: error in --cert-init: required parameters missing: ");
});

Deno.test("cli: a node invocation goes to startNode with its exit code", async () => {
  const [code, f] = await cli(["--node", "id=foo", "-c", "a.yaml"], {
    files: { "a.yaml": "- tcp-listener: {port: 2222}\n" },
    startCode: 7,
  });
  assertEquals(code, 7);
  assertEquals(f.started.length, 1);
  const inv = f.started[0];
  assertEquals(inv.sections.map((s) => s.kind), ["node", "tcp-listener"]);
  assertEquals(inv.reloadFile, "a.yaml");
  assertEquals(inv.argv, ["--node", "id=foo", "-c", "a.yaml"]);
});

Deno.test("cli: ConfigErrors thrown by startNode are printed like parse errors", async () => {
  const [code, f] = await cli(["--tcp-listener", "port=0", "cost=-1"], { validate: true });
  assertEquals(code, 1);
  assert(f.out.startsWith("Error: connection cost must be positive"), f.out);
  assertEquals(f.out.split("\n").length, 2);
  const [c2, f2] = await cli(["--node", "id=x"], {
    startCode: 0,
  });
  assertEquals([c2, f2.out], [0, ""]);
  void ConfigError;
});

Deno.test("cli #76: an empty argument exits 1 with a message", async () => {
  const [code, f] = await cli(["--node", ""]);
  assertEquals(code, 1);
  assert(f.out.startsWith("Error: empty argument"), f.out);
});

Deno.test("cli #79: --config-v2 prints the v2 banner, then says v2 is unsupported", async () => {
  const [code, f] = await cli(["--node", "id=x", "--config-v2"]);
  assertEquals(code, 1);
  const lines = f.out.split("\n");
  assertEquals(lines[0], "Running v2 cli/config");
  assert(lines[1].startsWith("Error: ") && lines[1].includes("not supported"), lines[1]);
  assertEquals(f.started.length, 0);
});

Deno.test("cli: help lists every visible directive and field with type, default, required", () => {
  const text = nodeHelpText("receptor");
  assertStringIncludes(text, "   --help: Show this help\n");
  assertStringIncludes(
    text,
    "   --config <filename>: Load additional config options from a YAML file\n",
  );
  assertStringIncludes(
    text,
    "   --bash-completion: Generate a completion script for the bash shell\n",
  );
  assertStringIncludes(
    text,
    "   --node: Specifies the node configuration of this instance (required)\n" +
      "      id=<string>: Node ID. Defaults to the local hostname.\n" +
      "      datadir=<string>: Directory in which to store node data. (default: /tmp/receptor)\n",
  );
  assertStringIncludes(text, "      port=<int>: Local TCP port to listen on (required)\n");
  assertStringIncludes(text, "      cost=<float64>: Connection cost (weight) (default: 1.0)\n");
  assertStringIncludes(text, "      allowedpeers=<[]string (may be repeated)>:");
  assertStringIncludes(text, "      nodecost=<JSON dict of string to float64>: Per-node costs\n");
  assertStringIncludes(text, "      permissions=<int>: Socket file permissions (default: 0600)\n");
  // groups in upstream order
  const order = [
    "   --node:",
    "   --local-only:",
    "   --version:",
    "   --log-level:",
    "   --trace:",
    "   --control-service:",
    "Commands that configure resources used by other commands:",
    "   --tls-server:",
    "Commands to configure back-ends, which connect Receptor nodes together:",
    "   --tcp-listener:",
    "   --udp-listener:",
    "Commands to configure services that run on top of the Receptor mesh:",
    "   --command-service:",
    "Commands to configure workers that process units of work:",
    "   --work-command:",
    "   --work-python:",
    "Commands to generate certificates and run a certificate authority",
    "   --cert-init:",
    "   --cert-signreq:",
  ];
  let pos = -1;
  for (const item of order) {
    const i = text.indexOf(item);
    assert(i > pos, `${item} out of order`);
    pos = i;
  }
  assertEquals(text.includes("--command-runner"), false);
});

Deno.test("cli: version constants", () => {
  // upstream protocol version, then ours as semver build metadata (README "Where we differ")
  assertEquals(VERSION, "1.4.9+deno.0.1.0");
  assertEquals(UPSTREAM_COMPAT, "1.4.9");
});
