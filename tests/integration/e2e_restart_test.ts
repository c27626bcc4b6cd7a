/**
 * End to end: node restarts in the middle of a remote job (control.md §6.8, checklist 60, 66,
 * 74). A 3-node line sub–mid–exec of real processes; `sub` submits a work-command printing 60
 * lines over ~6 s to `exec`. Case 1: `kill -9` of the submitter mid-job and a restart; case 2:
 * `kill -9` of the executor mid-job (its detached command runner keeps going) and a restart.
 * Either way the unit completes on both ends, the submitter's stdout mirror is byte-identical
 * to the executor's (sha256, no duplicated or missing lines), and no runner or child process
 * is left behind.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import type { Mesh } from "../helpers/mesh.ts";
import { CtlConn, ctlJson, workYaml } from "../helpers/mesh.ts";
import {
  meshLogs,
  pgrep,
  pidAlive,
  readUnitStatus,
  sha256File,
  startE2eMesh,
  unitDir,
  waitNoProcesses,
} from "./e2e_helpers.ts";

const EXPECTED = Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join("");

function startLine(): Promise<Mesh> {
  return startE2eMesh({
    nodes: ["exec", "mid", "sub"],
    edges: [["mid", "exec"], ["sub", "mid"]],
    extraYaml: (id) =>
      id !== "exec" ? "" : workYaml({
        worktype: "slow",
        command: "sh",
        params: "-c 'for i in $(seq 1 60); do echo line $i; sleep 0.1; done'",
      }),
  });
}

interface Submitted {
  /** Unit on the submitter. */
  local: string;
  /** Unit on the executor. */
  remote: string;
}

/** Submit the slow job from sub to exec; wait until output is being mirrored. */
async function submitSlow(mesh: Mesh): Promise<Submitted> {
  const sub = mesh.node("sub");
  const c = await CtlConn.open(sub.socket);
  let local: string;
  try {
    const created = await c.command("work submit exec slow");
    const m = /with ID ([A-Za-z0-9]+)\./.exec(created);
    assert(m, `submit: ${created}`);
    local = m[1];
    await c.closeWrite();
    const started = await c.readLine(30000);
    assert(started?.includes("Job Started"), `submit reply: ${started}`);
  } finally {
    c.close();
  }
  // Mirroring under way: some lines, not all, in the submitter's stdout.
  await waitFor(
    "first mirrored lines",
    async () => {
      const out = await Deno.readTextFile(`${unitDir(sub, local)}/stdout`).catch(() => "");
      return out.includes("line 5\n");
    },
    20000,
    50,
  );
  const st = readUnitStatus(sub, local);
  const remote = (st?.ExtraData as { RemoteUnitID?: string } | null)?.RemoteUnitID;
  assert(remote, `RemoteUnitID on the submitter: ${JSON.stringify(st)}`);
  return { local, remote };
}

/** The executor's child PID (from `Running: PID <n>`) and its runner PIDs. */
function executorProcesses(mesh: Mesh, remote: string): { child: number; runners: number[] } {
  const st = readUnitStatus(mesh.node("exec"), remote);
  const m = /^Running: PID (\d+)$/.exec(st?.Detail ?? "");
  assert(m, `executor unit running: ${JSON.stringify(st)}`);
  const runners = pgrep(unitDir(mesh.node("exec"), remote)).filter(pidAlive);
  return { child: Number(m[1]), runners };
}

/** Wait for completion on both ends; compare outputs; check no process is left. */
async function checkCompleted(
  mesh: Mesh,
  s: Submitted,
  procs: { child: number; runners: number[] },
): Promise<void> {
  const sub = mesh.node("sub"), exec = mesh.node("exec");
  const final = await waitFor(
    `unit ${s.local} complete on sub`,
    async () => {
      const st = await ctlJson<{ State: number; Detail: string; StdoutSize: number }>(
        sub.socket,
        `work status ${s.local}`,
      );
      if (st.State === 3 || st.State === 4) throw new Error(`ended badly: ${JSON.stringify(st)}`);
      if (st.State !== 2) return null;
      const size = (await Deno.stat(`${unitDir(sub, s.local)}/stdout`)).size;
      return size >= st.StdoutSize ? st : null;
    },
    60000,
    200,
  ).catch((e) => {
    throw new Error(`${e.message}\n${meshLogs(mesh)}`);
  });
  assertEquals(final.Detail, "exit status 0");
  assertEquals(final.StdoutSize, EXPECTED.length);
  const exSt = readUnitStatus(exec, s.remote);
  assertEquals(exSt?.State, 2, "executor unit Succeeded");
  const subOut = `${unitDir(sub, s.local)}/stdout`;
  const exOut = `${unitDir(exec, s.remote)}/stdout`;
  assertEquals(await Deno.readTextFile(exOut), EXPECTED, "executor stdout");
  assertEquals(await sha256File(subOut), await sha256File(exOut), "stdout sha256 on both ends");
  assertEquals(await Deno.readTextFile(subOut), EXPECTED, "submitter stdout");
  // Nothing left behind: no runner for either unit dir, the child is gone.
  await waitNoProcesses(unitDir(exec, s.remote));
  await waitNoProcesses(unitDir(sub, s.local));
  await waitFor("executor child gone", () => !pidAlive(procs.child), 10000);
  assert(!pidAlive(procs.child), `executor child ${procs.child} still alive`);
  for (const r of procs.runners) {
    await waitFor(`runner ${r} gone`, () => !pidAlive(r), 10000);
    assert(!pidAlive(r), `runner ${r} still alive`);
  }
}

/**
 * One restart case: a slow unit from sub to exec, kill -9 of `victim` mid-job (`whileDown`
 * checks what must hold then), restart it, and the unit completes with nothing left behind.
 */
function restartTest(
  victim: "sub" | "exec",
  whileDown: (procs: { child: number; runners: number[] }) => void | Promise<void>,
  variant = "",
) {
  Deno.test({
    name: `e2e restart: kill -9 of the ${
      victim === "sub" ? "submitter" : "executor"
    } mid-job, restart${variant}, the unit completes`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const mesh = await startLine();
      try {
        const s = await submitSlow(mesh);
        const procs = executorProcesses(mesh, s.remote);
        assert(procs.runners.length >= 1, "a command runner runs on the executor");
        await mesh.kill(victim);
        await whileDown(procs);
        const partial = (await Deno.stat(`${unitDir(mesh.node("sub"), s.local)}/stdout`)).size;
        assert(partial < EXPECTED.length, `killed mid-job (${partial} bytes mirrored)`);
        await mesh.startMember(victim);
        await checkCompleted(mesh, s, procs);
      } finally {
        await mesh.stop();
      }
    },
  });
}

restartTest("sub", () => {});

restartTest("exec", (procs) => {
  // The detached runner and its child outlive the node.
  assert(pidAlive(procs.child), "the command keeps running while its node is down");
});

restartTest("exec", async (procs) => {
  // The job ends while its node is down; the restarted node finalises it from what the
  // detached runner left (state, Detail, the full StdoutSize).
  assert(pidAlive(procs.child), "the command keeps running while its node is down");
  for (const r of [procs.child, ...procs.runners]) {
    await waitFor(`pid ${r} ended while the node is down`, () => !pidAlive(r), 30000);
  }
}, " after the job ended");
