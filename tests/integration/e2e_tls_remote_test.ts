/**
 * End to end: remote work and `connect` to a TLS control service across the mesh (control.md
 * §1.4, §6.2; wire.md §12.5). A 3-node line sub–mid–exec of real processes with certificates
 * from `receptor cert`; exec's control service has `tls: ctlsrv` (ConnType 2, client
 * certificates required), sub has a `tls-client` trusting the CA:
 * - `work submit upper --node exec --tls-client ctlcli -l … -f` runs and streams back;
 * - a `secret_` param is refused without a tlsclient, accepted with one, kept in sub's status
 *   file and hidden from its `work list`;
 * - `work list --node exec --tls-client ctlcli` lists exec's units through `connect`;
 * - without `--tls-client` the insecure dial to the TLS service fails the unit with a Detail
 *   starting `TLS error connecting to remote service:` (no retries).
 * @module
 */
import { receptorctl } from "../helpers/peers.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir, waitFor } from "../helpers/net.ts";
import { CtlConn, ctlJson, workYaml } from "../helpers/mesh.ts";
import { meshLogs, readUnitStatus, runTool, startE2eMesh, type ToolResult } from "./e2e_helpers.ts";
import { makeCa, makeNodeCert, tlsClientYaml, tlsServerYaml } from "../helpers/tls.ts";

interface Unit {
  State: number;
  Detail: string;
  WorkType: string;
  ExtraData: Record<string, unknown> | null;
}

Deno.test({
  name: "e2e TLS control service over the mesh: remote work, secrets, list --node, refusal",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const certs = await tempDir("receptor-e2e-tls-");
    const ca = await makeCa(certs);
    const execCert = await makeNodeCert(certs, ca, "exec");
    const subCert = await makeNodeCert(certs, ca, "sub");
    const mesh = await startE2eMesh({
      nodes: ["exec", "mid", "sub"],
      edges: [["mid", "exec"], ["sub", "mid"]],
      extraYaml: (id) => {
        if (id === "exec") {
          return tlsServerYaml("ctlsrv", execCert, ca) +
            workYaml("upper", { worktype: "envcat", command: "sh", params: `-c "cat; echo done"` });
        }
        if (id === "sub") return tlsClientYaml("ctlcli", subCert, ca);
        return "";
      },
    }, { controlExtra: (id) => (id === "exec" ? "    tls: ctlsrv\n" : "") });
    const sock = mesh.node("sub").socket;
    const ctl = (args: string[]): Promise<ToolResult> =>
      runTool(receptorctl(), ["--socket", sock, ...args], undefined, 60000);
    try {
      await t.step("exec advertises its control service as StreamTLS", async () => {
        const st = await mesh.status("sub");
        const ad = st.Advertisements.find((a) => a.NodeID === "exec" && a.Service === "control");
        assertEquals(ad?.ConnType, 2, `exec's control ad: ${JSON.stringify(ad)}`);
      });

      await t.step("submit --tls-client: runs remotely and streams back", async () => {
        const r = await ctl([
          "work",
          "submit",
          "upper",
          "--node",
          "exec",
          "--tls-client",
          "ctlcli",
          "-l",
          "over tls",
          "-f",
        ]);
        assertEquals(r.code, 0, `exit code: ${r.out}${r.err}\n${meshLogs(mesh)}`);
        assertEquals(r.out, "OVER TLS\n");
      });

      await t.step("secret_ params: need TLS, accepted with it, hidden in work list", async () => {
        const submit = async (tlsclient: string): Promise<[string, string | null]> => {
          const c = await CtlConn.open(sock);
          try {
            const first = await c.command(JSON.stringify({
              command: "work",
              subcommand: "submit",
              node: "exec",
              worktype: "upper",
              tlsclient,
              secret_token: "s3cr3t",
            }));
            if (first.startsWith("ERROR")) return [first, null];
            await c.write("secret job\n");
            await c.closeWrite();
            return [first, await c.readLine()];
          } finally {
            c.close();
          }
        };
        const [refused] = await submit("");
        assertEquals(refused, "ERROR: cannot send secrets over a non-TLS connection");
        const [created, reply] = await submit("ctlcli");
        const id = /with ID ([A-Za-z0-9]+)\./.exec(created)?.[1];
        assert(id, `created: ${created}`);
        assertStringIncludes(reply ?? "", "Job Started");
        const done = await waitFor(
          `unit ${id} Succeeded`,
          async () => {
            const u = (await ctlJson<Record<string, Unit>>(sock, "work list"))[id];
            return u?.State === 2 ? u : null;
          },
          20000,
          200,
        );
        const params = done.ExtraData?.RemoteParams as Record<string, string>;
        assert(!("secret_token" in params), `secret hidden: ${JSON.stringify(params)}`);
        const onDisk = readUnitStatus(mesh.node("sub"), id)?.ExtraData as {
          RemoteParams: Record<string, string>;
        };
        assertEquals(onDisk.RemoteParams.secret_token, "s3cr3t", "kept in the status file");
      });

      await t.step("work list --node exec --tls-client", async () => {
        const r = await ctl(["work", "list", "--node", "exec", "--tls-client", "ctlcli"]);
        assertEquals(r.code, 0, `work list --node: ${r.out}${r.err}`);
        const units = JSON.parse(r.out) as Record<string, Unit>;
        assert(
          Object.values(units).some((u) => u.WorkType === "upper" && u.State === 2),
          `exec's units: ${r.out}`,
        );
      });

      await t.step("no --tls-client: TLS error, Failed, no retries", async () => {
        const r = await ctl(["work", "submit", "upper", "--node", "exec", "-l", "x"]);
        // The first attempt runs inside submit: a TLS failure ends the start there.
        const units = await ctlJson<Record<string, Unit>>(sock, "work list");
        const failed = Object.entries(units).find(([, u]) =>
          u.ExtraData?.RemoteWorkType === "upper" && u.ExtraData?.TLSClient === "" &&
          u.ExtraData?.RemoteStarted === false
        );
        assert(failed, `an unstarted insecure unit: ${JSON.stringify(units)}\n${r.out}${r.err}`);
        const st = await waitFor("insecure unit Failed", () => {
          const s = readUnitStatus(mesh.node("sub"), failed[0]);
          return s?.State === 3 ? s : null;
        }, 20000);
        assertStringIncludes(st.Detail, "TLS error connecting to remote service:");
        assertStringIncludes(st.Detail, "CRYPTO_ERROR");
        // Nothing new ran on exec: only the two TLS submits above.
        assertEquals(Object.keys(await ctlJson(mesh.node("exec").socket, "work list")).length, 2);
      });
    } finally {
      await mesh.stop();
      await Deno.remove(certs, { recursive: true }).catch(() => {});
    }
  },
});
