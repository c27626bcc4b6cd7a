/**
 * End to end: the remote-work lifecycle through receptorctl over a 3-node line sub–mid–exec
 * of real processes (control.md §3.2, §6; checklist 67, 70–72, 85–87):
 * - a failing remote command: `-f` prints its output, exits 1 with `Remote unit failed`;
 * - `-l hi --rm -f`: output, then the release confirmation; the unit leaves both nodes;
 * - executor down at submit time: `Job Submitted`, Pending, and it runs once exec is back;
 * - release while the executor is down: `release pending`, completed after its restart (the
 *   remote unit and its process are removed first, then the local unit);
 * - force-release while the executor is down: gone locally at once, and the release is still
 *   delivered when the executor returns (as Go does);
 * - `work release --all` empties `work list`.
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { type Mesh, workYaml } from "../helpers/mesh.ts";
import {
  ctlOn,
  ctlWorkList,
  meshLogs,
  pidAlive,
  readUnitStatus,
  startE2eMesh,
  unitIdOf,
} from "./e2e_helpers.ts";

const ctl = ctlOn;
const list = (mesh: Mesh, node: string) => ctlWorkList(mesh, node);
/** `receptorctl work submit WORKTYPE --node exec ARGS...` on sub. */
const submitOnExec = (mesh: Mesh, worktype: string, ...args: string[]) =>
  ctl(mesh, "sub", ["work", "submit", worktype, "--node", "exec", ...args]);

/**
 * Submit a `sleeper` from sub to exec, wait until it runs, then stop exec and wait until sub has
 * no route to it: the starting point of the release-while-down steps.
 */
async function sleeperWithExecDown(
  mesh: Mesh,
): Promise<{ id: string; pid: number; remoteId: string }> {
  const r = await submitOnExec(mesh, "sleeper", "--no-payload");
  assertEquals(r.code, 0, `submit: ${r.out}${r.err}`);
  const id = unitIdOf(r.out);
  const running = await waitFor(
    `unit ${id} Running`,
    async () => {
      const u = (await list(mesh, "sub"))[id];
      return u?.State === 1 ? u : null;
    },
    30000,
    200,
  );
  const pid = Number(/PID (\d+)/.exec(running.Detail)?.[1]);
  assert(pid > 0 && pidAlive(pid), `sleep runs: ${running.Detail}`);
  const remoteId = running.ExtraData?.RemoteUnitID as string;
  await mesh.node("exec").proc.stop();
  const routes = () => mesh.status("sub").then((s) => s.RoutingTable);
  await waitFor("sub forgets the route to exec", async () => !(await routes())["exec"], 30000, 200);
  assert(!(await routes())["exec"], "sub still routes to exec after it stopped");
  return { id, pid, remoteId };
}

/** Wait until the unit's sleep process is gone, and say so. */
async function assertSleepGone(pid: number, what: string): Promise<void> {
  await waitFor(what, () => !pidAlive(pid), 15000);
  assert(!pidAlive(pid), `sleep ${pid} still alive`);
}

