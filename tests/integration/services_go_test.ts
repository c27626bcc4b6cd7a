/**
 * Service proxies between our node and a real Go receptor node, both directions. Opt-in: set
 * RECEPTOR_GO_BINARY to a Go receptor executable you built yourself (else the test is
 * reported as ignored).
 *
 * Go `gob` dials our `tsa`. Ours → Go: our tcp-server / udp-server reach Go's tcp-client /
 * udp-client in front of local echo servers. Go → ours: Go's tcp-server reaches our
 * tcp-client (echo) and our command-service (`cat`), Go's unix-socket-server our
 * unix-socket-client. Each stream carries 256 KiB byte-exact; Go's ads have our types.
 * @module
 */
import { GO_OWN_ADS_WAIT_MS, goReceptorBinary, goReceptorTestName } from "../helpers/peers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, freeUdpPort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { ctlStatus } from "../helpers/mesh.ts";
import {
  echoServer,
  patternBytes,
  readToEnd,
  sha256,
  udpEchoServer,
  writeAll,
} from "./services_helpers.ts";

const GO = goReceptorBinary();

/**
 * Send `data` and read the reply until `data.length` bytes came back (Go's bridge does not
 * pass half-closes on, so the reply cannot be read to end of stream).
 */
async function exchange(conn: Deno.Conn, data: Uint8Array): Promise<Uint8Array> {
  const out = new Uint8Array(data.length);
  let got = 0;
  const reading = (async () => {
    const deadline = Date.now() + 30000;
    while (got < data.length && Date.now() < deadline) {
      const n = await conn.read(out.subarray(got));
      if (n === null) break;
      got += n;
    }
  })();
  await writeAll(conn, data);
  await reading;
  conn.close();
  return out.subarray(0, got);
}

