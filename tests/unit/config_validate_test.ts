import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import {
  ConfigError,
  effectiveNodeId,
  hasBackend,
  nodeSection,
  parseInvocation,
  preReloadCheck,
  sectionsOf,
  validateSections,
} from "../../src/config/mod.ts";
import type { Section } from "../../src/config/types.ts";
import { memFiles } from "../fixtures/config/memfs.ts";

const host = () => "testhost";

function sections(argv: string[], files: Record<string, string> = {}): Section[] {
  const inv = parseInvocation(argv, { readFile: memFiles(files) });
  if (inv.kind !== "node") throw new Error(`not a node invocation: ${inv.kind}`);
  return inv.sections;
}
function ok(argv: string[], files: Record<string, string> = {}): Section[] {
  const ss = sections(argv, files);
  validateSections(ss, { hostname: host });
  return ss;
}
function bad(argv: string[], part: string, files: Record<string, string> = {}): ConfigError {
  const ss = sections(argv, files);
  const e = assertThrows(() => validateSections(ss, { hostname: host }), part);
  assert(e instanceof ConfigError, `not a ConfigError: ${e}`);
  return e as ConfigError;
}

Deno.test("validate #25: connection cost must be positive (listeners and peers)", () => {
  for (const kind of ["--tcp-listener", "--udp-listener", "--ws-listener"]) {
    const e = bad([kind, "port=0", "cost=-1"], "connection cost must be positive");
    assertEquals(e.upstream, "connection cost must be positive");
    bad([kind, "port=0", "cost=0"], "connection cost must be positive");
    bad([kind, "port=0", 'nodecost={"a":1,"b":0}'], "connection cost must be positive for b");
  }
  bad(["--tcp-peer", "h:1", "cost=-2"], "connection cost must be positive");
  bad(["--udp-peer", "h:1", "cost=0"], "connection cost must be positive");
  bad(["--ws-peer", "ws://h:1/", "cost=-1"], "connection cost must be positive");
  ok(["--tcp-listener", "port=0", 'nodecost={"a":1.3,"b":5.6}']);
  // the file and section are named
  const e = bad(["-c", "x.yaml"], "connection cost must be positive", {
    "x.yaml": "- tcp-listener:\n    port: 1\n    cost: 0\n",
  });
  assertStringIncludes(e.message, "x.yaml");
  assertEquals(e.section, "tcp-listener");
});

Deno.test("validate #32/#33: node ID rules", () => {
  const ss = ok(["--local-only"]);
  assertEquals(nodeSection(ss).id, "testhost");
  const implicit = sections(["--local-only"]);
  assertThrows(
    () => validateSections(implicit, { hostname: () => "localhost" }),
    "no node ID specified and local host name is localhost",
  );
  assertThrows(
    () => effectiveNodeId(nodeSection(implicit), () => "LOCALHOST.localdomain"),
    "no node ID specified and local host name is localhost",
  );
  assertEquals(effectiveNodeId(nodeSection(implicit), () => "localhostish"), "localhostish");
  for (const id of ["localhost", "LocalHost"]) {
    bad(["--node", `id=${id}`], 'node ID "localhost" is reserved');
  }
  assertEquals(nodeSection(ok(["--node", "id=localhost.x"])).id, "localhost.x");
  // the real host name is used by default
  const real = sections(["--local-only"]);
  try {
    validateSections(real);
    assertEquals(nodeSection(real).id, Deno.hostname());
  } catch (e) {
    assertStringIncludes(String(e), "localhost");
  }
});

Deno.test("validate #34: log level names", () => {
  bad(["--log-level", "verbose"], "verbose is not a valid log level name");
  bad(["--log-level", "level="], " is not a valid log level name");
  for (const l of ["error", "Warning", "INFO", "debug"]) ok(["--log-level", l]);
  ok(["--log-level"]);
});

