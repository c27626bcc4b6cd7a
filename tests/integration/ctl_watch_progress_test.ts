/**
 * `receptor ctl` operator conveniences against a real node: `status --watch` (piped rounds and
 * `--json` lines), `reload --json`, and progress on stderr for a results stream longer than a
 * second — drawn when stderr is a terminal (a real pseudo-terminal from `script`), absent when
 * piped.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { nodeYaml } from "../helpers/mesh.ts";
import { receptorCommand, runReceptor, startNode, stopAll } from "../helpers/node_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function yaml(dir: string, socket: string): string {
  return nodeYaml({
    id: "watched",
    socket,
    datadir: `${dir}/data`,
    logLevel: null,
    localOnly: true,
    work: [{
      worktype: "slow",
      command: "sh",
      params: `-c "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.4; done"`,
    }],
  });
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

Deno.test("ctl status --watch: rounds piped and as JSON lines; reload --json", opts, async () => {
  const n = await startNode("watched", yaml);
  try {
    const ctl = (...a: string[]) => runReceptor(["ctl", "--socket", n.socket, ...a]);
    let r = await ctl("status", "--watch", "--interval", "0.2", "--count", "3");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.match(/^Every 0\.2 s: receptor ctl status/gm)?.length, 3, r.stdout);
    assertEquals(r.stdout.match(/^Node ID: watched$/gm)?.length, 3, r.stdout);
    assert(!r.stdout.includes("\x1b[2J"), "piped output must not clear the screen");

    r = await ctl("--json", "status", "--watch", "--interval", "0.2", "--count", "2");
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assertEquals(lines.length, 2, r.stdout);
    for (const l of lines) assertEquals(JSON.parse(l).NodeID, "watched");

    r = await ctl("status", "--watch", "--count", "0");
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "--count must be positive");

    r = await ctl("--json", "reload");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).Success, true);
  } finally {
    await stopAll([n]);
  }
});

Deno.test("ctl work: progress on a terminal's stderr, none when piped", opts, async () => {
  const n = await startNode("watched", yaml);
  try {
    // Piped: the results and nothing else.
    const piped = await runReceptor([
      "ctl",
      "--socket",
      n.socket,
      "work",
      "submit",
      "slow",
      "-n",
      "--follow",
    ]);
    assertEquals(piped.code, 0, piped.stderr);
    assertEquals(piped.stdout, [1, 2, 3, 4, 5, 6].map((i) => `line-${i}\n`).join(""));
    assert(!piped.stderr.includes("Results:"), `no progress when piped: ${piped.stderr}`);

    // stderr on a pseudo-terminal, results to a file: the meter is drawn.
    const out = `${n.dir}/results.txt`;
    const cmd = [...receptorCommand(), "ctl", "--socket", n.socket, "work", "submit", "slow"]
      .concat(["-n", "--follow"]).map(shellQuote).join(" ");
    const tty = await new Deno.Command("script", {
      args: ["-qefc", `${cmd} > ${shellQuote(out)}`, "/dev/null"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const screen = new TextDecoder().decode(tty.stdout);
    assertEquals(tty.code, 0, screen + new TextDecoder().decode(tty.stderr));
    assert(/Results: \d+ B {2}\d+ B\/s {2}0:0[1-9]/.test(screen), `no progress line: ${screen}`);
    assertStringIncludes(screen, ", done");
    assertEquals(await Deno.readTextFile(out), piped.stdout, "the results are unchanged");
  } finally {
    await stopAll([n]);
  }
});
