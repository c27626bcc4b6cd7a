/**
 * Listeners survive running out of file descriptors: a node started with a low `ulimit -n`
 * is flooded with connections on its control socket and its tcp-listener until accept fails
 * (EMFILE); once the flood is gone, both must accept again (a control banner, a mesh peer).
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { CtlConn, ctlStatus, meshNodeYaml } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { receptorCommand, startNode, stopAll } from "../helpers/node_process.ts";

Deno.test("listeners keep accepting after EMFILE (control socket and tcp-listener)", async () => {
  const dir = await tempDir("receptor-emfile-");
  const sock = `${dir}/emf.sock`;
  const port = freePort();
  await Deno.writeTextFile(`${dir}/emf.yaml`, meshNodeYaml("emf", port, [], sock));
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n 80 && exec "$@"',
      "sh",
      ...receptorCommand(),
      "node",
      "-c",
      `${dir}/emf.yaml`,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const log: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s.pipeThrough(new TextDecoderStream())) log.push(c);
  };
  const pumps = [pump(child.stdout), pump(child.stderr)];
  const flood: Deno.Conn[] = [];
  const peers = [];
  try {
    await waitFor("emf answers", async () => (await ctlStatus(sock)).NodeID === "emf");
    for (let i = 0; i < 60; i++) {
      flood.push(await Deno.connect({ transport: "unix", path: sock }));
      flood.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    await waitFor("accept failures logged", () => /Too many open files/.test(log.join("")), 10000);
    for (const c of flood.splice(0)) c.close();

    await waitFor(
      "control socket accepts again",
      async () => {
        const c = await CtlConn.open(sock);
        c.close();
        return c.banner === "Receptor Control, node emf";
      },
      15000,
      200,
    );
    const peer = await startNode(
      "emfpeer",
      (_d, s) => meshNodeYaml("emfpeer", freePort(), [port], s),
    );
    peers.push(peer);
    await waitFor(
      "a peer connects to the tcp-listener again",
      async () => {
        const s = await ctlStatus(sock);
        return s.Connections.some((c) => c.NodeID === "emfpeer");
      },
      20000,
      200,
    );
    const st = await ctlStatus(peer.socket);
    assertEquals(st.RoutingTable.emf, "emf");
    assert(!/Uncaught/.test(log.join("")), log.join(""));
  } finally {
    for (const c of flood) c.close();
    await stopAll(peers);
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Promise.all(pumps).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
