/**
 * The `/bin/sh` job wrapper (src/work/sh_runner.ts): exit-status texts, Go's start errors, and
 * the script itself run for real on hostile arguments (nothing a user sends is shell-parsed).
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { prepareShJob, rcOutcome, readRc, SH_SCRIPT } from "../../src/work/sh_runner.ts";
import { signalName } from "../../src/work/process_state.ts";
import { runnerAlive } from "../../src/work/proc_info.ts";

async function withUnitDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sh_runner_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sh runner: $? maps to Go's process-state texts and final states", () => {
  assertEquals(rcOutcome(0), { state: 2, detail: "exit status 0" });
  assertEquals(rcOutcome(3), { state: 3, detail: "exit status 3" });
  assertEquals(rcOutcome(128), { state: 3, detail: "exit status 128" });
  assertEquals(rcOutcome(137), { state: 3, detail: "signal: killed" });
  assertEquals(rcOutcome(130), { state: 3, detail: "signal: interrupt" });
  assertEquals(rcOutcome(143), { state: 3, detail: "signal: terminated" });
  assertEquals(rcOutcome(200), { state: 3, detail: "exit status 200" });
  assertEquals([signalName(9), signalName(15), signalName(0), signalName(40)], [
    "SIGKILL",
    "SIGTERM",
    null,
    null,
  ]);
});

Deno.test("sh runner: start errors carry Go's texts; a missing command creates no stdout", () =>
  withUnitDir(async (dir) => {
    assertThrows(
      () => prepareShJob("no-such-command-xyz", "", dir),
      `exec: "no-such-command-xyz": executable file not found in $PATH`,
    );
    assertThrows(
      () => prepareShJob("echo", `"open`, dir),
      "EOF found when expecting closing quote",
    );
    assertThrows(
      () => prepareShJob("echo", "", dir),
      `open ${dir}/stdin: no such file or directory`,
    );
    assertEquals(await Deno.stat(`${dir}/stdout`).catch(() => null), null);
    await Deno.writeTextFile(`${dir}/stdin`, "");
    await Deno.writeTextFile(`${dir}/notexec`, "#!/bin/sh\n");
    assertThrows(
      () => prepareShJob(`${dir}/notexec`, "", dir),
      `fork/exec ${dir}/notexec: permission denied`,
    );
    assertEquals((await Deno.stat(`${dir}/stdout`)).mode! & 0o777, 0o600);
  }));

Deno.test("sh runner: the script runs the argv untouched, stdout+stderr in order, then rc", () =>
  withUnitDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/stdin`, "from stdin\n");
    const hostile = [`$(touch ${dir}/pwned)`, "`id`", `'"; exit 9`, "a b", "-n", "*"];
    const argv = prepareShJob(
      "sh",
      `-c 'printf "%s|" "$@"; echo; cat; echo err >&2; exit 4' sh ${
        hostile.map((h) => `'${h.replaceAll("'", `'"'"'`)}'`).join(" ")
      }`,
      dir,
    );
    assertEquals(argv.slice(0, 5), [
      "/bin/sh",
      "-c",
      SH_SCRIPT,
      "--command-runner",
      `unitdir=${dir}`,
    ]);
    assertEquals(readRc(dir), null);
    const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null" }).spawn();
    assert(runnerAlive(child.pid, dir) || readRc(dir) !== null, "recognised as a runner");
    assertEquals((await child.status).code, 0);
    assertEquals(readRc(dir), 4);
    assertEquals(
      await Deno.readTextFile(`${dir}/stdout`),
      `${hostile.join("|")}|\nfrom stdin\nerr\n`,
    );
    assertEquals(await Deno.stat(`${dir}/pwned`).catch(() => null), null);
  }));

Deno.test("sh runner: the wrapper survives SIGINT to its group and records the job's signal", () =>
  withUnitDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/stdin`, "");
    const argv = prepareShJob("sleep", "100", dir);
    const child = new Deno.Command("setsid", { args: argv, stdin: "null" }).spawn();
    // wait for the job to BE `sleep` in the wrapper's group (not just forked: between the fork
    // and the exec the subshell still has the wrapper's trap and swallows SIGINT), then
    // interrupt the group
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const kids = await Deno.readTextFile(`/proc/${child.pid}/task/${child.pid}/children`)
        .catch(() => "");
      const kid = kids.trim().split(" ")[0];
      const comm = kid ? await Deno.readTextFile(`/proc/${kid}/comm`).catch(() => "") : "";
      if (comm.trim() === "sleep") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    Deno.kill(-child.pid, "SIGINT");
    assertEquals((await child.status).code, 0, "the wrapper itself ends normally");
    assertEquals(readRc(dir), 130);
    assertEquals(rcOutcome(readRc(dir)!).detail, "signal: interrupt");
  }));
