/**
 * The `examples/tcp-proxy/` demo as shipped (ports and directory moved to free ones): the web
 * node offers a local web server (hello_server.ts) as mesh service `http`; the gateway node
 * exposes it on a TCP port and a Unix socket; an HTTP request through either reaches the web
 * server, and the `uptime` command service answers through the gateway.
 * @module
 */
import { assert, assertStringIncludes } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { readToEnd, writeAll } from "./services_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const EXAMPLE = `${ROOT}examples/tcp-proxy`;

async function httpGet(conn: Deno.Conn, path: string): Promise<string> {
  await writeAll(
    conn,
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  const text = new TextDecoder().decode(await readToEnd(conn, 20000));
  conn.close();
  return text;
}

Deno.test({
  name: "examples/tcp-proxy: a web server on one node reached through another node's port",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir("receptor-tcp-proxy-example-");
    const ports: Record<string, string> = {
      "27399": String(freePort()),
      "27480": String(freePort()),
      "27481": String(freePort()),
      "27482": String(freePort()),
    };
    const web = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", `${EXAMPLE}/hello_server.ts`, ports["27480"]],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const nodes: NodeProcess[] = [];
    try {
      for (const id of ["web", "gateway"]) {
        let text = Deno.readTextFileSync(`${EXAMPLE}/${id}.yaml`)
          .replaceAll("/tmp/receptor-tcp-proxy-example", dir);
        for (const [from, to] of Object.entries(ports)) text = text.replaceAll(from, to);
        nodes.push(await startNode(id, () => text, { dir }));
      }
      const proxyPort = Number(ports["27481"]);
      const page = await waitFor(
        "a page through the gateway",
        async () => {
          const t = await httpGet(
            await Deno.connect({ hostname: "127.0.0.1", port: proxyPort }),
            "/a",
          );
          return t.includes("200 OK") ? t : null;
        },
        30000,
        500,
      );
      assertStringIncludes(page, "hello from the web node (you asked for /a)");

      const viaUnix = await httpGet(
        await Deno.connect({ transport: "unix", path: `${dir}/http.sock` }),
        "/unix",
      );
      assertStringIncludes(viaUnix, "you asked for /unix");

      const up = await Deno.connect({ hostname: "127.0.0.1", port: Number(ports["27482"]) });
      const uptime = new TextDecoder().decode(await readToEnd(up, 15000));
      up.close();
      assert(/load average/.test(uptime), `uptime output: ${JSON.stringify(uptime)}`);
    } catch (e) {
      throw new Error(
        `${e instanceof Error ? e.stack : e}\n${nodes.map((n) => n.logText()).join("\n")}`,
      );
    } finally {
      await stopAll(nodes);
      try {
        web.kill("SIGTERM");
      } catch { /* gone */ }
      await web.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
