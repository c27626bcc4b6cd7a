/**
 * Work engine end to end with real detached runners (the test entry), real files and
 * processes in temp dirs.
 */
import { waitFor } from "../helpers/net.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../helpers/assert.ts";
import { processGone } from "../../src/work/proc_info.ts";
import { WorkEngine } from "../../src/work/engine.ts";
import {
  collect,
  collectText,
  detailPid,
  makeEngine,
  memLogger,
  streamOf,
  submit,
  TEST_TYPES,
  testRunnerArgv,
  waitGone,
  waitState,
  withDataDir,
  withEngine,
} from "./work_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function unitDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/node1`)) out.push(e.name);
  return out.sort();
}

Deno.test({
  ...opts,
  name: "engine: payload through tr, Succeeded exit status 0, results, file layout",
  fn: () =>
    withEngine(async (e, dir) => {
      assertEquals(await e.list(), {});
      const id = await submit(e, "upper", "hello world\n");
      assertMatch(id, /^[0-9a-zA-Z]{8}$/);
      const s = await waitState(e, id, 2);
      assertEquals(s.Detail, "exit status 0");
      assertEquals(s.StateName, "Succeeded");
      assertEquals(s.StdoutSize, 12);
      assertEquals(await collectText(e.results(id, 0)), "HELLO WORLD\n");
      const udir = `${dir}/node1/${id}`;
      assertEquals((await Deno.stat(udir)).mode! & 0o777, 0o700);
      for (const f of ["status", "status.lock", "stdin", "stdout"]) {
        assertEquals((await Deno.stat(`${udir}/${f}`)).mode! & 0o777, 0o600, f);
      }
      assertEquals(await Deno.readTextFile(`${udir}/stdin`), "hello world\n");
      const st = await waitFor("ExtraData null", async () => {
        const x = await e.status(id);
        return x.ExtraData === null ? x : null;
      });
      assertEquals(Object.keys(st), [
        "State",
        "StateName",
        "Detail",
        "StdoutSize",
        "WorkType",
        "ExtraData",
      ]);
      const line = await Deno.readTextFile(`${udir}/status`);
      assertEquals(
        line,
        `{"State":2,"Detail":"exit status 0","StdoutSize":12,"WorkType":"upper","ExtraData":null}\n`,
      );
      assertEquals(Object.keys(await e.list()), [id]);
      assertEquals(Object.keys(await e.list(id)), [id]);
      // results from a start position
      assertEquals(await collectText(e.results(id, 6)), "WORLD\n");
      assertEquals(await collectText(e.results(id, 100)), "");
      // a negative start gives nothing, as upstream (its seek fails), not the whole output
      assertEquals(await collectText(e.results(id, -5)), "");
    }),
});

Deno.test({
  ...opts,
  name: "engine: binary and empty payloads reach stdin byte for byte",
  fn: () =>
    withEngine(async (e) => {
      const bin = new Uint8Array(300_000);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) & 0xff;
      const id = await submit(e, "cat", bin);
      await waitState(e, id, 2);
      assertEquals(await collect(e.results(id, 0)), bin);
      const id2 = await submit(e, "cat", "");
      const s = await waitState(e, id2, 2);
      assertEquals(s.StdoutSize, 0);
      assertEquals(await collect(e.results(id2, 0)), new Uint8Array(0));
    }, { workTypes: [{ worktype: "cat", command: "cat" }] }),
});

Deno.test({
  ...opts,
  name: "engine: failing command ends Failed exit status 3 with stderr+stdout in order",
  fn: () =>
    withEngine(async (e) => {
      const id = await submit(e, "fail3");
      const s = await waitState(e, id, 3);
      assertEquals(s.Detail, "exit status 3");
      assertEquals(s.StateName, "Failed");
      assertEquals(await collectText(e.results(id, 0)), "oops\nout\n");
    }),
});

Deno.test({
  ...opts,
  name: "engine: runner errors (not on PATH, bad quoting, killed by signal) are Failed",
  fn: () =>
    withEngine(async (e, dir) => {
      const a = await submit(e, "nosuchcmd");
      assertEquals(
        (await waitState(e, a, 3)).Detail,
        `exec: "no-such-command-xyz": executable file not found in $PATH`,
      );
      // completed without ever creating stdout: results end at once with zero bytes
      assertEquals(await Deno.stat(`${dir}/node1/${a}/stdout`).catch(() => null), null);
      assertEquals(await collectText(e.results(a, 0)), "");
      const b = await submit(e, "badquote");
      assertEquals((await waitState(e, b, 3)).Detail, "EOF found when expecting closing quote");
      const c = await submit(e, "shell", "", { params: `-c 'kill -9 $$'` });
      assertEquals((await waitState(e, c, 3)).Detail, "signal: killed");
    }),
});

