/**
 * The detached command runner as a real process (test entry with upstream's directive argv):
 * status sequence, exit codes, stdout/stderr interleaving, SIGTERM → Failed `Killed` + 255,
 * SIGKILL escalation for a command that ignores SIGINT.
 */
import { waitFor } from "../helpers/net.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { loadStatus, saveStatus } from "../../src/work/status_file.ts";
import { processGone } from "../../src/work/proc_info.ts";
import { parseCommandRunnerArgs } from "../../src/work/command_runner.ts";
import {
  detailPid,
  makeEngine,
  submit,
  testRunnerArgv,
  waitGone,
  waitState,
  withDataDir,
} from "./work_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function unit(dir: string, stdin = ""): Promise<string> {
  const u = `${dir}/u1`;
  await Deno.mkdir(u, { mode: 0o700 });
  await Deno.writeTextFile(`${u}/stdin`, stdin);
  await saveStatus(u, {
    State: 0,
    Detail: "Launching command runner",
    StdoutSize: 0,
    WorkType: "t",
    ExtraData: { Pid: 1, Params: "" },
  });
  return u;
}

function runner(
  command: string,
  params: string,
  unitdir: string,
  env: Record<string, string> = {},
) {
  const argv = testRunnerArgv(command, params, unitdir);
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "null",
    env,
  }).spawn();
}

Deno.test("runner: directive key=value parsing", () => {
  assertEquals(
    parseCommandRunnerArgs(["command=sh", "params=-c 'a=b c'", "unitdir=/x/y"]),
    { command: "sh", params: "-c 'a=b c'", unitdir: "/x/y" },
  );
  let msg = "";
  try {
    parseCommandRunnerArgs(["command=sh", "unitdir=/x"]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "command-runner: missing required parameter params");
});

Deno.test({
  ...opts,
  name: "runner: the final state and the cleared ExtraData land in one status update",
  fn: () =>
    withDataDir(async (dir) => {
      // Pid 0: the node has not recorded the runner yet (a job faster than the node's update)
      const u = await unit(dir);
      await saveStatus(u, {
        State: 0,
        Detail: "Launching command runner",
        StdoutSize: 0,
        WorkType: "t",
        ExtraData: { Pid: 0, Params: "x" },
      });
      const st = await runner("echo", "x", u).status;
      assertEquals(st.code, 0);
      const s = await loadStatus(u);
      assertEquals([s.State, s.Detail, s.StdoutSize, s.ExtraData], [2, "exit status 0", 2, null]);
    }),
});

Deno.test({
  ...opts,
  name: "runner: stdout and stderr share one offset; exit code and status are the child's",
  fn: () =>
    withDataDir(async (dir) => {
      const u = await unit(dir, "in\n");
      const c = runner("sh", `-c "cat; echo 1; echo 2 >&2; echo 3; echo 4 >&2; exit 7"`, u);
      const st = await c.status;
      assertEquals(st.code, 7);
      assertEquals(await Deno.readTextFile(`${u}/stdout`), "in\n1\n2\n3\n4\n");
      const s = await loadStatus(u);
      assertEquals([s.State, s.Detail, s.StdoutSize], [3, "exit status 7", 11]);
      // the runner keeps WorkType and ExtraData it did not own
      assertEquals([s.WorkType, s.ExtraData], ["t", { Pid: 1, Params: "" }]);
      assertEquals((await Deno.stat(`${u}/stdout`)).mode! & 0o777, 0o600);
    }),
});

Deno.test({
  ...opts,
  name: "runner: empty params mean no arguments; exec error text and exit 255",
  fn: () =>
    withDataDir(async (dir) => {
      const u = await unit(dir);
      assertEquals((await runner("pwd", "", u).status).code, 0);
      assertEquals((await loadStatus(u)).Detail, "exit status 0");
      assertEquals((await runner("/nonexistent/prog", "", u).status).code, 255);
      assertEquals(
        (await loadStatus(u)).Detail,
        "fork/exec /nonexistent/prog: no such file or directory",
      );
    }),
});

Deno.test({
  ...opts,
  name: "runner: SIGTERM forwards SIGINT, writes Failed Killed, exits 255",
  fn: () =>
    withDataDir(async (dir) => {
      const u = await unit(dir);
      const c = runner("sleep", "100", u);
      const s = await waitFor("Running", async () => {
        const x = await loadStatus(u);
        return x.State === 1 ? x : null;
      });
      const sleepPid = detailPid(s.Detail);
      c.kill("SIGTERM");
      assertEquals((await c.status).code, 255);
      const end = await loadStatus(u);
      assertEquals([end.State, end.Detail], [3, "Killed"]);
      await waitGone(sleepPid);
    }),
});

Deno.test({
  ...opts,
  name: "runner+engine: a command ignoring SIGINT is SIGKILLed after the grace period",
  fn: () =>
    withDataDir(async (dir) => {
      const e = await makeEngine(dir, {
        // shorten the runner's 10 s escalation for the test
        runnerArgv: (c, p, d) => ["env", "WORK_TEST_KILL_AFTER_MS=700", ...testRunnerArgv(c, p, d)],
      });
      try {
        const id = await submit(e, "shell", "", { params: `-c 'trap "" INT; sleep 100'` });
        const run = await waitState(e, id, 1);
        const shPid = detailPid(run.Detail);
        const t0 = Date.now();
        await e.cancel(id);
        const took = Date.now() - t0;
        assert(took >= 600, `cancel waited for the escalation (${took} ms)`);
        const s = await e.status(id);
        assertEquals([s.State, s.Detail], [4, "Canceled"]);
        await waitGone(shPid);
        // nothing of the job is left in the runner's session
        const runnerPid = (run.ExtraData as { Pid: number }).Pid;
        await waitGone(runnerPid);
        assert(processGone(shPid));
      } finally {
        await e.close();
      }
    }),
});
