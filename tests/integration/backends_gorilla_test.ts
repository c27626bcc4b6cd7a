/**
 * Interop of our WebSocket backends with gorilla/websocket v1.5.3, the library Go receptor's
 * ws-listener/ws-peer use (tests/integration/backends_gorilla_peer, built through the Go module
 * proxy by scripts/peers/go_peers.ts; the test fails with `missing …` when it is not built):
 * - a gorilla client (Origin and extra header like Go's ws-peer) against our listener, which
 *   echoes: binary messages of 1 B..100 kB (gorilla clients fragment above 4 KiB), a ping
 *   answered with a pong, and a close frame that ends the link;
 * - our peer against a gorilla server with the default same-origin Upgrader, which echoes
 *   through NextWriter (replies above 4 KiB arrive fragmented); it sees our Origin and extra
 *   header.
 * @module
 */
import { captureLogger, startWsListener } from "./backends_helpers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { gorillaPeer } from "../helpers/peers.ts";
import type { Link } from "../../src/mesh/link.ts";
import { WsPeerBackend } from "../../src/mesh/backends/websocket.ts";

const logger = captureLogger;

Deno.test({
  name: "backends gorilla: gorilla client ↔ our listener, our peer ↔ gorilla server",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const bin = gorillaPeer();
    const dir = await tempDir("receptor-gorilla-");
    try {
      await t.step("gorilla client against our ws-listener (echo)", async () => {
        const lines: string[] = [];
        const links: Link[] = [];
        const closed: string[] = [];
        const l = startWsListener(lines, {
          attachLink(link: Link) {
            links.push(link);
            link.onMessage = (m) => link.send(m);
            link.onClose = (r) => closed.push(r);
          },
        }, { path: "/mesh" });
        try {
          const out = await new Deno.Command(bin, {
            args: ["client", `ws://127.0.0.1:${l.port}/mesh`],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const text = new TextDecoder().decode(out.stdout) +
            new TextDecoder().decode(out.stderr);
          assert(
            out.success && text.trim() === "ok",
            `gorilla client: ${text}\n${lines.join("\n")}`,
          );
          assertEquals(links.length, 1);
          await waitFor("the client's close frame ended the link", () => closed.length === 1);
          assert(closed[0].includes("WebSocket close 1000: done"), closed[0]);
        } finally {
          await l.close();
        }
      });

      await t.step("our ws-peer against a gorilla server (fragmented echoes)", async () => {
        const port = freePort();
        const server = new Deno.Command(bin, {
          args: ["server", String(port), "/mesh"],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const out: string[] = [];
        (async () => {
          const dec = new TextDecoder();
          for await (const c of server.stdout) out.push(...dec.decode(c).split("\n"));
        })();
        const lines: string[] = [];
        const got: Uint8Array[] = [];
        const links: Link[] = [];
        let p: WsPeerBackend | null = null;
        try {
          await waitFor("gorilla server listening", () => out.includes("listening"));
          p = WsPeerBackend.start({
            address: `ws://127.0.0.1:${port}/mesh`,
            redial: false,
            extraheader: "X-Extra: from-deno",
            cost: 1,
            allowedPeers: null,
            logger: logger(lines),
          }, {
            attachLink(link: Link) {
              links.push(link);
              link.onMessage = (m) => got.push(m);
              link.onClose = () => {};
            },
          });
          await waitFor("upgrade", () => links.length === 1, 10000);
          const sizes = [1, 4096, 4097, 20000, 100000];
          const msgs = sizes.map((n) => new Uint8Array(n).map((_, i) => i * 7 + n));
          for (const m of msgs) links[0].send(m);
          await waitFor("echoes", () => got.length === msgs.length, 10000);
          for (let i = 0; i < msgs.length; i++) assertEquals(got[i], msgs[i], `echo ${sizes[i]}`);
          const hdr = JSON.parse(out.find((x) => x.startsWith("{"))!);
          assertEquals(hdr, { origin: `http://127.0.0.1:${port}`, extra: "from-deno" });
        } finally {
          p?.close();
          try {
            server.kill("SIGKILL");
          } catch { /* gone */ }
          await server.status;
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
