/**
 * receptorctl (from PyPI, unchanged) driving remote work across a 3-node line
 * node1–node2–node3 of real node processes; node1 submits, node3 executes (control.md §3, §6;
 * checklist 64–66, 70, 71, 85–87):
 * - `work submit upper --node node3 -p FILE` (binary payload, upper-cased by `tr`), polled to
 *   Succeeded / `exit status 0`, and `work results` equal to the expected bytes;
 * - `work submit ... --no-payload -f` prints the remote output and exits 0;
 * - `work cancel` of a remote `sleep 60` → `(<id>, cancelled)`, the submitter's unit ends
 *   Canceled with Detail `Canceled`, and the sleep process is gone;
 * - `work release` of every unit → both nodes' `work list` are empty afterwards;
 * - the AWX library calls: `submit_work(worktype, payload, node="node3")`,
 *   `get_work_results(unitid, return_sockfile=True)` read to EOF and
 *   `simple_command("work status <id>")`.
 * @module
 */
import { receptorctlPython } from "../helpers/peers.ts";
import {
  assert,
  assertBytesEqual,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { type Mesh, workYaml } from "../helpers/mesh.ts";
import {
  ctlOn,
  ctlWorkList,
  meshLogs,
  pidAlive,
  runTool,
  startE2eMesh,
  unitIdOf,
} from "../integration/e2e_helpers.ts";

/** Deterministic binary payload: every byte value, pseudo-random order. */
function payloadBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 16) & 0xff;
  }
  return b;
}

/** What `tr a-z A-Z` makes of `b`. */
function upper(b: Uint8Array): Uint8Array {
  return b.map((c) => (c >= 0x61 && c <= 0x7a ? c - 32 : c));
}

const ctl = ctlOn;
const workList = (mesh: Mesh, node: string) => ctlWorkList(mesh, node);
const workStatus = async (mesh: Mesh, node: string, unit: string) =>
  (await ctlWorkList(mesh, node, unit))[unit];

