import { waitFor } from "../helpers/net.ts";
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import {
  findOnPath,
  parseProcStat,
  procCmdline,
  processGone,
  procStat,
  runnerAlive,
} from "../../src/work/proc_info.ts";
import { lookPath, processExitCode, processStateText } from "../../src/work/process_state.ts";
import { combineParams } from "../../src/work/command_unit.ts";

Deno.test("proc: stat parsing survives odd command names", () => {
  assertEquals(
    parseProcStat("4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 0 0"),
    { pid: 4242, state: "S", ppid: 1, pgrp: 4242, session: 4242 },
  );
  assertEquals(parseProcStat("garbage"), null);
});

Deno.test("proc: own process is alive, not a runner; bogus pids are gone", () => {
  const me = procStat(Deno.pid);
  assert(me !== null && me.pid === Deno.pid);
  assert(!processGone(Deno.pid));
  assert(processGone(2 ** 30));
  assert((procCmdline(Deno.pid) ?? []).length > 0);
  assert(!runnerAlive(Deno.pid, "/tmp/x"), "no --command-runner in our argv");
  assert(!runnerAlive(0, "/tmp/x"));
  assert(!runnerAlive(-5, "/tmp/x"));
});

Deno.test("proc: runnerAlive matches a live runner-like process by argv and unitdir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a process whose argv carries the directive (sh ignores the extra positional args)
    const child = new Deno.Command("sh", {
      args: ["-c", "sleep 5", "--command-runner", `unitdir=${dir}`],
      cwd: dir,
    }).spawn();
    try {
      // Right after spawn the child may not have exec'ed yet (its argv is still ours).
      await waitFor("the child to exec", () => runnerAlive(child.pid, dir), 5000, 10);
      assert(runnerAlive(child.pid, `${dir}//.`), "same directory, different spelling");
      assert(!runnerAlive(child.pid, `${dir}x`));
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
    assert(!runnerAlive(child.pid, dir), "reaped runner is not alive");
    // a relative unitdir is resolved against the runner's cwd
    const rel = new Deno.Command("sh", {
      args: ["-c", "sleep 5", "--command-runner", "unitdir=."],
      cwd: dir,
    }).spawn();
    try {
      await waitFor(
        "the relative-unitdir child to exec",
        () => runnerAlive(rel.pid, dir),
        5000,
        10,
      );
      assert(runnerAlive(rel.pid, dir), "a runner with unitdir=. is alive for its cwd");
    } finally {
      rel.kill("SIGKILL");
      await rel.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("process state: Go texts and exit codes", () => {
  assertEquals(processStateText({ code: 0, signal: null }), "exit status 0");
  assertEquals(processStateText({ code: 3, signal: null }), "exit status 3");
  assertEquals(processStateText({ code: null, signal: "SIGKILL" }), "signal: killed");
  assertEquals(processStateText({ code: null, signal: "SIGINT" }), "signal: interrupt");
  assertEquals(processStateText({ code: null, signal: "SIGTERM" }), "signal: terminated");
  assertEquals(processExitCode({ code: null, signal: "SIGKILL" }), -1);
  assertEquals(processExitCode({ code: 2, signal: null }), 2);
});

Deno.test("lookPath: PATH search like Go's exec.LookPath", () => {
  assert(lookPath("sh").endsWith("/sh"));
  assertEquals(lookPath("./x/y"), "./x/y");
  assertThrows(
    () => lookPath("no-such-cmd-xyz"),
    `exec: "no-such-cmd-xyz": executable file not found in $PATH`,
  );
  assertThrows(() => lookPath("sh", "/nonexistent"), "executable file not found in $PATH");
  assert(findOnPath("sh") !== null);
  assertEquals(findOnPath("no-such-cmd-xyz"), null);
});

Deno.test("combineParams: base, runtime, or both joined by one space", () => {
  assertEquals(combineParams("", ""), "");
  assertEquals(combineParams("a", ""), "a");
  assertEquals(combineParams("", "b"), "b");
  assertEquals(combineParams("a b", "c  d"), "a b c  d");
});