Deno.test({
  name: goReceptorTestName(
    "services interop: proxies between our node and a Go receptor node, both ways",
  ),
  ignore: !GO,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await tempDir("receptor-svc-go-");
    const echo = echoServer();
    const uecho = udpEchoServer();
    const unixEcho = echoServer(`${dir}/echo.sock`);
    const meshPort = freePort();
    const [oursToGo, goToOurs, goToCat, udpPort] = [
      freePort(),
      freePort(),
      freePort(),
      freeUdpPort(),
    ];
    const goSock = `${dir}/gob.sock`;
    const goUnix = `${dir}/go-proxy.sock`;
    let tsa: NodeProcess | undefined;
    let gob: Deno.ChildProcess | undefined;
    try {
      tsa = await startNode("tsa", (d, s) =>
        [
          `- node:\n    id: tsa\n    datadir: ${d}`,
          `- tcp-listener:\n    port: ${meshPort}\n    bindaddr: 127.0.0.1`,
          `- control-service:\n    filename: ${s}`,
          `- tcp-server:\n    port: ${oursToGo}\n    bindaddr: 127.0.0.1\n    remotenode: gob\n    remoteservice: gecho`,
          `- udp-server:\n    port: ${udpPort}\n    bindaddr: 127.0.0.1\n    remotenode: gob\n    remoteservice: guecho`,
          `- tcp-client:\n    service: techo\n    address: 127.0.0.1:${echo.port}`,
          `- unix-socket-client:\n    service: uxecho\n    filename: ${unixEcho.path}`,
          `- command-service:\n    service: cat\n    command: cat`,
          ``,
        ].join("\n"), { dir: `${dir}` });
      await Deno.writeTextFile(
        `${dir}/gob.yaml`,
        [
          `- node:\n    id: gob\n    datadir: ${dir}/go`,
          `- tcp-peer:\n    address: 127.0.0.1:${meshPort}`,
          `- control-service:\n    filename: ${goSock}`,
          `- tcp-client:\n    service: gecho\n    address: 127.0.0.1:${echo.port}`,
          `- udp-client:\n    service: guecho\n    address: 127.0.0.1:${uecho.port}`,
          `- tcp-server:\n    port: ${goToOurs}\n    bindaddr: 127.0.0.1\n    remotenode: tsa\n    remoteservice: techo`,
          `- tcp-server:\n    port: ${goToCat}\n    bindaddr: 127.0.0.1\n    remotenode: tsa\n    remoteservice: cat`,
          `- unix-socket-server:\n    filename: ${goUnix}\n    remotenode: tsa\n    remoteservice: uxecho`,
          ``,
        ].join("\n"),
      );
      await Deno.mkdir(`${dir}/go`, { recursive: true });
      gob = new Deno.Command(GO!, {
        args: ["-c", `${dir}/gob.yaml`],
        stdout: "null",
        stderr: "null",
      }).spawn();

      const ads = await waitFor(
        "Go's proxy ads on our node",
        async () => {
          const s = await ctlStatus(tsa!.socket);
          const g = s.Advertisements.filter((a) => a.NodeID === "gob");
          return g.some((a) => a.Service === "gecho") && g.some((a) => a.Service === "guecho")
            ? g
            : null;
        },
        GO_OWN_ADS_WAIT_MS, // Go's first ad round may be lost: then its 60 s round
        200,
      );
      const gecho = ads.find((a) => a.Service === "gecho")!;
      assertEquals(gecho.Tags, { type: "TCP Proxy", address: `127.0.0.1:${echo.port}` });
      assertEquals(ads.find((a) => a.Service === "guecho")!.ConnType, 0);
      await waitFor(
        "our ads on the Go node",
        async () => {
          const s = await ctlStatus(goSock);
          return s.Advertisements.some((a) => a.NodeID === "tsa" && a.Service === "techo");
        },
        30000,
        200,
      );

      const data = patternBytes(256 * 1024, 11);
      const viaGo = await exchange(
        await Deno.connect({ hostname: "127.0.0.1", port: oursToGo }),
        data,
      );
      assertEquals(sha256(viaGo), sha256(data), "our tcp-server → Go tcp-client");
      const fromGo = await exchange(
        await Deno.connect({ hostname: "127.0.0.1", port: goToOurs }),
        data,
      );
      assertEquals(sha256(fromGo), sha256(data), "Go tcp-server → our tcp-client");
      await waitFor("Go's unix socket", () => Deno.stat(goUnix).then(() => true), 10000);
      const unixFromGo = await exchange(
        await Deno.connect({ transport: "unix", path: goUnix }),
        data,
      );
      assertEquals(sha256(unixFromGo), sha256(data), "Go unix-socket-server → ours");
      const cat = await exchange(
        await Deno.connect({ hostname: "127.0.0.1", port: goToCat }),
        new TextEncoder().encode("meow\n"),
      );
      assertEquals(new TextDecoder().decode(cat), "meow\n", "Go tcp-server → our command");

      // Our half-close reaches the Go side: Go's bridge closes the echo connection, the
      // echo server half-closes back, and we read to end of stream.
      const hc = await Deno.connect({ hostname: "127.0.0.1", port: oursToGo });
      await writeAll(hc, new TextEncoder().encode("bye"));
      await hc.closeWrite();
      const tail = await readToEnd(hc, 30000);
      hc.close();
      assert(tail.length <= 3, "nothing but our own bytes back");

      const uc = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      try {
        const dest: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: udpPort };
        let back = "";
        const reader = (async () => {
          const [d] = await uc.receive();
          back = new TextDecoder().decode(d);
        })();
        await waitFor(
          "a UDP echo through Go",
          async () => {
            if (back) return true;
            await uc.send(new TextEncoder().encode("ping over go"), dest);
            await new Promise((r) => setTimeout(r, 300));
            return back !== "";
          },
          20000,
          10,
        );
        await reader;
        assertEquals(back, "ping over go");
      } finally {
        uc.close();
      }
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.stack : e}\n${tsa?.logText() ?? ""}`);
    } finally {
      gob?.kill("SIGTERM");
      await gob?.status;
      await stopAll([tsa]);
      echo.close();
      uecho.close();
      unixEcho.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
