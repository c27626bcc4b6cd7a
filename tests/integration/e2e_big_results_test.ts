/**
 * End to end: a big result stream across the mesh. A 3-node line client–mid–exec of real
 * processes; `exec` runs a work-command writing `E2E_BIG_BYTES` deterministic bytes
 * (`yes 0123456789abcdef | head -c N`); a control client on `client` bridges to exec's
 * control service two hops away (`connect exec control `, a QUIC stream over mesh datagrams)
 * and reads `work results <id>` to EOF. The sha256 of what arrived must equal the sha256 of
 * the same command run locally. Then the remote-work path: `client` submits a job writing
 * `E2E_BIG_REMOTE_BYTES` (default 64 MiB) to `exec`, and its own `work results` (the mirrored
 * stdout) must hash the same. Throughputs are printed.
 *
 * Size: env `E2E_BIG_BYTES` (bytes), default {@link DEFAULT_BIG_BYTES}.
 * @module
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { CtlConn } from "../helpers/mesh.ts";
import { waitFor } from "../helpers/net.ts";
import { meshLogs, readUnitStatus, startE2eMesh, StreamingCtl } from "./e2e_helpers.ts";
import { createHash } from "node:crypto";

/**
 * Default stream size (bytes): 1 GiB. Measured on the 2-core CI-sized machine: ~26 s at
 * ~40 MiB/s over 2 hops (TS nodes, 16 KiB mesh datagrams); lower it with E2E_BIG_BYTES.
 */
const DEFAULT_BIG_BYTES = 1024 * 1024 * 1024;
const SIZE = Number(Deno.env.get("E2E_BIG_BYTES") ?? DEFAULT_BIG_BYTES);
/** Size mirrored through remote work (executor disk → submitter disk → client). */
const REMOTE_SIZE = Number(Deno.env.get("E2E_BIG_REMOTE_BYTES") ?? 64 * 1024 * 1024);
const gen = (n: number) => `yes 0123456789abcdef | head -c ${n}`;
const GEN = gen(SIZE);

/** sha256 of the generator's output, computed locally. */
async function expectedSha(cmd = GEN): Promise<string> {
  const p = new Deno.Command("sh", { args: ["-c", cmd], stdout: "piped" }).spawn();
  const h = createHash("sha256");
  for await (const c of p.stdout) h.update(c);
  await p.status;
  return h.digest("hex");
}

Deno.test({
  name: `e2e big results: ${SIZE} bytes from a node two hops away; ${REMOTE_SIZE} mirrored`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const want = expectedSha();
    const mesh = await startE2eMesh({
      nodes: ["exec", "mid", "client"],
      edges: [["mid", "exec"], ["client", "mid"]],
      extraYaml: (id) =>
        id !== "exec" ? "" : [
          `- work-command:`,
          `    worktype: big`,
          `    command: sh`,
          `    params: -c "${GEN}"`,
          `- work-command:`,
          `    worktype: bigremote`,
          `    command: sh`,
          `    params: -c "${gen(REMOTE_SIZE)}"`,
          ``,
        ].join("\n"),
    });
    try {
      await t.step("direct: work results through connect, two hops", async () => {
        const exec = mesh.node("exec");
        // Run the job on exec and let it finish (so the stream measures the mesh, not `yes`).
        const s = await CtlConn.open(exec.socket);
        let unit: string;
        try {
          const created = await s.command("work submit localhost big");
          unit = /with ID ([A-Za-z0-9]+)\./.exec(created)?.[1] ?? "";
          assertMatch(unit, /^[A-Za-z0-9]{8}$/, `submit: ${created}`);
          await s.closeWrite();
          await s.readLine();
        } finally {
          s.close();
        }
        await waitFor(
          "big job done",
          () => {
            const st = readUnitStatus(exec, unit);
            if (st?.State === 3) throw new Error(`failed: ${st.Detail}`);
            return st?.State === 2;
          },
          120000,
          200,
        );

        // From `client`, two hops away: connect to exec's control service, stream the results.
        const c = await StreamingCtl.open(mesh.node("client").socket);
        const h = createHash("sha256");
        let got = 0;
        const t0 = performance.now();
        try {
          assertEquals(await c.readLine(), "Receptor Control, node client");
          await c.sendLine("connect exec control ");
          assertEquals(await c.readLine(), "Connecting");
          assertEquals(await c.readLine(), "Receptor Control, node exec");
          await c.sendLine(`work results ${unit}`);
          assertEquals(await c.readLine(), `Streaming results for work unit ${unit}`);
          for (;;) {
            const chunk = await c.readChunk();
            if (chunk === null) break;
            h.update(chunk);
            got += chunk.length;
          }
        } finally {
          c.close();
        }
        const secs = (performance.now() - t0) / 1000;
        const mibs = got / 1048576 / secs;
        console.log(
          `big results: ${got} bytes in ${secs.toFixed(1)} s = ${
            mibs.toFixed(1)
          } MiB/s over 2 hops`,
        );
        assertEquals(got, SIZE, `bytes received\n${meshLogs(mesh)}`);
        assertEquals(h.digest("hex"), await want, "sha256 of the streamed results");
      });

      await t.step(`remote work: ${REMOTE_SIZE} bytes mirrored to the submitter`, async () => {
        const wantRemote = expectedSha(gen(REMOTE_SIZE));
        const c = await StreamingCtl.open(mesh.node("client").socket);
        let unit = "";
        try {
          await c.readLine();
          await c.sendLine("work submit exec bigremote");
          unit = /with ID ([A-Za-z0-9]+)\./.exec((await c.readLine()) ?? "")?.[1] ?? "";
          assertMatch(unit, /^[A-Za-z0-9]{8}$/);
          await c.closeWrite();
          const started = await c.readLine();
          if (!started?.includes("Job Started")) throw new Error(`submit: ${started}`);
        } finally {
          c.close();
        }
        const t0 = performance.now();
        const r = await StreamingCtl.open(mesh.node("client").socket);
        const h = createHash("sha256");
        let got = 0;
        try {
          await r.readLine();
          await r.sendLine(`work results ${unit}`);
          assertEquals(await r.readLine(), `Streaming results for work unit ${unit}`);
          for (;;) {
            const chunk = await r.readChunk();
            if (chunk === null) break;
            h.update(chunk);
            got += chunk.length;
          }
        } finally {
          r.close();
        }
        const secs = (performance.now() - t0) / 1000;
        console.log(
          `remote results: ${got} bytes in ${secs.toFixed(1)} s = ${
            (got / 1048576 / secs).toFixed(1)
          } MiB/s (job + mirror + local stream)`,
        );
        assertEquals(got, REMOTE_SIZE, `bytes received\n${meshLogs(mesh)}`);
        assertEquals(h.digest("hex"), await wantRemote, "sha256 of the mirrored results");
      });
    } finally {
      await mesh.stop();
    }
  },
});