Deno.test({
  ...opts,
  name: "engine: Running shows PID and {Pid,Params}, live results, then null ExtraData",
  fn: () =>
    withEngine(async (e) => {
      const id = await submit(e, "shell", "", {
        params: `-c "echo start; sleep 1.5; echo end"`,
      });
      const run = await waitState(e, id, 1);
      const childPid = detailPid(run.Detail);
      const ed = run.ExtraData as { Pid: number; Params: string };
      assertEquals(Object.keys(ed), ["Pid", "Params"]);
      assertEquals(ed.Params, `-c "echo start; sleep 1.5; echo end"`);
      assert(ed.Pid > 0 && ed.Pid !== childPid, "Pid is the runner's");
      // live streaming: the first line arrives while the unit still runs
      const reader = e.results(id, 0).getReader();
      const dec = new TextDecoder();
      let got = "";
      while (!got.includes("start\n")) {
        const { value, done } = await reader.read();
        assert(!done, "stream ended early");
        got += dec.decode(value);
      }
      assertEquals((await e.status(id)).State, 1, "still running after first chunk");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        got += dec.decode(value);
      }
      assertEquals(got, "start\nend\n");
      assertEquals((await e.status(id)).State, 2);
      await waitFor("ExtraData null", async () => (await e.status(id)).ExtraData === null);
      assertEquals((await e.status(id)).ExtraData, null);
      await waitGone(childPid);
      await waitGone(ed.Pid);
    }),
});

Deno.test({
  ...opts,
  name: "engine: params splitting and joining (base + runtime, shlex)",
  fn: () =>
    withEngine(async (e) => {
      const id = await e.allocate("args", { params: `a "b c" 'd e' f\\ g` });
      assertEquals(
        (await e.status(id)).ExtraData,
        { Pid: 0, Params: `'%s|' a "b c" 'd e' f\\ g` },
      );
      await e.writeStdin(id, streamOf(""));
      await e.start(id);
      await waitState(e, id, 2);
      assertEquals(await collectText(e.results(id, 0)), "a|b c|d e|f g|");
    }),
});

Deno.test({
  ...opts,
  name: "engine: refusals leave no directory behind",
  fn: () =>
    withEngine(async (e, dir) => {
      await assertRejects(
        () => e.allocate("upper", { params: "x" }),
        "extra params provided but not allowed",
      );
      await assertRejects(() => e.allocate("nosuch", {}), "unknown work type nosuch");
      // empty runtime params are fine even without allowruntimeparams
      const id = await e.allocate("upper", { params: "", other: "ignored" });
      assertEquals(await unitDirs(dir), [id]);
      const s = await e.status(id);
      assertEquals([s.State, s.Detail], [0, "Waiting for Input Data"]);
      assertEquals(s.ExtraData, { Pid: 0, Params: "a-z A-Z" });
    }),
});

Deno.test({
  ...opts,
  name: "engine: cancel a running sleep → Canceled, processes gone; finished unit unchanged",
  fn: () =>
    withEngine(async (e) => {
      const id = await submit(e, "sleeper");
      const run = await waitState(e, id, 1);
      const sleepPid = detailPid(run.Detail);
      const runnerPid = (run.ExtraData as { Pid: number }).Pid;
      // a results stream open during the cancel ends too
      const results = collectText(e.results(id, 0));
      assertEquals(await e.cancel(id), "done");
      const s = await e.status(id);
      assertEquals([s.State, s.StateName, s.Detail], [4, "Canceled", "Canceled"]);
      assertEquals(s.ExtraData, null);
      assertEquals(await results, "");
      await waitGone(sleepPid);
      await waitGone(runnerPid);
      // cancelling again / a finished unit: no change
      assertEquals(await e.cancel(id), "done");
      assertEquals((await e.status(id)).State, 4);
      const done = await submit(e, "upper", "x");
      await waitState(e, done, 2);
      await e.cancel(done);
      assertEquals((await e.status(done)).State, 2);
    }),
});

