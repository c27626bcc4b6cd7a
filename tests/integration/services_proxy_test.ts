/**
 * Service proxies across a 3-node line of real node processes (a - b - c): c offers
 * `tcp-client`, `unix-socket-client`, `udp-client` and `command-service` services in front of
 * local echo servers / `cat`; a exposes them through `tcp-server`, `unix-socket-server` and
 * `udp-server`. Proves byte-exact 1 MiB echoes (sha256), half-close both ways, datagram round
 * trips, the command service, and the advertisements (types, ConnType) in `status`.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { freePort, freeUdpPort, waitFor } from "../helpers/net.ts";
import {
  echoServer,
  greeterServer,
  patternBytes,
  readToEnd,
  roundTrip,
  sha256,
  udpEchoServer,
  writeAll,
} from "./services_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test({
  name: "services: tcp, unix, udp proxies and command-service across a 3-node line",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const tcpEcho = echoServer();
    const unixDir = await Deno.makeTempDir({ prefix: "rsvc-" });
    const unixEcho = echoServer(`${unixDir}/echo.sock`);
    const udpEcho = udpEchoServer();
    const greeting = patternBytes(70_000, 7);
    const greeter = greeterServer(greeting);
    const tcpPort = freePort();
    const greetPort = freePort();
    const catPort = freePort();
    const nonePort = freePort();
    const udpPort = freeUdpPort();
    const proxySock = `${unixDir}/proxy.sock`;
    const extra = (id: string) => {
      if (id === "c") {
        return [
          `- tcp-client:`,
          `    service: echo`,
          `    address: 127.0.0.1:${tcpEcho.port}`,
          `- tcp-client:`,
          `    service: greet`,
          `    address: 127.0.0.1:${greeter.port}`,
          `- unix-socket-client:`,
          `    service: uxecho`,
          `    filename: ${unixEcho.path}`,
          `- udp-client:`,
          `    service: udpecho`,
          `    address: 127.0.0.1:${udpEcho.port}`,
          `- command-service:`,
          `    service: cat`,
          `    command: cat`,
          ``,
        ].join("\n");
      }
      if (id === "a") {
        return [
          `- tcp-server:`,
          `    port: ${tcpPort}`,
          `    bindaddr: 127.0.0.1`,
          `    remotenode: c`,
          `    remoteservice: echo`,
          `- tcp-server:`,
          `    port: ${greetPort}`,
          `    bindaddr: 127.0.0.1`,
          `    remotenode: c`,
          `    remoteservice: greet`,
          `- tcp-server:`,
          `    port: ${catPort}`,
          `    bindaddr: 127.0.0.1`,
          `    remotenode: c`,
          `    remoteservice: cat`,
          `- unix-socket-server:`,
          `    filename: ${proxySock}`,
          `    remotenode: c`,
          `    remoteservice: uxecho`,
          `- tcp-server:`,
          `    port: ${nonePort}`,
          `    bindaddr: 127.0.0.1`,
          `    remotenode: c`,
          `    remoteservice: nosuch`,
          `- udp-server:`,
          `    port: ${udpPort}`,
          `    bindaddr: 127.0.0.1`,
          `    remotenode: c`,
          `    remoteservice: udpecho`,
          ``,
        ].join("\n");
      }
      return "";
    };
    const mesh = await startMesh({
      nodes: ["a", "b", "c"],
      edges: [["b", "a"], ["c", "b"]],
      extraYaml: extra,
    });
    try {
      await mesh.waitConverged(["a", "b", "c"], 30000);

      // c advertises its services with upstream's type tags and ConnTypes. (Checked on c:
      // another node may only see them after the next periodic re-advertisement.)
      const ads = await waitFor("c's service ads", async () => {
        const s = await mesh.status("c");
        const mine = s.Advertisements.filter((ad) => ad.NodeID === "c");
        return mine.length >= 6 ? mine : null;
      });
      const byService = Object.fromEntries(ads.map((ad) => [ad.Service as string, ad]));
      assertEquals(byService.echo.Tags, {
        type: "TCP Proxy",
        address: `127.0.0.1:${tcpEcho.port}`,
      });
      assertEquals(byService.echo.ConnType, 1);
      assertEquals(byService.uxecho.Tags, { type: "Unix Proxy", filename: unixEcho.path });
      assertEquals(byService.udpecho.Tags, {
        type: "UDP Proxy",
        address: `127.0.0.1:${udpEcho.port}`,
      });
      assertEquals(byService.udpecho.ConnType, 0);
      assertEquals(byService.cat.Tags, { type: "Command Service" });

      // 1 MiB through tcp-server (a) → mesh → tcp-client (c) → echo, byte-exact.
      const big = patternBytes(1 << 20, 42);
      const tcpReply = await roundTrip(
        await Deno.connect({ hostname: "127.0.0.1", port: tcpPort }),
        big,
      );
      assertEquals(tcpReply.length, big.length, "tcp echo length");
      assertEquals(sha256(tcpReply), sha256(big), "tcp echo sha256");

      // Two connections at once stay separate.
      const [r1, r2] = await Promise.all([1, 2].map(async (i) =>
        roundTrip(
          await Deno.connect({ hostname: "127.0.0.1", port: tcpPort }),
          patternBytes(100_000 + i, i),
        )
      ));
      assertEquals(sha256(r1), sha256(patternBytes(100_001, 1)));
      assertEquals(sha256(r2), sha256(patternBytes(100_002, 2)));

      // Half-close the other way: the server speaks first and half-closes; the client reads
      // to end of stream, then uploads and half-closes; the server gets every byte.
      const gc = await Deno.connect({ hostname: "127.0.0.1", port: greetPort });
      const got = await readToEnd(gc);
      assertEquals(sha256(got), sha256(greeting), "greeting arrives whole, then EOF");
      const upload = patternBytes(200_000, 9);
      await writeAll(gc, upload);
      await gc.closeWrite();
      const uploaded = await greeter.received;
      assertEquals(sha256(uploaded), sha256(upload), "upload after the server's half-close");
      gc.close();

      // unix-socket-server (a) → unix-socket-client (c) → Unix echo.
      const info = await Deno.stat(proxySock);
      assertEquals(info.mode! & 0o777, 0o600, "socket permissions default 0600");
      const ux = await Deno.connect({ transport: "unix", path: proxySock });
      const uxReply = await roundTrip(ux, big);
      assertEquals(sha256(uxReply), sha256(big), "unix echo sha256");

      // command-service: `cat` echoes its input, the session ends when cat exits.
      const catReply = await roundTrip(
        await Deno.connect({ hostname: "127.0.0.1", port: catPort }),
        enc.encode("hello from a\nsecond line\n"),
      );
      assertEquals(dec.decode(catReply), "hello from a\nsecond line\n");

      // An unknown remote service: the local connection is closed promptly, nothing read.
      const t0 = Date.now();
      const nc = await Deno.connect({ hostname: "127.0.0.1", port: nonePort });
      const none = await readToEnd(nc, 10000).catch(() => new Uint8Array(0));
      nc.close();
      assertEquals(none.length, 0);
      assert(Date.now() - t0 < 8000, `closed after ${Date.now() - t0} ms`);
      await waitFor(
        "a's dial error in its log",
        () => mesh.node("a").proc.logText().includes("Error connecting on Receptor network"),
        5000,
      );

      // udp-server (a) → udp-client (c) → UDP echo: each datagram comes back whole.
      const uc = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      try {
        const dest: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: udpPort };
        const want = ["one", "two", "three-" + "x".repeat(1000)];
        const seen = new Set<string>();
        const reader = (async () => {
          while (seen.size < want.length) {
            const [d] = await uc.receive();
            seen.add(dec.decode(d));
          }
        })();
        // Datagrams may be lost while routes settle: resend until all came back.
        await waitFor(
          "udp echoes",
          async () => {
            for (const w of want) if (!seen.has(w)) await uc.send(enc.encode(w), dest);
            await new Promise((r) => setTimeout(r, 200));
            return seen.size === want.length;
          },
          20000,
          10,
        );
        await reader;
        assertEquals([...seen].sort(), [...want].sort());
      } finally {
        uc.close();
      }
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.stack : e}\n${mesh.logs()}`);
    } finally {
      await mesh.stop();
      tcpEcho.close();
      unixEcho.close();
      udpEcho.close();
      greeter.close();
      await Deno.remove(unixDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "services: a service that cannot start fails node start-up with a clear error",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { runReceptor } = await import("../helpers/node_process.ts");
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const busyPort = (busy.addr as Deno.NetAddr).port;
    const dir = await Deno.makeTempDir({ prefix: "rsvc-" });
    const cases: [string, string][] = [
      [
        `- tcp-server:\n    port: ${busyPort}\n    bindaddr: 127.0.0.1\n    remotenode: x\n    remoteservice: y\n`,
        "error listening on TCP",
      ],
      [`- tcp-client:\n    service: waytoolongname\n    address: 127.0.0.1:1\n`, "too long"],
      [`- udp-client:\n    service: ping\n    address: 127.0.0.1:1\n`, "ping is already listening"],
      [
        `- tcp-server:\n    port: ${freePort()}\n    remotenode: x\n    remoteservice: ninebytes\n`,
        "service name ninebytes too long",
      ],
    ];
    try {
      for (const [svc, want] of cases) {
        const cfg = `${dir}/n.yaml`;
        await Deno.writeTextFile(
          cfg,
          `- node:\n    id: n\n- tcp-listener:\n    port: ${freePort()}\n    bindaddr: 127.0.0.1\n${svc}`,
        );
        const r = await runReceptor(["node", "-c", cfg]);
        assert(r.code !== 0, `expected failure for ${svc}`);
        assert((r.stdout + r.stderr).includes(want), `want ${want}; got ${r.stdout}${r.stderr}`);
      }
    } finally {
      busy.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
