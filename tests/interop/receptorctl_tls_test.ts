/**
 * receptorctl over TCP + TLS to a control service (`tcplisten` + `tcptls`, requireclientcert):
 * `status` with `--rootcas --cert --key` works; a `work submit` with a payload (receptorctl
 * half-closes the raw TCP socket without a TLS close_notify) still gets its JSON reply and the
 * unit's output is right; a client without a certificate is refused (and the refusal logged);
 * `--insecureskipverify` lets receptorctl connect by a name the certificate does not carry; a
 * client that never starts the handshake is dropped after 10 s without a banner.
 * @module
 */
import { receptorctl } from "../helpers/peers.ts";
import { runTool, type ToolResult } from "../helpers/run.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { makeCa, makeNodeCert, tlsServerYaml } from "../helpers/tls.ts";

/** Connect without speaking; resolves with bytes received and ms until the server closed. */
async function silentClient(
  port: number,
): Promise<{ bytes: number; ms: number; error?: string }> {
  const t0 = Date.now();
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch (e) {
    return { bytes: -1, ms: Date.now() - t0, error: String(e) };
  }
  const killer = setTimeout(() => conn.close(), 30000);
  let bytes = 0;
  const buf = new Uint8Array(1024);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      bytes += n;
    }
  } catch { /* reset or closed */ }
  clearTimeout(killer);
  try {
    conn.close();
  } catch { /* closed */ }
  return { bytes, ms: Date.now() - t0 };
}

function ctl(args: string[], stdin?: string): Promise<ToolResult> {
  return runTool(receptorctl(), args, stdin);
}

Deno.test({
  name: "receptorctl: TCP+TLS control service with client certificates",
  fn: async () => {
    const dir = await tempDir("receptor-ctl-tls-");
    const nodes: NodeProcess[] = [];
    try {
      const ca = await makeCa(dir);
      const n1 = await makeNodeCert(dir, ca, "n1");
      const client = await makeNodeCert(dir, ca, "operator");
      const port = freePort();
      await Deno.mkdir(`${dir}/n1`);
      const node = await startNode("n1", (_d, sock) =>
        [
          `- node:`,
          `    id: n1`,
          `    datadir: ${dir}/data`,
          tlsServerYaml("srv", n1, ca).trimEnd(),
          `- local-only:`,
          `- control-service:`,
          `    service: control`,
          `    filename: ${sock}`,
          `    tcplisten: 127.0.0.1:${port}`,
          `    tcptls: srv`,
          `- work-command:`,
          `    worktype: cat`,
          `    command: cat`,
          "",
        ].join("\n"), { dir: `${dir}/n1` });
      nodes.push(node);
      /** receptorctl's TLS options for the node at `host`, with `client`'s certificate. */
      const tlsArgs = (host: string) => [
        "--socket",
        `tls://${host}:${port}`,
        "--rootcas",
        ca.cert,
        "--cert",
        client.cert,
        "--key",
        client.key,
      ];
      const base = tlsArgs("127.0.0.1");

      const st = await waitFor(
        "receptorctl status over TLS",
        async () => {
          const r = await ctl([...base, "status", "--json"]);
          return r.code === 0 ? r : null;
        },
        20000,
        300,
      ).catch(async (e) => {
        const r = await ctl([...base, "status", "--json"]);
        throw new Error(`${e}\n${r.out}${r.err}\n${node.logText()}`);
      });
      // The TLS port is up now. A client that never starts the TLS handshake: dropped after
      // 10 s without a banner (checked at the end).
      const silent = silentClient(port);
      const status = JSON.parse(st.out);
      assertEquals(status.NodeID, "n1");

      // work submit with a payload: half-close without close_notify, reply still arrives.
      const payload = "hello over tls\n".repeat(100);
      const sub = await ctl(
        [...base, "work", "submit", "cat", "--node", "localhost", "-p", "-"],
        payload,
      );
      assertEquals(sub.code, 0, `submit failed: ${sub.out}${sub.err}\n${node.logText()}`);
      const m = /Result: Job Started\s+Unit ID: (\S+)/.exec(sub.out);
      assert(m, `no unit ID in: ${sub.out}`);
      const unit = m[1];
      let last = "";
      await waitFor(
        "unit succeeded",
        async () => {
          const r = await ctl([...base, "work", "list", "--unit_id", unit]);
          last = r.out + r.err;
          if (r.code !== 0) return false;
          const j = JSON.parse(r.out.slice(r.out.indexOf("{")));
          return (j[unit] ?? j).StateName === "Succeeded";
        },
        20000,
        300,
      ).catch((e) => {
        throw new Error(`${e}\n${last}\n${node.logText()}`);
      });
      const res = await ctl([...base, "work", "results", unit]);
      assertEquals(res.out, payload);

      // Without a client certificate: refused, and the node says why.
      const nocert = await ctl([
        "--socket",
        `tls://127.0.0.1:${port}`,
        "--rootcas",
        ca.cert,
        "status",
      ]);
      assert(nocert.code !== 0, `status without a client cert must fail: ${nocert.out}`);
      await node.waitForLog(
        /control service TLS connection from 127\.0\.0\.1:\d+ refused: RVF failed: peer certificate missing/,
        10000,
      );

      // The certificate names 127.0.0.1, not "localhost": the host name check fails unless
      // --insecureskipverify (receptorctl still verifies the chain against --rootcas).
      const viaName = (extra: string[]) =>
        ctl([...tlsArgs("localhost"), ...extra, "status", "--json"]);
      const strict = await viaName([]);
      assert(strict.code !== 0, `host name mismatch must fail: ${strict.out}`);
      const insecure = await viaName(["--insecureskipverify", "true"]);
      assertEquals(insecure.code, 0, insecure.out + insecure.err);
      assertEquals(JSON.parse(insecure.out.slice(insecure.out.indexOf("{"))).NodeID, "n1");

      const quiet = await silent;
      assertEquals(quiet.bytes, 0, `no banner before the TLS handshake ${quiet.error ?? ""}`);
      assert(
        quiet.ms >= 9000 && quiet.ms < 16000,
        `silent client dropped after ${quiet.ms} ms (expected ~10 s)`,
      );
    } finally {
      await stopAll(nodes);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
