/**
 * Interop with the real Python `receptorctl` (PyPI) against our node processes, over the Unix
 * socket and over `tcp://`: status (text and --json), ping, traceroute, version, reload, local
 * work (submit with -l / --no-payload and -f, list, results, release), and the
 * `ReceptorControl` library calls AWX makes. receptorctl comes from the project's .venv
 * (scripts/peers/receptorctl.ts); the test fails, loudly, if it is not there.
 * @module
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { ctlJson, meshNodeYaml } from "../helpers/mesh.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { receptorctl, receptorctlPython } from "../helpers/peers.ts";

async function run(
  cmd: string,
  args: string[],
  timeoutMs = 60000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

const WORK = `- work-command:
    worktype: upper
    command: tr
    params: a-z A-Z
- work-command:
    worktype: greet
    command: echo
    params: hello-from-work
- work-command:
    worktype: sleeper
    command: sleep
    params: "30"
- work-command:
    worktype: failer
    command: sh
    params: -c "echo bad-news; exit 3"
`;

Deno.test("interop: receptorctl CLI and library against our node (unix and tcp)", async () => {
  const ctl = receptorctl();
  const python = receptorctlPython();
  const nodes: NodeProcess[] = [];
  try {
    const p2 = freePort();
    const peer = await startNode("rcpeer", (_d, s) => meshNodeYaml("rcpeer", p2, [], s));
    nodes.push(peer);
    const tcpPort = freePort();
    const main = await startNode("rcmain", (d, s) =>
      meshNodeYaml(
        "rcmain",
        freePort(),
        [p2],
        s,
        WORK,
      ).replace("    id: rcmain\n", `    id: rcmain\n    datadir: ${d}/data\n`).replace(
        "    filename:",
        `    tcplisten: 127.0.0.1:${tcpPort}\n    filename:`,
      ));
    nodes.push(main);
    await waitFor("rcmain connects to rcpeer", async () => {
      const s = await ctlJson<{ RoutingTable: Record<string, string> }>(main.socket, "status");
      return s.RoutingTable.rcpeer === "rcpeer";
    });
    await waitFor("rcpeer learns rcmain's control ad", async () => {
      const s = await ctlJson<{ Advertisements: { NodeID: string }[] }>(peer.socket, "status");
      return s.Advertisements.some((a) => a.NodeID === "rcmain");
    });

    // The peer sees rcmain's work types on its control-service advertisement.
    const peerView = await run(ctl, ["--socket", peer.socket, "status"]);
    assertEquals(peerView.code, 0, `status on rcpeer: ${peerView.stdout}\n${peerView.stderr}`);
    assertMatch(peerView.stdout, /rcmain\s+upper, greet, sleeper, failer/);
    const peerJson = JSON.parse(
      (await run(ctl, ["--socket", peer.socket, "status", "--json"])).stdout,
    );
    const mainAd = peerJson.Advertisements.find((a: Record<string, unknown>) =>
      a.NodeID === "rcmain" && a.Service === "control"
    );
    assertEquals(mainAd?.WorkCommands?.map((w: { WorkType: string }) => w.WorkType), [
      "upper",
      "greet",
      "sleeper",
      "failer",
    ]);

    for (const addr of [main.socket, `tcp://127.0.0.1:${tcpPort}`]) {
      const rc = (...args: string[]) => run(ctl, ["--socket", addr, ...args]);
      const where = `(socket ${addr})`;
      const check = (r: { code: number; stdout: string; stderr: string }, what: string) => {
        assertEquals(r.code, 0, `${what} ${where}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
      };

      const status = check(await rc("status"), "status");
      assertMatch(status, /Node ID: rcmain/);
      assertStringIncludes(status, "rcpeer");
      assertMatch(status, /Version/);

      const sj = JSON.parse(check(await rc("status", "--json"), "status --json"));
      assertEquals(sj.NodeID, "rcmain");
      assertEquals(sj.RoutingTable.rcpeer, "rcpeer");
      assert(Array.isArray(sj.Advertisements) && sj.Advertisements.length >= 1, "ads");

      const ping = check(await rc("ping", "rcpeer", "--count", "1"), "ping");
      assertMatch(ping, /Reply from rcpeer in \S+/);

      const tr = check(await rc("traceroute", "rcpeer"), "traceroute");
      assertMatch(tr, /0: rcmain in /);
      assertMatch(tr, /1: rcpeer in /);

      const ver = check(await rc("version"), "version");
      assertMatch(ver, /receptorctl\s+\S+/);
      assertMatch(ver, /receptor\s+\S+/);

      const reload = check(await rc("reload"), "reload");
      assertStringIncludes(reload, "Reload successful");

      // Local work: submit with a literal payload and follow the results.
      const sub = await rc("work", "submit", "upper", "-l", "hi there", "-f");
      assertEquals(sub.code, 0, `work submit -l -f ${where}: ${sub.stdout}\n${sub.stderr}`);
      assertStringIncludes(sub.stdout, "HI THERE");
      const greet = await rc("work", "submit", "greet", "--no-payload", "-f");
      assertEquals(greet.code, 0, `work submit --no-payload -f ${where}: ${greet.stderr}`);
      assertStringIncludes(greet.stdout, "hello-from-work");

      const sub2 = await rc("work", "submit", "upper", "-l", "abc");
      assertEquals(sub2.code, 0, `work submit ${where}: ${sub2.stdout}\n${sub2.stderr}`);
      const unit = /Unit ID: (\S+)/.exec(sub2.stdout)?.[1];
      assert(unit, `no Unit ID in ${sub2.stdout}`);
      await waitFor(
        `unit ${unit} finishes`,
        async () => {
          const list = JSON.parse(check(await rc("work", "list"), "work list"));
          return list[unit]?.StateName === "Succeeded";
        },
        20000,
        200,
      );
      const list = JSON.parse(check(await rc("work", "list"), "work list"));
      assertEquals(list[unit].WorkType, "upper");
      assertEquals(list[unit].StdoutSize, 4);
      const quiet = check(await rc("work", "list", "-q"), "work list -q");
      assertStringIncludes(quiet, unit);

      const res = check(await rc("work", "results", unit), "work results");
      assertEquals(res.trim(), "ABC");

      const rel = check(await rc("work", "release", unit), "work release");
      assertStringIncludes(rel, "Released:");
      assertStringIncludes(rel, unit);
      const after = JSON.parse(check(await rc("work", "list"), "work list after release"));
      assertEquals(after[unit], undefined);

      // A large payload from a file, streamed back in full.
      const big = `${main.dir}/big.txt`;
      const line = "the quick brown fox jumps over the lazy dog 0123456789\n";
      await Deno.writeTextFile(big, line.repeat(6000)); // ~330 KB
      const bigRun = await rc("work", "submit", "upper", "-p", big, "-f", "--rm");
      assertEquals(bigRun.code, 0, `big submit ${where}: ${bigRun.stderr}`);
      const upperOut = bigRun.stdout.split("\n").filter((l) => l.startsWith("THE QUICK"));
      assertEquals(upperOut.length, 6000, `lines of big output ${where}`);
      assert(upperOut.every((l) => l === line.trim().toUpperCase()), "big output content");

      // --rm releases the unit after following it.
      const rm = await rc("work", "submit", "upper", "-l", "gone", "-f", "--rm");
      assertEquals(rm.code, 0, `work submit --rm ${where}: ${rm.stdout}\n${rm.stderr}`);
      assertStringIncludes(rm.stdout, "GONE");
      const rmUnit = /\((\S+), released\)/.exec(rm.stdout)?.[1];
      assert(rmUnit, `no Unit ID in ${rm.stdout}`);
      const listRm = JSON.parse(check(await rc("work", "list"), "work list after --rm"));
      assertEquals(listRm[rmUnit], undefined, "--rm released the unit");

      // A failing unit: results print its output, then the failure, exit 1.
      const fail = await rc("work", "submit", "failer", "--no-payload", "-f");
      assert(fail.code !== 0, `failing unit should not exit 0: ${fail.stdout}\n${fail.stderr}`);
      assertStringIncludes(fail.stdout + fail.stderr, "bad-news");
      assertMatch(fail.stdout + fail.stderr, /Remote unit failed: exit status 3/);

      // Unknown work type: receptorctl reports the server's error and fails.
      const unk = await rc("work", "submit", "nosuchtype", "--no-payload");
      assert(unk.code !== 0, `unknown work type should fail: ${unk.stdout}`);
      assertStringIncludes(unk.stdout + unk.stderr, "unknown work type nosuchtype");

      // Cancel a running unit.
      const sl = await rc("work", "submit", "sleeper", "--no-payload");
      assertEquals(sl.code, 0, `sleeper submit ${where}: ${sl.stdout}\n${sl.stderr}`);
      const slUnit = /Unit ID: (\S+)/.exec(sl.stdout)?.[1];
      assert(slUnit, `no Unit ID in ${sl.stdout}`);
      const cancel = check(await rc("work", "cancel", slUnit), "work cancel");
      assertStringIncludes(cancel, "Cancelled:");
      assertStringIncludes(cancel, `(${slUnit}, cancelled)`);
      await waitFor(
        `unit ${slUnit} is Canceled`,
        async () => {
          const l = JSON.parse(
            check(await rc("work", "list", "--unit_id", slUnit), "work list id"),
          );
          return l[slUnit]?.StateName === "Canceled";
        },
        20000,
        200,
      );
      const relAll = check(await rc("work", "release", "--all"), "work release --all");
      assertStringIncludes(relAll, slUnit);
      assertEquals(JSON.parse(check(await rc("work", "list"), "work list after --all")), {});
    }

    // The library calls AWX makes.
    const script = `
import json, sys
from receptorctl.socket_interface import ReceptorControl
addr = sys.argv[1]
rc = ReceptorControl(addr)
st = rc.simple_command("status")
assert st["NodeID"] == "rcmain", st
rc.close()
rc = ReceptorControl(addr)
res = rc.submit_work("upper", "awx payload\\n")
unit = res["unitid"]
assert res["result"] == "Job Started", res
rc.close()
rc = ReceptorControl(addr)
f = rc.get_work_results(unit)
data = f.read()
rc.close()
rc = ReceptorControl(addr)
rel = rc.simple_command("work release " + unit)
rc.close()
print(json.dumps({"node": st["NodeID"], "unit": unit, "out": data.decode(), "rel": rel}))
`;
    for (const addr of [main.socket, `tcp://127.0.0.1:${tcpPort}`]) {
      const r = await run(python, ["-c", script, addr]);
      assertEquals(r.code, 0, `python library (${addr}): ${r.stdout}\n${r.stderr}`);
      const o = JSON.parse(r.stdout.trim().split("\n").pop()!);
      assertEquals(o.node, "rcmain");
      assertEquals(o.out, "AWX PAYLOAD\n");
      assertEquals(o.rel, { released: o.unit });
    }
  } finally {
    await stopAll(nodes);
  }
});
