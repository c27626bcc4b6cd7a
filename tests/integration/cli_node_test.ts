/**
 * The real `receptor` program (bundle or main.ts) as a process: the bare upstream forms start
 * a node (`--node ... --local-only --control-service ...`, `-c FILE`), `node --help` exits 0,
 * a config error exits 1 with one `Error:` line naming the file, `--log-format json` gives
 * JSON log lines, and a node without backends exits 1 with the `Run ... --help` hint.
 * @module
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { ctlStatus } from "../helpers/mesh.ts";
import { tempDir, waitFor } from "../helpers/net.ts";
import { NodeProcess, runReceptor, stopAll } from "../helpers/node_process.ts";

async function expectServes(node: NodeProcess, id: string): Promise<void> {
  const st = await waitFor(`${id} answers status`, async () => {
    if (node.exited) throw new Error(`node ${id} exited:\n${node.logText()}`);
    const s = await ctlStatus(node.socket);
    return s.NodeID === id ? s : null;
  }, 20000);
  assertEquals(st.NodeID, id, "status NodeID");
}

Deno.test("cli node: bare --node/--local-only/--control-service and -c FILE start a node", async () => {
  const dir = await tempDir("receptor-cli-node-");
  const nodes: NodeProcess[] = [];
  try {
    const s1 = `${dir}/bare.sock`;
    const bare = new NodeProcess("bare", dir, s1, [
      "--node",
      "id=bare",
      "--local-only",
      "--control-service",
      `filename=${s1}`,
    ]);
    nodes.push(bare);
    await expectServes(bare, "bare");

    const s2 = `${dir}/fromfile.sock`;
    const cfg = `${dir}/fromfile.yaml`;
    await Deno.writeTextFile(
      cfg,
      `- node:\n    id: fromfile\n- local-only:\n- control-service:\n    filename: ${s2}\n`,
    );
    const fromFile = new NodeProcess("fromfile", dir, s2, ["-c", cfg]);
    nodes.push(fromFile);
    await expectServes(fromFile, "fromfile");

    // `node` subcommand with --log-format json: every log line is a JSON object.
    const s3 = `${dir}/json.sock`;
    const json = new NodeProcess("json", dir, s3, [
      "node",
      "--log-format",
      "json",
      "--node",
      "id=jsonlog",
      "--local-only",
      "--log-level",
      "debug",
      "--control-service",
      `filename=${s3}`,
    ]);
    nodes.push(json);
    await expectServes(json, "jsonlog");
    await waitFor("json log lines", () => json.log.length > 0);
    for (const line of json.log.filter((l) => l.trim() !== "")) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
      assert(typeof obj === "object" && obj !== null && !Array.isArray(obj), line);
    }
    assertStringIncludes(json.logText(), "Initialization complete");
  } finally {
    await stopAll(nodes);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("cli node: help, config error, no backend", async () => {
  const help = await runReceptor(["node", "--help"]);
  assertEquals(help.code, 0, help.stderr);
  assertMatch(help.stdout, /^Usage: /);
  assertStringIncludes(help.stdout, "--tcp-listener");

  const dir = await tempDir("receptor-cli-err-");
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(bad, "- node:\n    id: x\n- tcp-listener:\n    port: notaport\n");
    const r = await runReceptor(["-c", bad]);
    assertEquals(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    assertEquals(lines.length, 1, `one line expected: ${r.stdout}`);
    assertMatch(lines[0], /^Error: /);
    assertStringIncludes(lines[0], bad);

    const missing = await runReceptor(["-c", `${dir}/nope.yaml`]);
    assertEquals(missing.code, 1);
    assertMatch(missing.stdout, /^Error: .*nope\.yaml/);

    const nb = await runReceptor(["--node", "id=a"]);
    assertEquals(nb.code, 1, `${nb.stdout}\n${nb.stderr}`);
    assertMatch(nb.stdout, /Run \S+ --help for command line instructions\./);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
