/**
 * `receptor cert init|makereq|signreq` GNU-style front end: help, option parsing (repeatable,
 * `--opt=value`, booleans), `Error: ...` on stdout with status 1, and a full CA → CSR → cert run.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCertCli } from "../../src/cli/cert_cli.ts";
import { parseCertificate } from "../../src/certs/x509_parse.ts";
import { sanNamesFromExtensions } from "../../src/certs/node_id_san.ts";
import { pemDecodeAll } from "../../src/certs/pem.ts";

function io(answer: string | null = "yes") {
  const out: string[] = [];
  const prompts: string[] = [];
  return {
    out,
    prompts,
    io: {
      stdout: (t: string) => out.push(t),
      prompt: {
        prompt: (t: string) => {
          prompts.push(t);
          return Promise.resolve(answer);
        },
      },
    },
  };
}

Deno.test("cert CLI: help and usage errors", async () => {
  let t = io();
  assertEquals(await runCertCli([], t.io), 0);
  assertStringIncludes(t.out.join(""), "Usage: receptor cert <command>");
  t = io();
  assertEquals(await runCertCli(["init", "--help"], t.io), 0);
  assertStringIncludes(t.out.join(""), "--commonname");
  t = io();
  assertEquals(await runCertCli(["bogus"], t.io), 1);
  assertEquals(t.out.join(""), 'Error: unknown cert command "bogus"\n');
  t = io();
  assertEquals(await runCertCli(["init", "--commonname", "x", "--outcert", "a"], t.io), 1);
  assertEquals(t.out.join(""), "Error: required options missing: --bits, --outkey\n");
  t = io();
  assertEquals(await runCertCli(["init", "--frob", "x"], t.io), 1);
  assertEquals(t.out.join(""), "Error: unknown option --frob for cert init\n");
  t = io();
  assertEquals(await runCertCli(["makereq", "--commonname", "x", "--outreq", "r"], t.io), 1);
  assertEquals(t.out.join(""), "Error: must provide either InKey or OutKey\n");
  t = io();
  assertEquals(await runCertCli(["init", "--bits", "lots"], t.io), 1);
  assertStringIncludes(t.out.join(""), 'Error: invalid value "lots" for --bits');
  t = io();
  assertEquals(await runCertCli(["init", "--commonname"], t.io), 1);
  assertEquals(t.out.join(""), "Error: option --commonname needs a value\n");
});

Deno.test("cert CLI: init, makereq with repeatable names, signreq with prompt and --verify", async () => {
  const d = Deno.makeTempDirSync();
  let t = io();
  assertEquals(
    await runCertCli(
      [
        "cert",
        "init",
        "--commonname",
        "Mesh CA",
        "--bits=1024",
        "--outcert",
        `${d}/ca.crt`,
        "--outkey",
        `${d}/ca.key`,
      ],
      t.io,
    ),
    0,
  );
  assertEquals(t.out, []);
  t = io();
  assertEquals(
    await runCertCli([
      "makereq",
      "--commonname",
      "n1",
      "--bits",
      "1024",
      "--dnsname",
      "a.example",
      "--dnsname=b.example",
      "--ipaddress",
      "127.0.0.1",
      "--nodeid",
      "n1",
      "--nodeid",
      "n1-alias",
      "--outreq",
      `${d}/n1.csr`,
      "--outkey",
      `${d}/n1.key`,
    ], t.io),
    0,
  );
  const base = [
    "signreq",
    "--req",
    `${d}/n1.csr`,
    "--cacert",
    `${d}/ca.crt`,
    "--cakey",
    `${d}/ca.key`,
    "--outcert",
    `${d}/n1.crt`,
  ];
  t = io("no");
  assertEquals(await runCertCli(base, t.io), 1);
  assertEquals(t.out.join(""), "Error: user declined\n");
  assertStringIncludes(t.prompts[0], "    Receptor Node ID: n1-alias\nSign certificate (yes/no)? ");
  t = io(null);
  assertEquals(await runCertCli(base, t.io), 1);
  assertEquals(t.out.join(""), "Error: EOF\n");
  t = io("Y");
  assertEquals(await runCertCli(base, t.io), 0);
  t = io("no");
  assertEquals(await runCertCli([...base, "--verify"], t.io), 0);
  assertEquals(t.prompts, [], "--verify does not prompt");
  t = io("no");
  assertEquals(await runCertCli([...base, "--verify=false"], t.io), 1);
  const cert = parseCertificate(pemDecodeAll(Deno.readTextFileSync(`${d}/n1.crt`))[0].der);
  const names = sanNamesFromExtensions(cert.extensions);
  assertEquals(names.dnsNames, ["a.example", "b.example"]);
  assertEquals(names.nodeIds, ["n1", "n1-alias"]);
  assert(Deno.readTextFileSync(`${d}/n1.key`).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
});
