/**
 * The `examples/tls-mesh/` demo as shipped: `make-certs.sh` (our `receptor cert` only) makes
 * the CA and node certificates, the three example configs (with their ports and directory
 * moved to free ones) form a mutual-TLS mesh that converges, pings and traceroutes across two
 * hops, receptorctl reaches hop1's TLS control port with the operator certificate, work
 * submitted on controller runs on exec1, and controller's firewall rule keeps hop1 away from
 * controller's control service.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { CtlConn, ctlJson, ctlStatus, type PingReply } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, receptorCommand, startNode, stopAll } from "../helpers/node_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const EXAMPLE = `${ROOT}examples/tls-mesh`;

function receptorctlPath(): string | null {
  const dirs = [`${ROOT}.venv/bin`, ...(Deno.env.get("PATH") ?? "").split(":")];
  for (const d of dirs) {
    try {
      if (d && Deno.statSync(`${d}/receptorctl`).isFile) return `${d}/receptorctl`;
    } catch { /* next */ }
  }
  return null;
}

Deno.test("examples/tls-mesh: certificates from make-certs.sh, 3-node TLS mesh works", async () => {
  const dir = await tempDir("receptor-tls-example-");
  const nodes: NodeProcess[] = [];
  try {
    const made = await new Deno.Command("sh", {
      args: [`${EXAMPLE}/make-certs.sh`, `${dir}/certs`],
      env: { RECEPTOR: receptorCommand().join(" ") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const madeText = new TextDecoder().decode(made.stdout) +
      new TextDecoder().decode(made.stderr);
    assert(made.success, `make-certs.sh failed:\n${madeText}`);
    for (const f of ["ca", "controller", "hop1", "exec1", "operator"]) {
      Deno.statSync(`${dir}/certs/${f}.crt`);
    }

    const meshPort = String(freePort());
    const ctlPort = String(freePort());
    for (const id of ["hop1", "exec1", "controller"]) {
      const text = Deno.readTextFileSync(`${EXAMPLE}/${id}.yaml`)
        .replaceAll("/tmp/receptor-tls-example", dir)
        .replaceAll("27299", meshPort)
        .replaceAll("27300", ctlPort);
      nodes.push(await startNode(id, () => text, { dir }));
    }
    const [hop1, exec1, controller] = nodes;
    await waitFor(
      "controller routes to exec1 via hop1",
      async () => {
        const s = await ctlStatus(controller.socket);
        return s.RoutingTable.exec1 === "hop1" && (await ctlStatus(exec1.socket)).RoutingTable
              .controller === "hop1";
      },
      30000,
      200,
    ).catch((e) => {
      throw new Error(`${e}\n${nodes.map((n) => n.logText()).join("\n---\n")}`);
    });

    const p = await ctlJson<PingReply>(controller.socket, "ping exec1", 20000);
    assert(p.Success && p.From === "exec1", JSON.stringify(p));
    const tr = await ctlJson<Record<string, { From: string }>>(
      controller.socket,
      "traceroute exec1",
      30000,
    );
    assertEquals(Object.values(tr).map((h) => h.From), ["controller", "hop1", "exec1"]);
    const back = await ctlJson<PingReply>(hop1.socket, "ping controller", 20000);
    assert(back.Success, `the firewall only guards controller's control service: ${back.Error}`);

    const ctl = receptorctlPath();
    if (ctl) {
      const out = await new Deno.Command(ctl, {
        args: [
          "--socket",
          `tls://127.0.0.1:${ctlPort}`,
          "--rootcas",
          `${dir}/certs/ca.crt`,
          "--cert",
          `${dir}/certs/operator.crt`,
          "--key",
          `${dir}/certs/operator.key`,
          "status",
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert(out.success, text + new TextDecoder().decode(out.stderr));
      const st = JSON.parse(text);
      assertEquals(st.NodeID, "hop1");
      assertEquals(Object.keys(st.KnownConnectionCosts).sort(), ["controller", "exec1", "hop1"]);
    }
    // controller's firewall: hop1 cannot reach controller's control service over the mesh,
    // while exec1's is reachable.
    const toExec = await CtlConn.open(hop1.socket);
    try {
      assertEquals(await toExec.command("connect exec1 control", 30000), "Connecting");
      assert(/node exec1/.test((await toExec.readLine(20000)) ?? ""), "exec1 banner");
    } finally {
      toExec.close();
    }
    const toCtrl = await CtlConn.open(hop1.socket);
    try {
      const r = await toCtrl.command("connect controller control", 40000);
      assert(r.startsWith("ERROR:") && /timeout/i.test(r), r);
    } finally {
      toCtrl.close();
    }

    // Work submitted on controller runs on exec1, two TLS hops away.
    if (ctl) {
      const out = await new Deno.Command(ctl, {
        args: [
          "--socket",
          controller.socket,
          "work",
          "submit",
          "upper",
          "--node",
          "exec1",
          "-l",
          "hello over tls",
          "-f",
          "--rm",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert(out.success, text + new TextDecoder().decode(out.stderr));
      assert(text.includes("HELLO OVER TLS"), text);
    }
    for (const n of nodes) {
      assert(!/rejected connection|TLS handshake/.test(n.logText()), `${n.name}:\n${n.logText()}`);
    }
  } finally {
    await stopAll(nodes);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
