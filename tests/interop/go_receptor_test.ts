/**
 * Mixed mesh with a real Go receptor node (wire.md: "a Go receptor node and ours in one mesh,
 * routing and running each other's work"). Opt-in: set RECEPTOR_GO_BINARY to a Go receptor
 * executable you built yourself; this project ships nothing that builds it. Without the
 * variable the test is reported as ignored, not passed.
 *
 * Mesh: tsa (ours, listener) ← gob (Go) ← tsc (ours). Checks routing both ways, 2-hop ping
 * through the Go node, and remote work ours→Go, Go→ours, and ours→ours through Go (which
 * exercises our QUIC/TLS against quic-go in both roles).
 */
import { workYaml } from "../helpers/mesh.ts";
import { goReceptorBinary, goReceptorTestName } from "../helpers/peers.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { NodeProcess, runReceptor, startNode, stopAll } from "../helpers/node_process.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import { submitWork, workResults, workStatus } from "../../src/ctl/work_client.ts";

const GO = goReceptorBinary();

async function results(sock: string, unit: string): Promise<string> {
  let out = "";
  for await (const c of await workResults(await ReceptorClient.connect(sock), unit)) {
    out += new TextDecoder().decode(c);
  }
  return out;
}

async function runRemote(sock: string, node: string, worktype: string, text: string) {
  const sub = await submitWork(await ReceptorClient.connect(sock), worktype, text, { node });
  await waitFor(`unit ${sub.unitid} on ${node} to finish`, async () => {
    const c = await ReceptorClient.connect(sock);
    try {
      const st = await workStatus(c, sub.unitid);
      if (st.State === 3) throw new Error(`failed: ${st.Detail}`);
      return st.State === 2;
    } finally {
      c.close();
    }
  }, 30000);
  return await results(sock, sub.unitid);
}