Deno.test("validate #61: TLS references, in any order", () => {
  bad(["--tcp-listener", "port=1", "tls=foo"], "unknown TLS config foo");
  bad(["--tcp-peer", "h:1", "tls=foo"], "unknown TLS config foo");
  ok(["--tcp-listener", "port=1", "tls=srv", "--tls-server", "name=srv", "cert=c", "key=k"]);
  ok(["--tcp-peer", "h:1", "tls=cli", "--tls-client", "name=cli", "cert=c", "key=k"]);
  // a server name is not a client name
  bad(
    ["--tcp-peer", "h:1", "tls=srv", "--tls-server", "name=srv", "cert=c", "key=k"],
    "unknown TLS config srv",
  );
  bad(["--control-service", "tls=nope"], "unknown TLS config nope");
  bad(["--control-service", "tcplisten=1234", "tcptls=nope"], "unknown TLS config nope");
  ok(["--control-service", "tcptls=nope"]); // tcptls only looked up with tcplisten
  bad(
    ["--tcp-server", "port=1", "remotenode=n", "remoteservice=s", "tlsclient=c"],
    "unknown TLS config c",
  );
  bad(["--unix-socket-client", "service=s", "filename=f", "tls=x"], "unknown TLS config x");
  bad(["--ws-peer", "wss://h:1/"], "pinned fingerprints missing for default");
  ok(["--ws-peer", "wss://h:1/", "--tls-client", "name=default", "cert=c", "key=k"]);
  ok(["--ws-peer", "ws://h:1/"]);
  bad(["--tcp-peer", "hostonly"], "address hostonly: missing port in address");
});

Deno.test("validate #64: pinned certificate fingerprints must be 32 or 64 bytes", () => {
  const fp32 = "ab".repeat(32);
  const fp64 = Array.from({ length: 64 }, () => "CD").join(":");
  ok([
    "--tls-client",
    "name=c",
    "cert=c",
    "key=k",
    `pinnedservercert=${fp32}`,
    `pinnedservercert=${fp64}`,
  ]);
  bad(
    ["--tls-client", "name=c", "cert=c", "key=k", "pinnedservercert=abcd"],
    "error preparing tls client config: error decoding fingerprints: fingerprints must be 32 or 64 bytes for sha256 or sha512",
  );
  bad(
    ["--tls-server", "name=s", "cert=c", "key=k", "pinnedclientcert=zz"],
    "error preparing tls server config: error decoding fingerprints: error decoding fingerprint",
  );
  bad(
    ["--tls-client", "name=c", "cert=", "key=k"],
    "cert and key must both be supplied or neither",
  );
});

Deno.test("validate #66/#67/#69: work types and signing", () => {
  bad(
    [
      "--work-command",
      "worktype=echo",
      "command=echo",
      "--work-command",
      "worktype=echo",
      "command=cat",
    ],
    "work type echo already registered",
  );
  bad(["--work-command", "worktype=remote", "command=echo"], "work type remote already registered");
  bad(
    [
      "--work-command",
      "worktype=k",
      "command=echo",
      "--work-kubernetes",
      "worktype=k",
      "image=i",
      "namespace=n",
    ],
    "work type k already registered",
  );
  bad(
    ["--work-command", "worktype=s", "command=echo", "verifysignature=true"],
    "VerifySignature for work command 's' is true, but the work verification public key is not specified",
  );
  ok([
    "--work-command",
    "worktype=s",
    "command=echo",
    "verifysignature=true",
    "--work-verification",
    "/k.pub",
  ]);
  bad(
    ["--work-python", "worktype=p", "plugin=x", "function=f"],
    "[DEPRECATION WARNING] 'work-python' option is not currently being used",
  );
});

Deno.test("validate #77/#78: mesh service names", () => {
  bad(["--control-service", "service=verylongname"], "service name verylongname too long");
  ok(["--control-service", "service=eightchr"]);
  bad(
    ["--control-service", "filename=/a", "--control-service", "filename=/b"],
    "service control is already listening",
  );
  ok(["--control-service", "filename=/a", "--control-service", "service=ctl2"]);
  bad(["--control-service", "service=ping"], "service ping is already listening");
  bad(["--control-service", "service=", "filename="], "no listeners specified");
  bad(["--tcp-client", "service=toolongname", "address=h:1"], "service name toolongname too long");
  bad(
    ["--udp-client", "service=control", "address=h:1", "--control-service"],
    "error opening Unix socket: service control is already listening",
  );
  // command-service failures are only logged upstream
  ok(["--command-service", "service=verylongname", "command=sh"]);
});

