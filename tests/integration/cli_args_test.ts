/**
 * The node command line as a real process: stdout and exit status for help, version,
 * completion, errors and the v2 switch (node start-up replaced by a stand-in).
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";

const MAIN = new URL("../fixtures/config/cli_main.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli process: help, version, completion, errors, v2 switch", async () => {
  let r = await run([]);
  assertEquals(r.code, 0);
  assert(r.stdout.startsWith("Usage: receptor "), r.stdout);
  r = await run(["--node", "id=x", "--HELP"]);
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "   --tcp-listener: Run a backend listener on a TCP port");
  r = await run(["--version"]);
  assertEquals([r.code, r.stdout], [0, "1.4.9+deno.0.1.0\n"]);
  r = await run(["--bash-completion"]);
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "complete -F _receptor receptor");
  r = await run(["--bogus", "--help"]);
  assertEquals([r.code, r.stdout], [1, "Error: command error: unknown config type bogus\n"]);
  r = await run(["--node", "id=a", ""]);
  assertEquals(r.code, 1);
  assert(r.stdout.startsWith("Error: empty argument"), r.stdout);
  r = await run(["-c", "/nonexistent-dir-q/r.yaml"]);
  assertEquals([r.code, r.stdout], [
    1,
    "Error: error loading config file: open /nonexistent-dir-q/r.yaml: no such file or directory\n",
  ]);
  r = await run(["--node", "id=x", "--tcp-listener", "port=0", "cost=-1"]);
  assertEquals(r.code, 1);
  assert(r.stdout.startsWith("Error: connection cost must be positive"), r.stdout);
  r = await run(["--node", "id=x", "--local-only"]);
  assertEquals([r.code, r.stdout], [0, "START node local-only\n"]);
  r = await run(["--node", "id=x", "--control-service", "filename=/tmp/never.sock"]);
  assertEquals([r.code, r.stdout], [1, "Run receptor --help for command line instructions.\n"]);
  r = await run(["--config-v2", "--config", "x.yaml"]);
  assertEquals(r.code, 1);
  assert(r.stdout.startsWith("Running v2 cli/config\nError: "), r.stdout);
  r = await run(["--cert-init", "commonname=ca", "bits=2048", "outcert=a", "outkey=b"]);
  assertEquals([r.code, r.stdout], [0, "ACTION cert-init\n"]);
});
