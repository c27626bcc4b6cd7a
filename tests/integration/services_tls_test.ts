/**
 * TLS on both legs of the TCP proxies, with real node processes a - c:
 * client --TLS(localsrv, client cert required)--> a:tcp-server --mesh, tls-client naming c-->
 * c:tcp-client (tls-server, ConnType 2) --TLS(tls-client, DNS/IP check)--> TLS echo server.
 * Data arrives byte-exact; a tcp-server whose tls-client cannot verify the remote service
 * (an insecure listener) drops the connection without data.
 * @module
 */
import * as tls from "node:tls";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { makeCa, makeNodeCert, tlsClientYaml, tlsServerYaml } from "../helpers/tls.ts";
import { echoServer, patternBytes, sha256 } from "./services_helpers.ts";

/** A node:tls echo server (no client certificates) on loopback. */
function tlsEchoServer(cert: string, key: string): Promise<{ port: number; close(): void }> {
  const srv = tls.createServer({
    cert: Deno.readTextFileSync(cert),
    key: Deno.readTextFileSync(key),
    allowHalfOpen: true,
  }, (sock) => {
    sock.on("data", (d: Uint8Array) => sock.write(d));
    sock.on("end", () => sock.end());
    sock.on("error", () => {});
  });
  return new Promise((resolve) => {
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      resolve({ port, close: () => srv.close() });
    });
  });
}

/**
 * TLS client to `127.0.0.1:port` presenting `cert`, trusting `ca`: sends `data` and collects
 * the reply until `want` bytes arrived or the connection ended.
 */
function tlsExchange(
  port: number,
  c: { cert: string; key: string },
  ca: string,
  data: Uint8Array,
  want: number,
): Promise<{ reply: Uint8Array; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let got = 0;
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const reply = new Uint8Array(got);
      let o = 0;
      for (const ch of chunks) {
        reply.set(ch, o);
        o += ch.length;
      }
      resolve({ reply, error });
    };
    const sock = tls.connect({
      host: "127.0.0.1",
      port,
      cert: Deno.readTextFileSync(c.cert),
      key: Deno.readTextFileSync(c.key),
      ca: Deno.readTextFileSync(ca),
    }, () => sock.write(data));
    sock.on("data", (d: Uint8Array) => {
      chunks.push(new Uint8Array(d));
      got += d.length;
      if (got >= want) finish();
    });
    sock.on("end", () => finish());
    sock.on("close", () => finish());
    sock.on("error", (e: Error) => finish(e.message));
    const timer = setTimeout(() => finish("timeout"), 30000);
  });
}

Deno.test({
  name: "services: tcp proxies with TLS on the local and the mesh legs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const certDir = await Deno.makeTempDir({ prefix: "rsvc-tls-" });
    const ca = await makeCa(certDir);
    const certA = await makeNodeCert(certDir, ca, "a");
    const certC = await makeNodeCert(certDir, ca, "c");
    const user = await makeNodeCert(certDir, ca, "user");
    const target = await tlsEchoServer(certC.cert, certC.key);
    const plainEcho = echoServer();
    const port = freePort();
    const badPort = freePort();
    const extra = (id: string) => {
      if (id === "c") {
        return tlsServerYaml("meshsrv", certC, ca) + tlsClientYaml("tcpcli", certC, ca) + [
          `- tcp-client:`,
          `    service: secure`,
          `    address: 127.0.0.1:${target.port}`,
          `    tlsserver: meshsrv`,
          `    tlsclient: tcpcli`,
          `- tcp-client:`,
          `    service: plain`,
          `    address: 127.0.0.1:${plainEcho.port}`,
          ``,
        ].join("\n");
      }
      return tlsServerYaml("localsrv", certA, ca) + tlsClientYaml("meshcli", certA, ca) + [
        `- tcp-server:`,
        `    port: ${port}`,
        `    bindaddr: 127.0.0.1`,
        `    remotenode: c`,
        `    remoteservice: secure`,
        `    tlsserver: localsrv`,
        `    tlsclient: meshcli`,
        `- tcp-server:`,
        `    port: ${badPort}`,
        `    bindaddr: 127.0.0.1`,
        `    remotenode: c`,
        `    remoteservice: plain`,
        `    tlsclient: meshcli`,
        ``,
      ].join("\n");
    };
    const mesh = await startMesh({ nodes: ["a", "c"], edges: [["a", "c"]], extraYaml: extra });
    try {
      await mesh.waitConverged(["a", "c"], 30000);
      const ads = await waitFor("secure ad", async () => {
        const s = await mesh.status("c");
        return s.Advertisements.find((ad) => ad.Service === "secure");
      });
      assertEquals(ads.ConnType, 2, "a tls-server mesh service advertises ConnType 2");

      const data = patternBytes(300_000, 5);
      const r = await tlsExchange(port, user, ca.cert, data, data.length);
      assertEquals(r.error, undefined, `exchange error: ${r.error}`);
      assertEquals(r.reply.length, data.length);
      assertEquals(sha256(r.reply), sha256(data), "TLS → mesh TLS → TLS echo is byte-exact");

      // The mesh tls-client expects a certificate from our CA naming node c: an insecure
      // listener fails that check, so the local connection is closed without any data.
      const bad = await Deno.connect({ hostname: "127.0.0.1", port: badPort });
      await bad.write(new TextEncoder().encode("hello"));
      const buf = new Uint8Array(16);
      const n = await bad.read(buf).catch(() => null);
      assertEquals(n, null, "no data through a refused mesh TLS connection");
      bad.close();
      const log = mesh.node("a").proc.logText();
      assert(log.includes("Error connecting on Receptor network"), `log of a:\n${log}`);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.stack : e}\n${mesh.logs()}`);
    } finally {
      await mesh.stop();
      target.close();
      plainEcho.close();
      await Deno.remove(certDir, { recursive: true }).catch(() => {});
    }
  },
});
