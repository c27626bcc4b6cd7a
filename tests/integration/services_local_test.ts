/**
 * Service proxies on a single node process with `remotenode: localhost`: a tcp-server reaches
 * the node's own tcp-client; a command-service whose process exits on its own ends the
 * session (output delivered, then end of stream) without the client half-closing; stopping
 * the node frees the TCP port and removes the Unix socket it created.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { startNode, stopAll } from "../helpers/node_process.ts";
import { freePort } from "../helpers/net.ts";
import { echoServer, patternBytes, readToEnd, roundTrip, sha256 } from "./services_helpers.ts";

Deno.test({
  name: "services: localhost targets, a command that exits first, clean shutdown",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const echo = echoServer();
    const [pEcho, pCmd] = [freePort(), freePort()];
    let sockPath = "";
    const node = await startNode("solo", (dir, socket) => {
      sockPath = `${dir}/proxy.sock`;
      return [
        `- node:`,
        `    id: solo`,
        `- tcp-listener:`,
        `    port: ${freePort()}`,
        `    bindaddr: 127.0.0.1`,
        `- control-service:`,
        `    filename: ${socket}`,
        `- tcp-client:`,
        `    service: echo`,
        `    address: 127.0.0.1:${echo.port}`,
        `- tcp-server:`,
        `    port: ${pEcho}`,
        `    bindaddr: 127.0.0.1`,
        `    remotenode: localhost`,
        `    remoteservice: echo`,
        `- command-service:`,
        `    service: hello`,
        `    command: sh -c 'echo "hello, $0"; echo oops >&2' world`,
        `- tcp-server:`,
        `    port: ${pCmd}`,
        `    bindaddr: 127.0.0.1`,
        `    remotenode: LocalHost`,
        `    remoteservice: hello`,
        `- unix-socket-server:`,
        `    filename: ${dir}/proxy.sock`,
        `    permissions: 0660`,
        `    remotenode: localhost`,
        `    remoteservice: echo`,
        ``,
      ].join("\n");
    });
    try {
      const data = patternBytes(300_000, 3);
      const r = await roundTrip(await Deno.connect({ hostname: "127.0.0.1", port: pEcho }), data);
      assertEquals(sha256(r), sha256(data), "tcp-server → localhost tcp-client echo");

      const st = await Deno.stat(sockPath);
      assertEquals(st.mode! & 0o777, 0o660, "permissions from the section");
      const ur = await roundTrip(await Deno.connect({ transport: "unix", path: sockPath }), data);
      assertEquals(sha256(ur), sha256(data), "unix-socket-server → localhost echo");

      // The command's output (stdout and stderr) arrives, then end of stream, although this
      // client never half-closes.
      const c = await Deno.connect({ hostname: "127.0.0.1", port: pCmd });
      const out = new TextDecoder().decode(await readToEnd(c, 15000));
      c.close();
      assert(out.includes("hello, world\n"), `stdout: ${JSON.stringify(out)}`);
      assert(out.includes("oops\n"), `stderr: ${JSON.stringify(out)}`);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.stack : e}\n${node.logText()}`);
    } finally {
      await stopAll([node]);
      echo.close();
    }
    // After shutdown the ports are free again and the socket file is gone.
    const l = Deno.listen({ hostname: "127.0.0.1", port: pEcho });
    l.close();
    const gone = await Deno.stat(sockPath).then(() => false, () => true);
    assert(gone, "unix socket removed on shutdown");
  },
});
