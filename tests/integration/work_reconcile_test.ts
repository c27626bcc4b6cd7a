/**
 * Reconciliation of remote units on a real 4-node mesh (subA, subB and subC dial exec; subA has
 * `work-retention releasegiveup: 3s`):
 * - a unit released on exec behind the submitter's back becomes Failed with a Detail naming the
 *   node and unit;
 * - exec restarting with an empty datadir: a unit still running there becomes Failed the same
 *   way, and a release left pending while exec was down completes (exec no longer knows the
 *   unit) instead of failing forever;
 * - a release pending while exec stays down is given up after the configured time, logged;
 * - subC (`maxage: 1s`) releases a unit whose remote copy is gone (force-release, logged).
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runReceptor } from "../helpers/node_process.ts";
import { waitFor } from "../helpers/net.ts";
import type { Mesh } from "../helpers/mesh.ts";
import { meshLogs, pidAlive, readUnitStatus, startE2eMesh } from "./e2e_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const WORK = `- work-command:
    worktype: echo
    command: echo
    allowruntimeparams: true
- work-command:
    worktype: sleep
    command: sleep
    params: "20"
`;

interface Unit {
  State: number;
  Detail: string;
  ExtraData: Record<string, unknown> | null;
}

async function ctl(mesh: Mesh, node: string, args: string[]) {
  return await runReceptor(["ctl", "--socket", mesh.node(node).socket, "work", ...args]);
}

async function list(mesh: Mesh, node: string): Promise<Record<string, Unit>> {
  const r = await ctl(mesh, node, ["list"]);
  if (r.code !== 0) throw new Error(`work list on ${node}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function submit(mesh: Mesh, node: string, args: string[]): Promise<string> {
  const r = await ctl(mesh, node, ["submit", ...args, "--node", "exec", "--no-payload"]);
  assertEquals(r.code, 0, `submit on ${node}: ${r.stdout}${r.stderr}`);
  return /Unit ID: (\S+)/.exec(r.stdout)![1];
}

async function waitUnit(
  mesh: Mesh,
  node: string,
  id: string,
  ok: (u: Unit) => boolean,
  what: string,
  timeoutMs = 30000,
): Promise<Unit> {
  return await waitFor(
    `${node} unit ${id} ${what}`,
    async () => {
      const u = (await list(mesh, node))[id];
      return u && ok(u) ? u : null;
    },
    timeoutMs,
    200,
  );
}

const goneDetail = (rid: string) =>
  `Remote work unit is gone: node exec no longer knows unit ${rid} (released there, or the ` +
  "node restarted without its data)";

const RETENTION: Record<string, string> = {
  subA: "- work-retention:\n    releasegiveup: 3s\n",
  subC: "- work-retention:\n    maxage: 1s\n    interval: 200ms\n",
};

Deno.test({
  name: "reconciliation: executor forgets units (release behind the back, empty restart), " +
    "stuck release given up",
  ...opts,
  async fn(t) {
    const mesh = await startE2eMesh({
      nodes: ["exec", "subA", "subB", "subC"],
      edges: [["subA", "exec"], ["subB", "exec"], ["subC", "exec"]],
      extraYaml: (id) => WORK + (RETENTION[id] ?? ""),
    });
    const leftovers: number[] = [];
    // a failing step shows every node's log
    const step = (name: string, fn: () => Promise<void>) =>
      t.step(name, async () => {
        try {
          await fn();
        } catch (e) {
          throw new Error(`${(e as Error).message}\n${meshLogs(mesh)}`);
        }
      });
    try {
      await step("released on the executor behind the submitter's back → Failed", async () => {
        const id = await submit(mesh, "subB", ["sleep"]);
        const u = await waitUnit(mesh, "subB", id, (u) => u.State === 1, "Running");
        const rid = u.ExtraData?.RemoteUnitID as string;
        const rel = await ctl(mesh, "exec", ["release", rid]);
        assertStringIncludes(rel.stdout, `(${rid}, released)`);
        const failed = await waitUnit(mesh, "subB", id, (u) => u.State === 3, "Failed");
        assertEquals(failed.Detail, goneDetail(rid));
      });

      await step("retention releases a unit whose remote copy is gone (force)", async () => {
        const id = await submit(mesh, "subC", ["sleep"]);
        const u = await waitUnit(mesh, "subC", id, (u) => u.State === 1, "Running");
        const rid = u.ExtraData?.RemoteUnitID as string;
        assertStringIncludes((await ctl(mesh, "exec", ["release", rid])).stdout, "released");
        await waitFor(`subC drops ${id}`, async () => !(id in await list(mesh, "subC")), 20000);
        const line = await mesh.node("subC").proc.waitForLog(
          new RegExp(
            `retention: released work unit ${id} \\(Failed; its remote copy was already gone\\)`,
          ),
        );
        assertStringIncludes(line, "maxage 1s");
      });

      await step(
        "executor down: stuck release given up; back empty: units reconciled",
        async () => {
          const u1 = await submit(mesh, "subB", ["echo", "one"]);
          const u2 = await submit(mesh, "subB", ["sleep"]);
          const u3 = await submit(mesh, "subA", ["echo", "three"]);
          await waitUnit(mesh, "subB", u1, (u) => u.State === 2, "Succeeded");
          await waitUnit(mesh, "subA", u3, (u) => u.State === 2, "Succeeded");
          const running = await waitUnit(mesh, "subB", u2, (u) => u.State === 1, "Running");
          const rid2 = running.ExtraData?.RemoteUnitID as string;
          const exec = mesh.node("exec");
          const st = readUnitStatus(exec, rid2) as { ExtraData?: { Pid?: number } } | null;
          const runnerPid = st?.ExtraData?.Pid ?? 0;
          const sleepPid = Number(/PID (\d+)/.exec(running.Detail)?.[1] ?? 0);
          leftovers.push(runnerPid, sleepPid);

          await mesh.kill("exec");
          for (const sub of ["subA", "subB"]) {
            await waitFor(
              `${sub} loses its route to exec`,
              async () => {
                return !(await mesh.status(sub)).RoutingTable["exec"];
              },
              30000,
              200,
            );
          }
          const relA = await ctl(mesh, "subA", ["release", u3]);
          assertStringIncludes(relA.stdout, `(${u3}, release pending)`);
          const relB = await ctl(mesh, "subB", ["release", u1]);
          assertStringIncludes(relB.stdout, `(${u1}, release pending)`);

          // subA gives up after 3 s with exec still down, and says so
          await waitFor(`subA drops ${u3}`, async () => !(u3 in await list(mesh, "subA")), 20000);
          const gaveUp = await mesh.node("subA").proc.waitForLog(/gave up releasing this unit/);
          assertStringIncludes(gaveUp, `[${u3}]`);
          assertStringIncludes(gaveUp, "node exec after 3s unreachable");
          assert(u1 in await list(mesh, "subB"), "subB (no releasegiveup) keeps trying");

          // exec comes back with an empty datadir
          for (const pid of [runnerPid, sleepPid]) {
            if (pid > 0) {
              try {
                Deno.kill(pid, "SIGKILL");
              } catch { /* already gone */ }
            }
          }
          await Deno.remove(`${exec.dir}/data`, { recursive: true });
          await mesh.startMember("exec");
          const failed = await waitUnit(mesh, "subB", u2, (u) => u.State === 3, "Failed", 60000);
          assertEquals(failed.Detail, goneDetail(rid2));
          await waitFor(
            `subB finishes releasing ${u1}`,
            async () => {
              return !(u1 in await list(mesh, "subB"));
            },
            90000,
            300,
          );
          const done = await mesh.node("subB").proc.waitForLog(
            new RegExp(`\\[${u1}\\] remote node no longer knows this unit: releasing here`),
          );
          assert(done);
        },
      );
    } finally {
      for (const pid of leftovers) {
        if (pid > 0 && pidAlive(pid)) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch { /* gone */ }
        }
      }
      for (const id of ["subA", "subB", "subC", "exec"]) {
        await ctl(mesh, id, ["release", "--force", "--all"]).catch(() => {});
      }
      await mesh.stop();
    }
  },
});
