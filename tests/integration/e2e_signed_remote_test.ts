/**
 * End to end: signed remote work across the mesh (control.md §7, checklist 79, 80). Real
 * processes: `sub` (work-signing with an openssl RSA key, tokenexpiration 1m) – `mid` – `exec`
 * (work-verification with the matching public key; `signed` has `verifysignature: true`), and
 * `other` (also behind `mid`) verifying with a different public key. Driven by receptorctl:
 * - `work submit signed --node exec --signwork -l … -f` succeeds and prints the output;
 * - without `--signwork` the executor refuses: `could not verify signature: signature is empty`;
 * - `--signwork` towards `other` is refused: `crypto/rsa: verification error`.
 * @module
 */
import { receptorctl } from "../helpers/peers.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { ctlJson, workYaml } from "../helpers/mesh.ts";
import { openssl } from "../helpers/tls.ts";
import { meshLogs, readUnitStatus, runTool, startE2eMesh, type ToolResult } from "./e2e_helpers.ts";

/** An RSA key pair: `<base>.key` (PKCS#8, as OpenSSL 3 writes it) and `<base>.pub` (SPKI). */
async function rsaPair(base: string): Promise<void> {
  await openssl(["genrsa", "-out", `${base}.key`, "2048"]);
  await openssl(["rsa", "-in", `${base}.key`, "-pubout", "-out", `${base}.pub`]);
}

const SIGNED_TYPE = workYaml({
  worktype: "signed",
  command: "cat",
  more: [`    verifysignature: true`],
});

Deno.test({
  name: "e2e signed remote work: --signwork accepted; unsigned and wrong-key refused",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const keys = await Deno.makeTempDir({ prefix: "receptor-e2e-keys-" });
    await Promise.all([rsaPair(`${keys}/good`), rsaPair(`${keys}/bad`)]);
    const mesh = await startE2eMesh({
      nodes: ["exec", "other", "mid", "sub"],
      edges: [["mid", "exec"], ["mid", "other"], ["sub", "mid"]],
      extraYaml: (id) => {
        switch (id) {
          case "sub":
            return [
              `- work-signing:`,
              `    privatekey: ${keys}/good.key`,
              `    tokenexpiration: 1m`,
              ``,
            ].join("\n");
          case "exec":
            return `- work-verification:\n    publickey: ${keys}/good.pub\n` + SIGNED_TYPE;
          case "other":
            return `- work-verification:\n    publickey: ${keys}/bad.pub\n` + SIGNED_TYPE;
          default:
            return "";
        }
      },
    });
    const sock = mesh.node("sub").socket;
    const ctl = (args: string[]): Promise<ToolResult> =>
      runTool(receptorctl(), ["--socket", sock, ...args], undefined, 60000);
    try {
      await t.step("--signwork to exec: accepted, output followed", async () => {
        const r = await ctl([
          "work",
          "submit",
          "signed",
          "--node",
          "exec",
          "--signwork",
          "-l",
          "signed payload",
          "-f",
        ]);
        assertEquals(r.code, 0, `exit code: ${r.out}${r.err}\n${meshLogs(mesh)}`);
        assertEquals(r.out, "signed payload\n");
        // The unit records SignWork and the executor ran it.
        const units = await ctlJson<Record<string, { ExtraData: Record<string, unknown> }>>(
          sock,
          "work list",
        );
        const signed = Object.entries(units).find(([, u]) => u.ExtraData?.SignWork === true);
        assert(signed, `a SignWork unit on sub: ${JSON.stringify(units)}`);
        const remoteId = signed[1].ExtraData.RemoteUnitID as string;
        const st = await waitFor(
          "executor unit done",
          () => readUnitStatus(mesh.node("exec"), remoteId),
          10000,
        );
        assertEquals(st.State, 2);
        assertEquals(st.Detail, "exit status 0");
      });

      await t.step("without --signwork: signature is empty", async () => {
        const r = await ctl(["work", "submit", "signed", "--node", "exec", "-l", "x"]);
        assert(r.code !== 0, `refused: ${r.out}${r.err}`);
        assertStringIncludes(
          r.out + r.err,
          "ERROR: could not parse response: ERROR: could not verify signature: signature is empty",
        );
      });

      await t.step("--signwork to a node with another public key: verification error", async () => {
        const r = await ctl([
          "work",
          "submit",
          "signed",
          "--node",
          "other",
          "--signwork",
          "-l",
          "x",
        ]);
        assert(r.code !== 0, `refused: ${r.out}${r.err}`);
        assertStringIncludes(
          r.out + r.err,
          "could not verify signature: crypto/rsa: verification error",
        );
        // Nothing ran there.
        const l = await ctlJson(mesh.node("other").socket, "work list");
        assertEquals(l, {});
      });
    } finally {
      await mesh.stop();
      await Deno.remove(keys, { recursive: true }).catch(() => {});
    }
  },
});
