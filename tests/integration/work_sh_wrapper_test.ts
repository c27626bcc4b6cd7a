/**
 * Units under the `/bin/sh` wrapper (src/work/sh_runner.ts) across engine restarts: a job that
 * ends while no engine runs is finalised from its rc file (state, Detail, StdoutSize), and a
 * cancel escalates to SIGKILL of the job's process group when SIGINT is ignored.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { processGone } from "../../src/work/proc_info.ts";
import {
  detailPid,
  makeEngine,
  submit,
  waitGone,
  waitState,
  withDataDir,
  withEngine,
} from "./work_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...opts,
  name: "sh wrapper: jobs that end while the engine is down are finalised from rc at restart",
  fn: () =>
    withDataDir(async (dir) => {
      const e1 = await makeEngine(dir);
      const ok = await submit(e1, "shell", "", {
        params: `-c "echo begin; read x </dev/null; sleep 0.6; echo finished"`,
      });
      const bad = await submit(e1, "shell", "", { params: `-c "echo x; sleep 0.6; kill $$"` });
      const runs = [await waitState(e1, ok, 1), await waitState(e1, bad, 1)];
      const wrappers = runs.map((r) => (r.ExtraData as { Pid: number }).Pid);
      await e1.close(); // the node "dies"; the jobs go on
      for (const pid of wrappers) await waitGone(pid);
      for (const id of [ok, bad]) {
        await waitFor(`rc of ${id}`, () =>
          Deno.stat(`${dir}/node1/${id}/rc`).then(() => true, () => false));
      }
      const e2 = await makeEngine(dir);
      try {
        const a = await e2.status(ok);
        assertEquals([a.State, a.Detail, a.StdoutSize, a.ExtraData], [
          2,
          "exit status 0",
          15,
          null,
        ]);
        const b = await e2.status(bad);
        assertEquals([b.State, b.Detail, b.StdoutSize, b.ExtraData], [
          3,
          "signal: terminated",
          2,
          null,
        ]);
      } finally {
        await e2.close();
      }
    }),
});

Deno.test({
  ...opts,
  name: "sh wrapper: an adopted job keeps Running current and ends Succeeded",
  fn: () =>
    withDataDir(async (dir) => {
      const e1 = await makeEngine(dir);
      const id = await submit(e1, "shell", "", { params: `-c "sleep 0.5; echo one; sleep 1"` });
      const run = await waitState(e1, id, 1);
      await e1.close();
      const e2 = await makeEngine(dir);
      try {
        const s = await waitFor("StdoutSize 4 while running", async () => {
          const x = await e2.status(id);
          return x.State === 1 && x.StdoutSize === 4 ? x : null;
        });
        assertEquals(s.Detail, run.Detail, "the job's PID");
        const end = await waitState(e2, id, 2);
        assertEquals([end.Detail, end.StdoutSize, end.ExtraData], ["exit status 0", 4, null]);
      } finally {
        await e2.close();
      }
    }),
});

Deno.test({
  ...opts,
  name: "sh wrapper: cancel SIGKILLs a job group that ignores SIGINT after the wait",
  fn: () =>
    withEngine(async (e) => {
      const id = await submit(e, "shell", "", { params: `-c 'trap "" INT; sleep 100 & wait'` });
      const run = await waitState(e, id, 1);
      const shPid = detailPid(run.Detail);
      const wrapper = (run.ExtraData as { Pid: number }).Pid;
      const t0 = Date.now();
      await e.cancel(id);
      assert(Date.now() - t0 >= 600, "cancel waited before escalating");
      const s = await e.status(id);
      assertEquals([s.State, s.Detail, s.ExtraData], [4, "Canceled", null]);
      await waitGone(shPid);
      await waitGone(wrapper);
      assert(processGone(shPid));
    }, { cancelWaitMs: 700 }),
});
