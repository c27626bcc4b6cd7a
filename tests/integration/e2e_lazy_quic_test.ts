/**
 * QUIC and TLS load only when the first stream is needed (issue 11): two real node processes
 * A–B (the bundle when built) that have converged, advertised their control services and sat
 * idle have not loaded the stream layer (their debug logs say when a listener loads it); the
 * first stream to A's mesh control service — from our node B, and (opt-in, with
 * RECEPTOR_GO_BINARY) from a Go receptor node — is answered, and only then has A loaded it.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type NodeProcess, runReceptor, startNode, stopAll } from "../helpers/node_process.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { ctlStatus } from "../helpers/mesh.ts";
import { goReceptorBinary, goReceptorTestName } from "../helpers/peers.ts";
import { meshLogs, startE2eMesh } from "./e2e_helpers.ts";

/** Logged (debug) once by whatever loads the stream layer first. */
const LOADING = /loading the stream layer \(QUIC, TLS\)/;
const FOR_LISTENER = /loading the stream layer \(QUIC, TLS\): first datagram for control/;
const UP = /stream listener control: QUIC up/;

/** `status` through `connect NODE control` on `socket`; returns the remote status. */
async function remoteStatus(socket: string, node: string): Promise<Record<string, unknown>> {
  const r = await runReceptor(["ctl", "--socket", socket, "connect", node, "control"], {
    stdin: "status\n",
  });
  assertEquals(r.code, 0, `ctl connect ${node} control exit code; stderr: ${r.stderr}`);
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  assertEquals(lines[0], `Receptor Control, node ${node}`, `banner; stdout: ${r.stdout}`);
  return JSON.parse(lines[1]);
}

Deno.test({
  name: "lazy QUIC: an idle node has not loaded QUIC; its first stream loads it and works",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const mesh = await startE2eMesh({ nodes: ["A", "B"], edges: [["B", "A"]], logLevel: "debug" });
    try {
      const a = mesh.node("A").proc;
      // B sees A's control service advertised (the ad is sent without QUIC)
      await waitFor(
        "A's control service advertised to B",
        async () => {
          const s = await ctlStatus(mesh.node("B").socket);
          return s.Advertisements.some((ad) => ad.NodeID === "A" && ad.Service === "control");
        },
        20000,
        100,
      );
      for (const id of ["A", "B"]) {
        const log = mesh.node(id).proc.logText();
        assert(!LOADING.test(log), `${id} loaded QUIC while idle:\n${log}`);
      }
      const st = await remoteStatus(mesh.node("B").socket, "A");
      assertEquals(st.NodeID, "A");
      assert(FOR_LISTENER.test(a.logText()), `A logged loading QUIC:\n${meshLogs(mesh)}`);
      await a.waitForLog(UP, 5000);
      // the loaded listener keeps serving
      assertEquals((await remoteStatus(mesh.node("B").socket, "A")).NodeID, "A");
      assertEquals(a.logText().split("\n").filter((l) => LOADING.test(l)).length, 1);
    } finally {
      await mesh.stop();
    }
  },
});

const GO = goReceptorBinary();

Deno.test({
  name: goReceptorTestName("lazy QUIC: the first stream from a Go receptor node loads it"),
  ignore: !GO,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await tempDir("receptor-lazy-go-");
    const port = freePort();
    let a: NodeProcess | undefined;
    let gob: Deno.ChildProcess | undefined;
    try {
      a = await startNode("A", (d, s) =>
        [
          `- node:\n    id: A\n    datadir: ${d}`,
          `- log-level:\n    level: debug`,
          `- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1`,
          `- control-service:\n    service: control\n    filename: ${s}`,
          ``,
        ].join("\n"), { dir });
      const goSock = `${dir}/gob.sock`;
      await Deno.mkdir(`${dir}/go`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/gob.yaml`,
        [
          `- node:\n    id: gob\n    datadir: ${dir}/go`,
          `- tcp-peer:\n    address: 127.0.0.1:${port}`,
          `- control-service:\n    filename: ${goSock}`,
          ``,
        ].join("\n"),
      );
      gob = new Deno.Command(GO!, {
        args: ["-c", `${dir}/gob.yaml`],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor(
        "Go node routes to A",
        async () => {
          const s = await ctlStatus(goSock).catch(() => null);
          return s && "A" in (s.RoutingTable ?? {});
        },
        30000,
        200,
      );
      assert(!LOADING.test(a.logText()), `A loaded QUIC while idle:\n${a.logText()}`);
      const st = await remoteStatus(goSock, "A");
      assertEquals(st.NodeID, "A");
      await a.waitForLog(UP, 5000);
    } finally {
      try {
        gob?.kill("SIGTERM");
        await gob?.status;
      } catch { /* gone */ }
      await stopAll([a]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