Deno.test({
  name:
    "receptorctl: remote work across node1–node2–node3 (submit, follow, cancel, release, AWX calls)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const mesh = await startE2eMesh({
      nodes: ["node3", "node2", "node1"],
      edges: [["node2", "node3"], ["node1", "node2"]],
      extraYaml: (id) =>
        id !== "node3" ? "" : workYaml("upper", {
          worktype: "hello",
          command: "sh",
          params: `-c "echo hello from; hostname >/dev/null; echo node3"`,
        }, "sleeper"),
    });
    try {
      const payload = payloadBytes(300_000);
      const expected = upper(payload);
      const payloadFile = `${mesh.root}/payload.bin`;
      await Deno.writeFile(payloadFile, payload);

      await t.step("submit with a payload; Succeeded; results equal", async () => {
        const sub = await ctl(mesh, "node1", [
          "work",
          "submit",
          "upper",
          "--node",
          "node3",
          "-p",
          payloadFile,
        ]);
        assertEquals(sub.code, 0, `submit: ${sub.out}${sub.err}\n${meshLogs(mesh)}`);
        assertStringIncludes(sub.out, "Result: Job Started");
        const id = unitIdOf(sub.out);
        const st = await waitFor(
          `unit ${id} Succeeded`,
          async () => {
            const s = await workStatus(mesh, "node1", id);
            if (s.State === 3 || s.State === 4) throw new Error(`ended ${JSON.stringify(s)}`);
            return s.State === 2 && s.StdoutSize === expected.length ? s : null;
          },
          30000,
          200,
        );
        assertEquals(st.Detail, "exit status 0");
        assertEquals(st.WorkType, "remote");
        assertEquals(st.ExtraData?.RemoteNode, "node3");
        assertEquals(st.ExtraData?.RemoteStarted, true);
        const res = await ctl(mesh, "node1", ["work", "results", id]);
        assertEquals(res.code, 0, `results: ${res.err}`);
        assertBytesEqual(res.raw, expected, "results");
        // The executor's copy holds the same bytes and the payload arrived intact.
        const remoteId = st.ExtraData?.RemoteUnitID as string;
        const n3 = mesh.node("node3");
        const rStdin = await Deno.readFile(`${n3.dir}/data/node3/${remoteId}/stdin`);
        assertBytesEqual(rStdin, payload, "executor stdin equals the payload");
      });

      await t.step("submit --no-payload -f prints the remote output", async () => {
        const r = await ctl(mesh, "node1", [
          "work",
          "submit",
          "hello",
          "--node",
          "node3",
          "--no-payload",
          "-f",
        ]);
        assertEquals(r.code, 0, `exit code: ${r.out}${r.err}`);
        assertEquals(r.out, "hello from\nnode3\n");
      });

      await t.step("cancel a remote sleep 60", async () => {
        const sub = await ctl(mesh, "node1", [
          "work",
          "submit",
          "sleeper",
          "--node",
          "node3",
          "--no-payload",
        ]);
        assertEquals(sub.code, 0, `submit: ${sub.out}${sub.err}`);
        const id = unitIdOf(sub.out);
        const running = await waitFor(
          `unit ${id} Running`,
          async () => {
            const s = await workStatus(mesh, "node1", id);
            return s.State === 1 ? s : null;
          },
          30000,
          200,
        );
        // The mirrored Detail is the executor's `Running: PID <n>`.
        const pid = Number(/^Running: PID (\d+)$/.exec(running.Detail)?.[1]);
        assert(pid > 0 && pidAlive(pid), `executor's sleep runs: ${running.Detail}`);
        assertStringIncludes(Deno.readTextFileSync(`/proc/${pid}/cmdline`), "sleep");
        const c = await ctl(mesh, "node1", ["work", "cancel", id]);
        assertEquals(c.code, 0, `cancel: ${c.out}${c.err}`);
        assertStringIncludes(c.out, `(${id}, cancelled)`);
        const st = await waitFor(
          `unit ${id} Canceled`,
          async () => {
            const s = await workStatus(mesh, "node1", id);
            return s.State === 4 ? s : null;
          },
          20000,
          200,
        );
        assertEquals(st.Detail, "Canceled");
        assertEquals(st.StateName, "Canceled");
        await waitFor("sleep process gone", () => !pidAlive(pid), 15000);
        assert(!pidAlive(pid), `executor's sleep ${pid} still alive after cancel`);
      });

      await t.step({
        name: "AWX library calls: submit_work, get_work_results, work status",
        fn: async () => {
          const script = [
            "import json, sys",
            "from receptorctl.socket_interface import ReceptorControl",
            "payload = open(sys.argv[2], 'rb').read()",
            "rc = ReceptorControl(sys.argv[1])",
            "r = rc.submit_work('upper', payload, node='node3')",
            "uid = r['unitid']",
            "rc = ReceptorControl(sys.argv[1])",
            "f = rc.get_work_results(uid, return_sockfile=True)",
            "data = b''",
            "while True:",
            "    chunk = f.read(65536)",
            "    if not chunk:",
            "        break",
            "    data += chunk",
            "open(sys.argv[3], 'wb').write(data)",
            "rc = ReceptorControl(sys.argv[1])",
            "st = rc.simple_command('work status ' + uid)",
            "rc.close()",
            "print(json.dumps({'result': r['result'], 'unitid': uid, 'status': st}))",
          ].join("\n");
          const outFile = `${mesh.root}/awx-results.bin`;
          const r = await runTool(
            receptorctlPython(),
            ["-c", script, mesh.node("node1").socket, payloadFile, outFile],
            undefined,
            60000,
          );
          assertEquals(r.code, 0, `python: ${r.err}\n${meshLogs(mesh)}`);
          const o = JSON.parse(r.out.trim().split("\n").pop()!);
          assertEquals(o.result, "Job Started");
          assertMatch(o.unitid, /^[A-Za-z0-9]{8}$/);
          const got = await Deno.readFile(outFile);
          assertBytesEqual(got, expected, "results");
          assertEquals(o.status.State, 2);
          assertEquals(o.status.Detail, "exit status 0");
          assertEquals(o.status.StdoutSize, expected.length);
        },
      });

      await t.step("work release of every unit; work list empty on both ends", async () => {
        const ids = Object.keys(await workList(mesh, "node1"));
        assert(ids.length >= 3, `units to release: ${ids}`);
        const rel = await ctl(mesh, "node1", ["work", "release", ...ids]);
        assertEquals(rel.code, 0, `release: ${rel.out}${rel.err}`);
        for (const id of ids) assertStringIncludes(rel.out, `(${id}, released)`);
        await waitFor(
          "node1 work list empty",
          async () => {
            const l = await workList(mesh, "node1");
            return Object.keys(l).length === 0;
          },
          20000,
          300,
        );
        const l3 = await workList(mesh, "node3");
        assertEquals(l3, {}, "executor's units released too");
        const entries = [...Deno.readDirSync(`${mesh.node("node1").dir}/data/node1`)];
        assertEquals(entries.map((e) => e.name), [], "unit directories removed on node1");
      });
    } finally {
      await mesh.stop();
    }
  },
});