Deno.test("validate: work-kubernetes prepare checks", () => {
  bad(["--work-kubernetes", "worktype=k", "authmethod=magic"], "invalid AuthMethod: magic");
  bad(
    ["--work-kubernetes", "worktype=k", "image=i"],
    "must provide namespace when AuthMethod is not kubeconfig",
  );
  ok(["--work-kubernetes", "worktype=k", "image=i", "authmethod=kubeconfig"]);
  bad(["--work-kubernetes", "worktype=k", "namespace=n"], "must specify a container image to run");
  bad(
    ["--work-kubernetes", "worktype=k", "namespace=n", "image=i", "pod=p.yaml"],
    "can only provide Pod when Image, Command, and Params are empty",
  );
  bad(
    ["--work-kubernetes", "worktype=k", "namespace=n", "image=i", "streammethod=udp"],
    "stream mode must be logger or tcp",
  );
  bad(
    ["--work-kubernetes", "worktype=k", "namespace=n", "image=i", "kubeconfig=/x"],
    "can only provide KubeConfig when AuthMethod=kubeconfig",
  );
});

Deno.test("validate: ip-router addresses and ws-peer extra header", () => {
  bad(
    ["--ip-router", "networkname=net", "localnet=10.0.0.0/24"],
    "local network 10.0.0.0/24 must be a /30 CIDR",
  );
  bad(
    ["--ip-router", "networkname=net", "localnet=nonsense"],
    "could not parse nonsense as a CIDR address",
  );
  ok(["--ip-router", "networkname=net", "localnet=10.0.0.0/30", "routes=10.1.0.0/16,10.2.0.0/16"]);
  bad(
    ["--ws-peer", "ws://h:1/", "extraheader=nocolon"],
    "extra header must be in the form key:value",
  );
});

Deno.test("validate §2.6: hasBackend", () => {
  assertEquals(hasBackend(sections(["--node", "id=a"])), false);
  assertEquals(hasBackend(sections(["--control-service", "filename=/x"])), false);
  assertEquals(hasBackend(sections(["--local-only"])), true);
  for (
    const b of [
      ["--tcp-listener", "1"],
      ["--tcp-peer", "h:1"],
      ["--udp-listener", "1"],
      [
        "--udp-peer",
        "h:1",
      ],
      ["--ws-listener", "1"],
      ["--ws-peer", "ws://h/"],
    ]
  ) {
    assertEquals(hasBackend(sections(b)), true, b[0]);
  }
});

Deno.test("validate: helpers and phase order", () => {
  const ss = sections(["--tcp-peer", "a:1", "--tcp-peer", "b:2", "--trace"]);
  assertEquals(sectionsOf(ss, "tcp-peer").map((p) => p.address), ["a:1", "b:2"]);
  assertEquals(sectionsOf(ss, "udp-peer"), []);
  // Prepare errors (cost) come before Run errors (TLS) even when the Run error is earlier
  bad(
    ["--tcp-peer", "a:1", "tls=nope", "--tcp-listener", "1", "cost=0"],
    "connection cost must be positive",
  );
  // Init errors (log level) before Prepare errors
  bad(
    ["--tcp-listener", "1", "cost=0", "--log-level", "loud"],
    "loud is not a valid log level name",
  );
  // preReloadCheck only looks at reloadable sections
  preReloadCheck(sections(["--control-service", "service=verylongname", "--tcp-peer", "a:1"]));
  assertThrows(
    () => preReloadCheck(sections(["--tcp-peer", "a:1", "cost=0"])),
    "connection cost must be positive",
  );
});
