/**
 * Robustness of the control service: for a bounded time, connections to a live node's Unix
 * control socket send random and mutated command lines (text and JSON forms of every command,
 * wrong types, huge and binary lines, abrupt closes, half-closes mid-submit). Every complete
 * non-empty line before a close must get exactly one reply line (or a raw mode); afterwards
 * the node still runs and answers. Seeded (RECEPTOR_FUZZ_SEED).
 * @module
 */
import { prng } from "../helpers/data.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { CtlConn, ctlStatus } from "../helpers/mesh.ts";
import { waitFor } from "../helpers/net.ts";
import { startNode, stopAll } from "../helpers/node_process.ts";

const FUZZ_MS = Number(Deno.env.get("RECEPTOR_FUZZ_MS") ?? 4000);

// Remote `work submit` waits for a mesh dial, so random node values are all local.
const COMMANDS = ["status", "ping", "traceroute", "reload", "connect", "work", "bogus", ""];
const SUBS = ["submit", "list", "status", "results", "cancel", "release", "force-release", "x"];
const VALUES: unknown[] = [
  "",
  "localhost",
  "fuzzctl",
  "echo",
  "-1",
  "99999999999999999999",
  0,
  -5,
  1.5,
  true,
  null,
  [],
  {},
  ["Version"],
  "a b  c",
  "\u0000",
  "ü€𝄞",
];

function randomLine(r: () => number): string {
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  switch (int(6)) {
    case 0: { // text form
      const parts = [pick(COMMANDS)];
      if (parts[0] === "work") parts.push(pick(SUBS));
      // Remote submits block for a mesh dial: submit only to this node.
      if (parts[1] === "submit") parts.push(pick(["localhost", "fuzzctl", "LocalHost"]));
      for (let i = int(4); i > 0; i--) parts.push(String(pick(VALUES)));
      return parts.join(int(4) === 0 ? "  " : " ");
    }
    case 1: { // JSON form with random keys/values
      const o: Record<string, unknown> = { command: int(8) === 0 ? pick(VALUES) : pick(COMMANDS) };
      if (o.command === "work" || int(3) === 0) o.subcommand = pick([...SUBS, ...VALUES]);
      for (const k of ["target", "node", "worktype", "unitid", "startpos", "requested_fields"]) {
        if (int(2)) o[k] = pick(VALUES);
      }
      if (o.subcommand === "submit" && typeof o.node === "string") o.node = "localhost";
      return JSON.stringify(o);
    }
    case 2: // broken JSON
      return pick(["{", "{}", '{"command":', "[1,2]", '{"command":"status"', '{"a":1}x']);
    case 3: { // binary junk (no newline)
      let s = "";
      for (let i = int(200); i > 0; i--) {
        const c = int(256);
        if (c !== 10) s += String.fromCharCode(c);
      }
      return s;
    }
    case 4: // long line
      return "status " + "x".repeat(int(200_000));
    default:
      return pick([
        "STATUS",
        "Ping localhost",
        "ping nosuchnode",
        "traceroute nosuchnode",
        "connect",
        "connect a b c d",
        '{"command":"connect","node":5}',
        "work list",
        "work status nope",
        "\r",
        "",
      ]);
  }
}

Deno.test("fuzz: control service survives random command lines and still answers", async () => {
  const seed = Number(Deno.env.get("RECEPTOR_FUZZ_SEED") ?? Date.now() % 1_000_000);
  const node = await startNode("fuzzctl", (d, s) =>
    `- node:
    id: fuzzctl
    datadir: ${d}/data
- local-only:
- control-service:
    filename: ${s}
- work-command:
    worktype: echo
    command: cat
`);
  try {
    await waitFor(
      "fuzzctl answers",
      async () => (await ctlStatus(node.socket)).NodeID === "fuzzctl",
    );
    const r = prng(seed);
    const deadline = Date.now() + FUZZ_MS;
    let lines = 0;
    let sessions = 0;
    while (Date.now() < deadline) {
      sessions++;
      const c = await CtlConn.open(node.socket);
      try {
        const n = 1 + Math.floor(r() * 6);
        for (let i = 0; i < n; i++) {
          const line = randomLine(r);
          lines++;
          await c.sendLine(line);
          if (line.replace(/\r/g, "") === "") continue; // empty lines get no reply
          const reply = await c.readLine(15000).catch((e) => {
            throw new Error(
              `seed ${seed}: no reply to ${JSON.stringify(line.slice(0, 200))}: ${e}`,
            );
          });
          if (reply === null) break; // raw mode ended the session (results/submit) or close
          if (reply.startsWith("Work unit created")) {
            // Submit: send a payload and half-close, then expect one result line.
            await c.write("payload\n");
            await c.closeWrite();
            const res = await c.readLine(15000).catch((e) => {
              throw new Error(`seed ${seed}: no result after submit ${JSON.stringify(line)}: ${e}`);
            });
            assert(res !== null, `seed ${seed}: no submit result`);
            break;
          }
          if (reply.startsWith("Streaming results") || reply.startsWith("Connecting")) break;
          assert(
            reply.startsWith("ERROR: ") || reply.startsWith("{"),
            `seed ${seed}: odd reply ${JSON.stringify(reply)} to ${
              JSON.stringify(line.slice(0, 200))
            }`,
          );
          if (reply.startsWith("ERROR: ") && line.startsWith("{") && /JSON|command/.test(reply)) {
            // Upstream's JSON-error quirk may add a second "ERROR: Unknown command" line.
            const quirk = await c.readLine(200).catch(() => undefined);
            if (quirk !== undefined && quirk !== null) {
              assertEquals(quirk, "ERROR: Unknown command", `seed ${seed}`);
            }
          }
        }
        if (r() < 0.3) await c.write(randomLine(r)); // trailing partial line, then close
      } finally {
        c.close();
      }
    }
    assert(!node.exited, `node exited (seed ${seed}):\n${node.logText()}`);
    assertEquals((await ctlStatus(node.socket)).NodeID, "fuzzctl", `seed ${seed}`);
    assert(sessions > 5 && lines > 10, `too little fuzzing: ${sessions} sessions, ${lines} lines`);
    assert(!/Uncaught/.test(node.logText()), `seed ${seed}: ${node.logText()}`);
  } finally {
    await stopAll([node]);
  }
});
