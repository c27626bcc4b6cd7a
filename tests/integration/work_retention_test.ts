/**
 * Work-unit retention and owner labels on a real node process:
 * - `work-retention maxage`: a finished unit is released automatically (and logged), a running
 *   one never;
 * - `work-retention maxcount`: only the newest finished units stay, oldest released first;
 * - owner labels set through `receptor ctl work submit --owner` and through receptorctl
 *   (`-a receptor-owner=...`) show in `work list` (both clients), and
 *   `receptor ctl work release --owner X --older-than D [--force]` releases by label and age.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { type NodeProcess, runReceptor, withNode } from "../helpers/node_process.ts";
import { waitFor } from "../helpers/net.ts";
import { runTool } from "./e2e_helpers.ts";
import { receptorctl as findReceptorctl } from "../helpers/peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function yaml(retention: string) {
  return (dir: string, socket: string) =>
    `---
- node:
    id: keeper
    datadir: ${dir}/data
- local-only:
- control-service:
    service: control
    filename: ${socket}
- work-command:
    worktype: echo
    command: echo
    allowruntimeparams: true
- work-command:
    worktype: sleep
    command: sleep
    params: "30"
${retention}`;
}

interface Listed {
  State: number;
  Detail: string;
  Owner?: string;
  Created?: string;
  Finished?: string | null;
}

/** `receptorctl work submit echo --no-payload` with each of `attrs` as an `-a` option. */
function pySubmitEcho(receptorctl: string, n: NodeProcess, attrs: string[]) {
  const a = attrs.flatMap((x) => ["-a", x]);
  return runTool(receptorctl, [
    "--socket",
    n.socket,
    "work",
    "submit",
    "echo",
    "--no-payload",
    ...a,
  ]);
}

function withKeeper(retention: string, fn: (n: NodeProcess) => Promise<void>) {
  // release everything (running sleeps included) so no runner outlives the test
  const beforeStop = (n: NodeProcess) => ctl(n, ["release", "--force", "--all"]);
  return withNode("keeper", yaml(retention), fn, { beforeStop });
}

const ctl = (n: NodeProcess, args: string[]) =>
  runReceptor(["ctl", "--socket", n.socket, "work", ...args]);