Deno.test({
  name: "e2e remote lifecycle via receptorctl: failure, --rm, exec down, release pending, --all",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const mesh = await startE2eMesh({
      // exec dials mid, so a restarted exec rejoins at once (no redial delay on mid's side).
      nodes: ["mid", "exec", "sub"],
      edges: [["exec", "mid"], ["sub", "mid"]],
      extraYaml: (id) => id !== "exec" ? "" : workYaml("upper", "fail3", "sleeper"),
    });
    try {
      await t.step("failing remote command: output, exit 1, Remote unit failed", async () => {
        const r = await submitOnExec(mesh, "fail3", "--no-payload", "-f");
        assertEquals(r.code, 1, `exit code: ${r.out}${r.err}`);
        assertEquals(r.out, "oops\n");
        assertStringIncludes(r.err, "Remote unit failed: exit status 3");
      });

      await t.step("-l hi --rm -f: output, then released on both nodes", async () => {
        const before = Object.keys(await list(mesh, "exec"));
        const r = await submitOnExec(mesh, "upper", "-l", "hi", "--rm", "-f");
        assertEquals(r.code, 0, `exit code: ${r.out}${r.err}`);
        assert(r.out.startsWith("HI\n"), `output first: ${r.out}`);
        assert(/\([A-Za-z0-9]{8}, released\)/.test(r.out), `release line: ${r.out}`);
        const id = /\(([A-Za-z0-9]{8}), released\)/.exec(r.out)![1];
        await waitFor("released unit gone from sub", async () => !(id in await list(mesh, "sub")));
        assertEquals(Object.keys(await list(mesh, "exec")), before, "exec's copy released");
      });

      await t.step(
        "executor down at submit: Job Submitted, Pending, runs once it is back",
        async () => {
          await mesh.node("exec").proc.stop();
          await waitFor(
            "sub forgets the route to exec",
            async () => {
              const s = await mesh.status("sub");
              return !s.RoutingTable["exec"];
            },
            30000,
            200,
          );
          const r = await submitOnExec(mesh, "upper", "-l", "late");
          assertEquals(r.code, 0, `submit: ${r.out}${r.err}`);
          assertStringIncludes(r.out, "Result: Job Submitted");
          const id = unitIdOf(r.out);
          const st = (await list(mesh, "sub"))[id];
          assertEquals(st.State, 0, "Pending while exec is down");
          assertEquals(st.ExtraData?.RemoteStarted, false);
          await mesh.startMember("exec");
          await waitFor(
            `unit ${id} Succeeded after exec returned`,
            async () => {
              const u = (await list(mesh, "sub"))[id];
              return u?.State === 2 && u.StdoutSize === 5;
            },
            40000,
            300,
          ).catch((e) => {
            throw new Error(`${e.message}\n${meshLogs(mesh)}`);
          });
          const res = await ctl(mesh, "sub", ["work", "results", id]);
          assertEquals(res.out, "LATE\n");
        },
      );

      await t.step(
        "release with the executor down: release pending, done after restart",
        async () => {
          const { id, pid, remoteId } = await sleeperWithExecDown(mesh);
          const rel = await ctl(mesh, "sub", ["work", "release", id]);
          assertEquals(rel.code, 0, `release: ${rel.out}${rel.err}`);
          assertStringIncludes(rel.out, `(${id}, release pending)`);
          assert(id in await list(mesh, "sub"), "still listed while the release is pending");
          await mesh.startMember("exec");
          await waitFor(
            `unit ${id} released on sub`,
            async () => !(id in await list(mesh, "sub")),
            40000,
            300,
          )
            .catch((e) => {
              throw new Error(`${e.message}\n${meshLogs(mesh)}`);
            });
          assertEquals(readUnitStatus(mesh.node("exec"), remoteId), null, "remote unit deleted");
          await assertSleepGone(pid, "the released sleep is gone");
        },
      );

      await t.step(
        "force-release with the executor down: gone locally at once, delivered when it returns",
        async () => {
          const { id, pid, remoteId } = await sleeperWithExecDown(mesh);
          const rel = await ctl(mesh, "sub", ["work", "release", "--force", id]);
          assertEquals(rel.code, 0, `force-release: ${rel.out}${rel.err}`);
          assertStringIncludes(rel.out, `(${id}, released)`);
          assert(!(id in await list(mesh, "sub")), "gone locally at once");
          assert(readUnitStatus(mesh.node("exec"), remoteId) !== null, "still on exec (down)");
          await mesh.startMember("exec");
          await waitFor(
            `remote unit ${remoteId} released on exec`,
            () => readUnitStatus(mesh.node("exec"), remoteId) === null,
            40000,
            300,
          ).catch((e) => {
            throw new Error(`${e.message}\n${meshLogs(mesh)}`);
          });
          await assertSleepGone(pid, "the force-released sleep is gone");
        },
      );

      await t.step("work release --all empties work list", async () => {
        const ids = Object.keys(await list(mesh, "sub"));
        assert(ids.length >= 2, `units left: ${ids}`);
        const r = await ctl(mesh, "sub", ["work", "release", "--all"]);
        assertEquals(r.code, 0, `release --all: ${r.out}${r.err}`);
        for (const id of ids) assertStringIncludes(r.out, `(${id}, released)`);
        await waitFor(
          "sub's work list empty",
          async () => Object.keys(await list(mesh, "sub")).length === 0,
          20000,
          300,
        );
        assertEquals(await list(mesh, "exec"), {});
      });
    } finally {
      await mesh.stop();
    }
  },
});