Deno.test({
  name: goReceptorTestName("interop: Go receptor node in our mesh routes and runs work both ways"),
  ignore: !GO,
  async fn() {
    const dir = await tempDir("receptor-go-");
    const pa = freePort(), pb = freePort();
    const goSock = `${dir}/gob.sock`;
    let tsa: NodeProcess | undefined, tsc: NodeProcess | undefined;
    let gob: Deno.ChildProcess | undefined;
    try {
      tsa = await startNode(
        "tsa",
        (d, s) =>
          `- node:\n    id: tsa\n    datadir: ${d}\n- tcp-listener:\n    port: ${pa}\n    bindaddr: 127.0.0.1\n` +
          `- control-service:\n    filename: ${s}\n`,
      );
      await Deno.writeTextFile(
        `${dir}/gob.yaml`,
        `- node:\n    id: gob\n    datadir: ${dir}\n- tcp-peer:\n    address: 127.0.0.1:${pa}\n` +
          `- tcp-listener:\n    port: ${pb}\n    bindaddr: 127.0.0.1\n- control-service:\n    filename: ${goSock}\n` +
          `- work-command:\n    worktype: goupper\n    command: tr\n    params: a-z A-Z\n`,
      );
      gob = new Deno.Command(GO!, {
        args: ["-c", `${dir}/gob.yaml`],
        stdout: "null",
        stderr: "null",
      })
        .spawn();
      tsc = await startNode(
        "tsc",
        (d, s) =>
          `- node:\n    id: tsc\n    datadir: ${d}\n- tcp-peer:\n    address: 127.0.0.1:${pb}\n` +
          `- control-service:\n    filename: ${s}\n` +
          workYaml("upper"),
      );
      for (const sock of [tsa.socket, goSock]) {
        await waitFor(`${sock} to see all work types`, async () => {
          const c = await ReceptorClient.connect(sock);
          const s = await c.status();
          c.close();
          const ads = s.Advertisements as { NodeID: string; WorkCommands: unknown[] | null }[];
          return ["gob", "tsc"].every((n) => ads.some((a) => a.NodeID === n && a.WorkCommands));
        }, 30000);
      }
      const c = await ReceptorClient.connect(tsa.socket);
      const ping = await c.ping("tsc");
      c.close();
      assert(ping.Success, `ping through the Go node: ${ping.Error}`);
      assertEquals(ping.From, "tsc");
      assertEquals(await runRemote(tsa.socket, "gob", "goupper", "ours to go"), "OURS TO GO");
      assertEquals(await runRemote(goSock, "tsc", "upper", "go to ours"), "GO TO OURS");
      assertStringIncludes(await runRemote(tsa.socket, "tsc", "upper", "via go"), "VIA GO");
    } finally {
      gob?.kill("SIGTERM");
      await gob?.status;
      await stopAll([tsa, tsc]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: goReceptorTestName(
    "interop: TLS mesh with a Go receptor node, certificates made by `receptor cert`",
  ),
  ignore: !GO,
  async fn() {
    const dir = await tempDir("receptor-go-tls-");
    const port = freePort();
    const goSock = `${dir}/gonode.sock`;
    let ts: NodeProcess | undefined;
    let go: Deno.ChildProcess | undefined;
    const cert = async (...args: string[]) => {
      const r = await runReceptor(["cert", ...args], { cwd: dir });
      assertEquals(r.code, 0, `receptor cert ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    };
    const tlsYaml = (id: string) =>
      `- tls-server:\n    name: srv\n    cert: ${dir}/${id}.crt\n    key: ${dir}/${id}.key\n` +
      `    clientcas: ${dir}/ca.crt\n    requireclientcert: true\n` +
      `- tls-client:\n    name: cli\n    cert: ${dir}/${id}.crt\n    key: ${dir}/${id}.key\n` +
      `    rootcas: ${dir}/ca.crt\n`;
    try {
      await cert(
        "init",
        "--commonname",
        "Mesh CA",
        "--bits",
        "2048",
        "--outcert",
        "ca.crt",
        "--outkey",
        "ca.key",
      );
      for (const id of ["gonode", "tsnode"]) {
        await cert(
          "makereq",
          "--bits",
          "2048",
          "--commonname",
          id,
          "--nodeid",
          id,
          "--ipaddress",
          "127.0.0.1",
          "--outreq",
          `${id}.csr`,
          "--outkey",
          `${id}.key`,
        );
        await cert(
          "signreq",
          "--req",
          `${id}.csr`,
          "--cacert",
          "ca.crt",
          "--cakey",
          "ca.key",
          "--outcert",
          `${id}.crt`,
          "--verify",
        );
      }
      await Deno.writeTextFile(
        `${dir}/gonode.yaml`,
        `- node:\n    id: gonode\n    datadir: ${dir}\n` + tlsYaml("gonode") +
          `- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1\n    tls: srv\n` +
          `- control-service:\n    filename: ${goSock}\n    tls: srv\n` +
          `- work-command:\n    worktype: goupper\n    command: tr\n    params: a-z A-Z\n`,
      );
      go = new Deno.Command(GO!, {
        args: ["-c", `${dir}/gonode.yaml`],
        stdout: "null",
        stderr: "null",
      })
        .spawn();
      ts = await startNode(
        "tsnode",
        (d, s) =>
          `- node:\n    id: tsnode\n    datadir: ${d}\n` + tlsYaml("tsnode") +
          `- tcp-peer:\n    address: 127.0.0.1:${port}\n    tls: cli\n` +
          `- control-service:\n    filename: ${s}\n    tls: srv\n` +
          workYaml("upper"),
      );
      for (const sock of [ts.socket, goSock]) {
        await waitFor(`${sock} to see both control services as StreamTLS`, async () => {
          const c = await ReceptorClient.connect(sock);
          const s = await c.status();
          c.close();
          const ads = s.Advertisements as { NodeID: string; ConnType: number }[];
          return ["gonode", "tsnode"].every((n) =>
            ads.some((a) => a.NodeID === n && a.ConnType === 2)
          );
        }, 30000);
      }
      const remote = async (sock: string, node: string, worktype: string, text: string) => {
        const sub = await submitWork(await ReceptorClient.connect(sock), worktype, text, {
          node,
          tlsclient: "cli",
        });
        await waitFor(`unit ${sub.unitid} to finish`, async () => {
          const c = await ReceptorClient.connect(sock);
          try {
            const st = await workStatus(c, sub.unitid);
            if (st.State === 3) throw new Error(`failed: ${st.Detail}`);
            return st.State === 2;
          } finally {
            c.close();
          }
        }, 30000);
        return await results(sock, sub.unitid);
      };
      assertEquals(await remote(ts.socket, "gonode", "goupper", "ours to go"), "OURS TO GO");
      assertEquals(await remote(goSock, "tsnode", "upper", "go to ours"), "GO TO OURS");
    } finally {
      go?.kill("SIGTERM");
      await go?.status;
      await stopAll([ts]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