Deno.test({
  ...opts,
  name: "engine: a released unit's directory is reused by the next unit, emptied, unseen",
  fn: () =>
    withEngine(async (e, dir) => {
      const a = await submit(e, "fail3"); // its rc file says 3: the next unit must not see it
      await waitState(e, a, 3);
      const ino = Deno.statSync(`${dir}/node1/${a}`).ino;
      assertEquals(await e.release(a, false), "done");
      assertEquals(await unitDirs(dir), []);
      const b = await submit(e, "sleeper");
      assertEquals(Deno.statSync(`${dir}/node1/${b}`).ino, ino);
      // Running is written on the wrapper watch's first tick, which reads rc first
      const run = await waitState(e, b, 1);
      assertEquals(Object.keys(await e.list()), [b]);
      // a restarted engine sees only the live unit
      const again = await makeEngine(dir);
      try {
        assertEquals(Object.keys(await again.list()), [b]);
      } finally {
        await again.close();
      }
      assertEquals(await e.release(b, true), "done");
      await waitGone(detailPid(run.Detail));
    }),
});

Deno.test({
  ...opts,
  name: "engine: release removes the directory (running and finished units)",
  fn: () =>
    withEngine(async (e, dir) => {
      const a = await submit(e, "upper", "x");
      await waitState(e, a, 2);
      const b = await submit(e, "sleeper");
      const run = await waitState(e, b, 1);
      assertEquals(await e.release(a, false), "done");
      assertEquals(await e.release(b, true), "done");
      assertEquals(await unitDirs(dir), []);
      assertEquals(await e.list(), {});
      await assertRejects(() => e.status(a), `unknown work unit ${a}`);
      await assertRejects(() => e.release(a, false), `unknown work unit ${a}`);
      await waitGone(detailPid(run.Detail));
    }),
});

Deno.test({
  ...opts,
  name: "engine: unit IDs with path characters are rejected before touching paths",
  fn: () =>
    withDataDir(async (dir) => {
      const e = await makeEngine(dir);
      const victim = `${dir}/victim`;
      await Deno.mkdir(victim);
      await Deno.writeTextFile(`${victim}/status`, `{"State":2}`);
      try {
        for (const bad of ["../victim", "..", "../../x", "a/b", "", "x y"]) {
          await assertRejects(() => e.status(bad), `unknown work unit ${bad}`);
          await assertRejects(() => e.release(bad, true), `unknown work unit ${bad}`);
          await assertRejects(() => e.cancel(bad), `unknown work unit ${bad}`);
          await assertRejects(() => e.list(bad), `unknown work unit ${bad}`);
          let threw = false;
          try {
            e.results(bad, 0);
          } catch {
            threw = true;
          }
          assert(threw, "results must throw");
        }
        assert((await Deno.stat(`${victim}/status`)).isFile, "victim untouched");
      } finally {
        await e.close();
      }
    }),
});

Deno.test({
  ...opts,
  name: "engine: a runner survives engine shutdown; a new engine sees the full result",
  fn: () =>
    withDataDir(async (dir) => {
      const e1 = await makeEngine(dir);
      const id = await submit(e1, "shell", "", { params: `-c "sleep 2 && echo done"` });
      const run = await waitState(e1, id, 1);
      const runnerPid = (run.ExtraData as { Pid: number }).Pid;
      await e1.close(); // the node "dies"
      const e2 = await makeEngine(dir);
      try {
        assertEquals((await e2.status(id)).State, 1, "still running after restart");
        // results stream from the new engine follows the job to its end
        assertEquals(await collectText(e2.results(id, 0)), "done\n");
        const s = await waitState(e2, id, 2);
        assertEquals(s.Detail, "exit status 0");
        await waitFor("ExtraData null", async () => (await e2.status(id)).ExtraData === null);
        assertEquals((await e2.status(id)).ExtraData, null);
        await waitGone(runnerPid);
      } finally {
        await e2.close();
      }
    }),
});