async function list(n: NodeProcess): Promise<Record<string, Listed>> {
  const r = await ctl(n, ["list"]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function submit(n: NodeProcess, args: string[]): Promise<string> {
  const r = await ctl(n, ["submit", ...args]);
  assertEquals(r.code, 0, `submit ${args}: ${r.stdout}${r.stderr}`);
  const m = /^Unit ID: (\S+)$/m.exec(r.stdout);
  assert(m, r.stdout);
  return m[1];
}

async function waitState(n: NodeProcess, id: string, state: number): Promise<Listed> {
  return await waitFor(`unit ${id} state ${state}`, async () => {
    const u = (await list(n))[id];
    return u?.State === state ? u : null;
  });
}

Deno.test({
  name: "retention maxage: finished units released and logged, a running one kept",
  ...opts,
  fn: () =>
    withKeeper(
      `- work-retention:\n    maxage: 2s\n    interval: 200ms\n`,
      async (n) => {
        const sleeper = await submit(n, ["sleep", "--no-payload"]);
        const done = await submit(n, ["echo", "--no-payload", "one"]);
        await waitState(n, sleeper, 1);
        await waitFor(`unit ${done} released`, async () => !(done in await list(n)), 20000);
        const line = await n.waitForLog(new RegExp(`retention: released work unit ${done}`));
        assertMatch(line, /\(Succeeded\): finished \d+s ago, maxage 2s/);
        const left = await list(n);
        assertEquals(left[sleeper]?.State, 1, "the running unit is never released");
        assert(!n.log.some((l) => l.includes(`work unit ${sleeper}`) && l.includes("retention")));
      },
    ),
});

Deno.test({
  name: "retention maxcount: the newest finished units stay, the oldest go first",
  ...opts,
  fn: () =>
    withKeeper(
      `- work-retention:\n    maxcount: 2\n    interval: 200ms\n`,
      async (n) => {
        const sleeper = await submit(n, ["sleep", "--no-payload"]);
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
          const id = await submit(n, ["echo", "--no-payload", `n${i}`]);
          await waitFor(`unit ${id} finished`, async () => {
            const u = (await list(n))[id];
            return u === undefined || u.State === 2; // (an old one may already be gone)
          });
          ids.push(id);
        }
        await waitFor("two finished units left", async () => {
          const keys = Object.keys(await list(n)).sort();
          return JSON.stringify(keys) === JSON.stringify([sleeper, ids[2], ids[3]].sort());
        });
        for (const old of [ids[0], ids[1]]) {
          const l = await n.waitForLog(new RegExp(`retention: released work unit ${old}`));
          assertStringIncludes(l, "more than maxcount 2 finished units");
        }
        assertEquals((await list(n))[sleeper].State, 1);
      },
    ),
});

Deno.test({
  name: "owner labels: set by receptor ctl and receptorctl, listed, released by owner and age",
  ...opts,
  fn: () =>
    withKeeper("", async (n) => {
      const receptorctl = findReceptorctl(); // throws "missing receptorctl: ..." when absent
      const aliceDone = await submit(n, ["echo", "--no-payload", "--owner", "alice", "a"]);
      const aliceRunning = await submit(n, ["sleep", "--no-payload", "--owner", "alice"]);
      const plain = await submit(n, ["echo", "--no-payload", "p"]);
      const rc = await pySubmitEcho(receptorctl, n, ["receptor-owner=bob", "params=b"]);
      assertEquals(rc.code, 0, rc.out + rc.err);
      const bob = /Unit ID: (\S+)/.exec(rc.out)![1];
      for (const id of [aliceDone, plain, bob]) await waitState(n, id, 2);
      await waitState(n, aliceRunning, 1);

      // receptorctl shows the labels in its own `work list` output
      const viaPy = await runTool(receptorctl, ["--socket", n.socket, "work", "list"]);
      assertEquals(viaPy.code, 0, viaPy.err);
      const pyList = JSON.parse(viaPy.out) as Record<string, Listed>;
      assertEquals(pyList[bob].Owner, "bob");
      assertEquals(pyList[aliceDone].Owner, "alice");
      assertEquals(pyList[plain].Owner, undefined, "unlabelled units keep upstream's keys");
      assertEquals(Object.keys(pyList[plain]).sort(), [
        "Detail",
        "ExtraData",
        "State",
        "StateName",
        "StdoutSize",
        "WorkType",
      ]);
      const all = await list(n);
      assertMatch(all[aliceDone].Finished ?? "", /^\d{4}-\d\d-\d\dT.*Z$/);
      assertMatch(all[aliceRunning].Created ?? "", /^\d{4}-\d\d-\d\dT.*Z$/);
      assertEquals(all[aliceRunning].Finished, null);
      // `work status` keeps exactly upstream's keys
      const st = await runReceptor(["ctl", "--socket", n.socket, "work", "status", aliceDone]);
      assertEquals(JSON.parse(st.stdout).Owner, undefined);

      // nothing of alice's is an hour old
      const none = await ctl(n, ["release", "--owner", "alice", "--older-than", "1h"]);
      assertEquals(none.code, 0, none.stderr);
      assertStringIncludes(none.stderr, "No units of owner alice match");
      assert(aliceDone in await list(n));
      // once it finished a second ago, alice's finished unit goes; her running one stays
      await waitFor("alice's finished unit released", async () => {
        const r = await ctl(n, ["release", "--owner", "alice", "--older-than", "1s"]);
        assertEquals(r.code, 0, r.stderr);
        return r.stdout.includes(`(${aliceDone}, released)`);
      });
      let left = await list(n);
      assert(!(aliceDone in left));
      for (const id of [aliceRunning, plain, bob]) assert(id in left, `${id} kept`);
      // --force also takes running units
      const forced = await ctl(n, ["release", "--owner", "alice", "--force"]);
      assertStringIncludes(forced.stdout, `(${aliceRunning}, released)`);
      left = await list(n);
      assertEquals(Object.keys(left).sort(), [plain, bob].sort());

      const bad = await ctl(n, ["release", "--older-than", "2x", "--owner", "bob"]);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.stderr, "--older-than");
      const long = await pySubmitEcho(receptorctl, n, [`receptor-owner=${"x".repeat(200)}`]);
      assertStringIncludes(long.out + long.err, "receptor-owner is longer than 128 characters");
    }),
});
