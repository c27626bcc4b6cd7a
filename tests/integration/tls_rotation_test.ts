/**
 * Certificate rotation without a restart: replace a listener node's certificate and key files
 * (atomically, by rename, as deployment tools do); the node notices, reloads, and new
 * connections get the new certificate — seen by a raw TLS client and by a new mesh peer that
 * pins the new certificate — while the established backend connection stays up. SIGHUP also
 * triggers a reload; a broken replacement is logged and the previous material kept.
 * @module
 */
import { X509Certificate } from "node:crypto";
import { assert, assertEquals } from "../helpers/assert.ts";
import { ctlStatus } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import {
  makeCa,
  makeNodeCert,
  rawTlsConnect,
  type TestCert,
  tlsClientYaml,
  tlsServerYaml,
} from "../helpers/tls.ts";

function fingerprint(file: string): string {
  return new X509Certificate(Deno.readTextFileSync(file)).fingerprint256;
}

async function servedFingerprint(port: number, client: TestCert): Promise<string> {
  const r = await rawTlsConnect(port, client);
  if (!r.connected || !r.peer) throw new Error(`raw TLS connect failed: ${r.error}`);
  return r.peer.fingerprint256;
}

async function connected(n: NodeProcess, peer: string): Promise<boolean> {
  return (await ctlStatus(n.socket)).Connections.some((c) => c.NodeID === peer);
}

Deno.test("tls rotation: replaced cert/key files are picked up; existing links stay", async () => {
  const dir = await tempDir("receptor-tls-rot-");
  const nodes: NodeProcess[] = [];
  try {
    const ca = await makeCa(dir);
    const live: TestCert = { cert: `${dir}/a-live.crt`, key: `${dir}/a-live.key` };
    const a1 = await makeNodeCert(dir, ca, "a", { file: "a1" });
    Deno.copyFileSync(a1.cert, live.cert);
    Deno.copyFileSync(a1.key, live.key);
    const b = await makeNodeCert(dir, ca, "b");
    const port = freePort();
    const cfg = (id: string, body: string) => (_d: string, sock: string) =>
      `- node:\n    id: ${id}\n${body}- control-service:\n    filename: ${sock}\n`;
    for (const id of ["a", "b", "c"]) await Deno.mkdir(`${dir}/${id}`);
    const na = await startNode(
      "a",
      cfg(
        "a",
        tlsServerYaml("srv", live, ca) +
          `- tcp-listener:\n    bindaddr: 127.0.0.1\n    port: ${port}\n    tls: srv\n`,
      ),
      { dir: `${dir}/a` },
    );
    nodes.push(na);
    const nb = await startNode(
      "b",
      cfg(
        "b",
        tlsClientYaml("cli", b, ca) + `- tcp-peer:\n    address: 127.0.0.1:${port}\n    tls: cli\n`,
      ),
      { dir: `${dir}/b` },
    );
    nodes.push(nb);
    await waitFor("b connected to a", () => connected(nb, "a"), 30000);
    assertEquals(await servedFingerprint(port, b), fingerprint(a1.cert));

    // New key pair and certificate (new serial: serials are Unix seconds).
    await new Promise((r) => setTimeout(r, 1100));
    const a2 = await makeNodeCert(dir, ca, "a", { file: "a2" });
    const fp2 = fingerprint(a2.cert);
    assert(fp2 !== fingerprint(a1.cert), "rotation must produce a different certificate");
    const serial1 = new X509Certificate(Deno.readTextFileSync(a1.cert)).serialNumber;
    const serial2 = new X509Certificate(Deno.readTextFileSync(a2.cert)).serialNumber;
    assert(serial1 !== serial2, `serials must differ: ${serial1} ${serial2}`);
    Deno.copyFileSync(a2.key, `${live.key}.tmp`);
    Deno.renameSync(`${live.key}.tmp`, live.key);
    Deno.copyFileSync(a2.cert, `${live.cert}.tmp`);
    Deno.renameSync(`${live.cert}.tmp`, live.cert);

    await na.waitForLog(/TLS configuration reloaded \(.*a-live\.(crt|key) changed\): srv/, 10000);
    await waitFor("new certificate served", async () => {
      return (await servedFingerprint(port, b)) === fp2;
    }, 10000);
    assertEquals(await servedFingerprint(port, b), fp2, "fingerprint served after rotation");

    // A new mesh peer pinning the NEW certificate gets in.
    const c = await makeNodeCert(dir, ca, "c");
    const nc = await startNode(
      "c",
      cfg(
        "c",
        tlsClientYaml("cli", c, ca, { pinnedservercert: `["${fp2}"]` }) +
          `- tcp-peer:\n    address: 127.0.0.1:${port}\n    tls: cli\n`,
      ),
      { dir: `${dir}/c` },
    );
    nodes.push(nc);
    await waitFor("c (pinning the new cert) connected to a", () => connected(nc, "a"), 30000)
      .catch((e) => {
        throw new Error(`${e}\n${nc.logText()}\n---\n${na.logText()}`);
      });
    assert(await connected(nc, "a"), "c (pinning the new cert) connected to a");

    // The link from before the rotation was never dropped.
    assert(await connected(nb, "a"), "b must still be connected to a");
    const dropped = [...na.log, ...nb.log].filter((l) => /Connection with \S+ closed/.test(l));
    assertEquals(dropped, [], "no backend connection may close during rotation");

    // SIGHUP reloads too.
    na.kill("SIGHUP");
    await na.waitForLog(/TLS configuration reloaded \(SIGHUP\): srv/, 10000);
    assert(!na.exited, "SIGHUP must not stop the node");
    assert(await connected(nb, "a"), "b still connected after SIGHUP");

    // A broken replacement is refused (logged); the previous material stays in use.
    Deno.writeTextFileSync(live.cert, "not a certificate\n");
    await na.waitForLog(/tls-server srv kept its old material: .*a-live\.crt/, 10000);
    assertEquals(await servedFingerprint(port, b), fp2);
    assert(await connected(nb, "a"), "b still connected after a failed reload");
  } finally {
    await stopAll(nodes);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