Deno.test({
  ...opts,
  name: "engine: a runner killed with SIGKILL makes the unit Failed at restart, not Running",
  fn: () =>
    withDataDir(async (dir) => {
      const e1 = await makeEngine(dir);
      const id = await submit(e1, "sleeper");
      const run = await waitState(e1, id, 1);
      const runnerPid = (run.ExtraData as { Pid: number }).Pid;
      const sleepPid = detailPid(run.Detail);
      await e1.close();
      Deno.kill(runnerPid, "SIGKILL");
      await waitGone(runnerPid);
      const e2 = await makeEngine(dir);
      try {
        const s = await e2.status(id);
        assertEquals(s.State, 3);
        assertEquals(s.Detail, `Runner process ${runnerPid} vanished while unit was running`);
        assertEquals(s.ExtraData, null);
        await waitGone(sleepPid); // the orphaned command was cleaned up
      } finally {
        await e2.close();
      }
    }),
});

Deno.test({
  ...opts,
  name: "engine: a runner killed while the engine watches makes the unit Failed",
  fn: () =>
    withEngine(async (e) => {
      const id = await submit(e, "sleeper");
      const run = await waitState(e, id, 1);
      const runnerPid = (run.ExtraData as { Pid: number }).Pid;
      Deno.kill(runnerPid, "SIGKILL");
      const s = await waitState(e, id, 3);
      assertEquals(s.Detail, "Command runner exited unexpectedly: signal: killed");
      await waitGone(detailPid(run.Detail));
    }),
});

Deno.test({
  ...opts,
  name: "engine: restart scan: Pending → Failed, unknown type listed and releasable, junk ignored",
  fn: () =>
    withDataDir(async (dir) => {
      const base = `${dir}/node1`;
      await Deno.mkdir(base, { recursive: true });
      const mk = async (id: string, status: string) => {
        await Deno.mkdir(`${base}/${id}`);
        await Deno.writeTextFile(`${base}/${id}/status`, status);
      };
      await mk(
        "Pend1234",
        `{"State":0,"Detail":"Waiting for Input Data","StdoutSize":0,"WorkType":"upper","ExtraData":{"Pid":0,"Params":""}}\n`,
      );
      await mk(
        "Unkn1234",
        `{"State":2,"Detail":"exit status 0","StdoutSize":3,"WorkType":"mystery","ExtraData":{"X":1}}\n`,
      );
      await Deno.writeTextFile(`${base}/Unkn1234/stdout`, "abc");
      await mk(
        "Done1234",
        `{"State":2,"Detail":"exit status 0","StdoutSize":2,"WorkType":"upper","ExtraData":null}\n`,
      );
      await Deno.writeTextFile(`${base}/Done1234/stdout`, "OK");
      await Deno.mkdir(`${base}/NoStatus`);
      await Deno.mkdir(`${base}/bad.name`);
      const e = await makeEngine(dir);
      try {
        const all = await e.list();
        assertEquals(Object.keys(all).sort(), ["Done1234", "Pend1234", "Unkn1234"]);
        assertEquals([all.Pend1234.State, all.Pend1234.Detail], [3, "Pending at restart"]);
        assertEquals(all.Unkn1234.ExtraData, "Unknown WorkType");
        assertEquals(all.Unkn1234.StateName, "Succeeded");
        assertEquals(all.Done1234.Detail, "exit status 0");
        assertEquals(await collectText(e.results("Done1234", 0)), "OK");
        assertEquals(await e.cancel("Unkn1234"), "done");
        assertEquals(await e.release("Unkn1234", false), "done");
        assertEquals(await unitDirs(dir), ["Done1234", "NoStatus", "Pend1234", "bad.name"]);
      } finally {
        await e.close();
      }
    }),
});

Deno.test("engine: duplicate or reserved work type names are refused", () => {
  const base = { nodeId: "n", dataDir: "/tmp/x", logger: memLogger().logger };
  let msg = "";
  try {
    new WorkEngine({ ...base, workTypes: [TEST_TYPES[0], TEST_TYPES[0]] });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "work type upper already registered");
  try {
    new WorkEngine({ ...base, workTypes: [{ worktype: "remote", command: "x" }] });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "work type remote already registered");
  const e = new WorkEngine({ ...base, workTypes: TEST_TYPES, runnerArgv: testRunnerArgv });
  const ads = e.advertisedWorkCommands();
  assertEquals(ads.find((a) => a.WorkType === "signed"), { WorkType: "signed", Secure: true });
  assertEquals(ads.find((a) => a.WorkType === "upper"), { WorkType: "upper", Secure: false });
  assert(!ads.some((a) => a.WorkType === "remote"));
  assert(processGone(999_999_999));
});
