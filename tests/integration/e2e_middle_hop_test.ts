/**
 * End to end: `kill -9` of the middle node of a 3-node line sub–mid–exec during a remote
 * results stream, then its restart. Once the route sub→exec is back, the stream resumes within
 * seconds (not after the QUIC idle timeout), and the submitter's stdout ends byte-identical to
 * the executor's. mid dials both ends, so its restart brings the route back at once.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { CtlConn, ctlJson } from "../helpers/mesh.ts";
import { meshLogs, readUnitStatus, sha256File, startE2eMesh, unitDir } from "./e2e_helpers.ts";

const LINES = 250;
const EXPECTED = Array.from({ length: LINES }, (_, i) => `line ${i + 1}\n`).join("");

async function stdoutSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

for (const downMs of [2_000, 20_000]) {
  Deno.test({
    name: `e2e middle hop killed for ${
      downMs / 1000
    } s: the results stream resumes once the route is back`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const mesh = await startE2eMesh({
        nodes: ["exec", "sub", "mid"],
        logLevel: Deno.env.get("MH_LOG") ?? "info",
        edges: [["mid", "exec"], ["mid", "sub"]],
        extraYaml: (id) =>
          id !== "exec" ? "" : [
            `- work-command:`,
            `    worktype: slow`,
            `    command: sh`,
            `    params: -c 'for i in $(seq 1 ${LINES}); do echo line $i; sleep 0.1; done'`,
            ``,
          ].join("\n"),
      });
      try {
        const sub = mesh.node("sub"), exec = mesh.node("exec");
        const c = await CtlConn.open(sub.socket);
        const created = await c.command("work submit exec slow");
        const local = /with ID ([A-Za-z0-9]+)\./.exec(created)?.[1];
        assert(local, `submit: ${created}`);
        await c.closeWrite();
        assert((await c.readLine(30000))?.includes("Job Started"));
        c.close();
        const out = `${unitDir(sub, local)}/stdout`;
        await waitFor("first mirrored lines", async () => (await stdoutSize(out)) > 40, 20000, 50);
        await mesh.kill("mid");
        await waitFor(
          "sub loses its route to exec",
          async () => !(await mesh.status("sub")).RoutingTable["exec"],
          30000,
          100,
        );
        // Let the executor notice too (its sends to sub fail while the route is down); a long
        // outage also grows the submitter's reconnect back-off.
        const downAt = Date.now();
        await waitFor(
          `${downMs} ms with mid down`,
          () => Date.now() - downAt > downMs,
          downMs + 5000,
          100,
        );
        const before = await stdoutSize(out);
        await mesh.startMember("mid");
        await waitFor(
          "sub's route to exec is back",
          async () => !!(await mesh.status("sub")).RoutingTable["exec"],
          30000,
          100,
        );
        const routeBack = Date.now();
        await waitFor(
          "the results stream resumes",
          async () => (await stdoutSize(out)) > before,
          8000,
          100,
        ).catch((e) => {
          throw new Error(`${e.message}\n${meshLogs(mesh, 400)}`);
        });
        console.log(
          `stream resumed ${
            ((Date.now() - routeBack) / 1000).toFixed(1)
          } s after the route returned`,
        );
        const final = await waitFor(
          `unit ${local} complete on sub`,
          async () => {
            const st = await ctlJson<{ State: number; StdoutSize: number }>(
              sub.socket,
              `work status ${local}`,
            );
            if (st.State !== 2) return null;
            return (await stdoutSize(out)) >= st.StdoutSize ? st : null;
          },
          60000,
          200,
        );
        assertEquals(final.StdoutSize, EXPECTED.length);
        const remote = (readUnitStatus(sub, local)?.ExtraData as { RemoteUnitID: string })
          .RemoteUnitID;
        const exOut = `${unitDir(exec, remote)}/stdout`;
        assertEquals(await Deno.readTextFile(out), EXPECTED, "submitter stdout byte-exact");
        assertEquals(await sha256File(out), await sha256File(exOut));
      } finally {
        await mesh.stop();
      }
    },
  });
}
