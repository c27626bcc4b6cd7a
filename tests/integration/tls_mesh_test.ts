/**
 * A 3-node mesh over TLS (certificates made only by `receptor cert`) converges and pings across
 * two hops. Then every kind of bad peer is refused with the reason in the log while the good
 * mesh keeps working: no client certificate, a certificate from another CA, an expired
 * certificate, a valid certificate naming a different node ID (listener side); and on the
 * dialer side a listener whose certificate names another node (we check node IDs on backends
 * in both directions, closing upstream issue #417), one from an untrusted CA, and one whose
 * certificate lacks the dialed address. Also: certificate problems at start-up stop the
 * node with one line naming the file.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ctlJson, ctlStatus, nodeStarter, type PingReply } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, runReceptor, stopAll } from "../helpers/node_process.ts";
import {
  makeCa,
  makeNodeCert,
  rawTlsHold,
  type TestCa,
  type TestCert,
  tlsClientYaml,
  tlsServerYaml,
} from "../helpers/tls.ts";

function listenerYaml(port: number, tls: string): string {
  return `- tcp-listener:\n    bindaddr: 127.0.0.1\n    port: ${port}\n    tls: ${tls}\n`;
}

function peerYaml(port: number, tls: string): string {
  return `- tcp-peer:\n    address: 127.0.0.1:${port}\n    tls: ${tls}\n`;
}

function ping(socket: string, target: string): Promise<PingReply> {
  return ctlJson<PingReply>(socket, `ping ${target}`, 20000);
}

async function connectionsOf(n: NodeProcess): Promise<string[]> {
  return (await ctlStatus(n.socket)).Connections.map((c) => c.NodeID).sort();
}

Deno.test("tls mesh: 3 nodes over TLS converge; bad peers refused with the reason logged", async () => {
  const dir = await tempDir("receptor-tls-mesh-");
  const { nodes, start } = nodeStarter(dir);
  try {
    const ca = await makeCa(dir, "ca");
    const other = await makeCa(dir, "otherca");
    const cert: Record<string, TestCert> = {};
    for (const id of ["hop", "ctrl", "exec"]) cert[id] = await makeNodeCert(dir, ca, id);
    const hopPort = freePort();
    const fakePort = freePort();

    // A listener that presents hop's (valid) certificate but calls itself "fakehop".
    const fake = await start(
      "fakehop",
      tlsServerYaml("srv", cert.hop, ca, { skipreceptornamescheck: true })
        .replace(/ {4}clientcas:.*\n {4}requireclientcert: true\n/, "") +
        listenerYaml(fakePort, "srv"),
    );
    const hop = await start(
      "hop",
      tlsServerYaml("srv", cert.hop, ca) + listenerYaml(hopPort, "srv"),
    );
    const ctrl = await start(
      "ctrl",
      tlsClientYaml("cli", cert.ctrl, ca) + peerYaml(hopPort, "cli") + peerYaml(fakePort, "cli"),
    );
    const exec = await start(
      "exec",
      tlsClientYaml("cli", cert.exec, ca) + peerYaml(hopPort, "cli"),
    );

    await waitFor(
      "ctrl reaches exec through hop",
      async () => {
        const s = await ctlStatus(ctrl.socket);
        return s.RoutingTable.exec === "hop" && (await ctlStatus(exec.socket)).RoutingTable.ctrl;
      },
      30000,
      200,
    ).catch((e) => {
      throw new Error(`${e}\n${nodes.map((n) => n?.logText()).join("\n---\n")}`);
    });
    const p1 = await ping(ctrl.socket, "exec");
    assert(p1.Success && p1.From === "exec", `ping ctrl->exec: ${JSON.stringify(p1)}`);
    const p2 = await ping(exec.socket, "ctrl");
    assert(p2.Success && p2.From === "ctrl", `ping exec->ctrl: ${JSON.stringify(p2)}`);

    // Dialer side: ctrl refuses fakehop, whose certificate names "hop".
    await ctrl.waitForLog(
      /rejected connection with node fakehop because its node ID is not one its certificate proves \(hop\)/,
    );

    // 1. No client certificate.
    await rawTlsHold(hopPort);
    await hop.waitForLog(/TLS handshake refused: RVF failed: peer certificate missing/);

    // 2. Certificate from another CA (a real node that trusts our CA for the server).
    const rogueCert = await makeNodeCert(dir, other, "rogue");
    const rogue = await start(
      "rogue",
      tlsClientYaml("cli", rogueCert, ca) + peerYaml(hopPort, "cli"),
    );
    await hop.waitForLog(/TLS handshake refused: x509: certificate signed by unknown authority/);

    // 3. Expired certificate (a node would refuse to start with it: use a raw client).
    const expired = await makeNodeCert(dir, ca, "old", {
      notBefore: "2020-01-01T00:00:00Z",
      notAfter: "2021-01-01T00:00:00Z",
    });
    await rawTlsHold(hopPort, expired);
    await hop.waitForLog(
      /TLS handshake refused: x509: certificate has expired or is not yet valid/,
    );

    // 4. A valid certificate naming a different node ID than the one announced.
    const wrongId = await makeNodeCert(dir, ca, "someoneelse", { file: "impostor" });
    const impostor = await start(
      "impostor",
      tlsClientYaml("cli", wrongId, ca, { skipreceptornamescheck: true }) +
        peerYaml(hopPort, "cli"),
    );
    await hop.waitForLog(
      /rejected connection with node impostor because its node ID is not one its certificate proves \(someoneelse\)/,
    );

    // 5. Dialer side: a listener from a CA we do not trust, and one whose certificate does
    //    not carry the address we dialed.
    const noipPort = freePort();
    const noip = await start(
      "noip",
      tlsServerYaml("srv", await makeNodeCert(dir, ca, "noip", { ips: [] }), ca)
        .replace(/ {4}clientcas:.*\n {4}requireclientcert: true\n/, "") +
        listenerYaml(noipPort, "srv"),
    );
    const lost = await start(
      "lost",
      tlsClientYaml("wrongroots", await makeNodeCert(dir, ca, "lost"), other) +
        tlsClientYaml("goodroots", { cert: `${dir}/lost.crt`, key: `${dir}/lost.key` }, ca) +
        peerYaml(hopPort, "wrongroots") + peerYaml(noipPort, "goodroots"),
    );
    await lost.waitForLog(
      new RegExp(
        `tcp-peer 127\\.0\\.0\\.1:${hopPort}: TLS handshake failed: x509: certificate signed by unknown authority`,
      ),
    );
    await lost.waitForLog(
      new RegExp(
        `tcp-peer 127\\.0\\.0\\.1:${noipPort}: TLS handshake failed: x509: cannot validate certificate for 127\\.0\\.0\\.1 because it doesn't contain any IP SANs`,
      ),
    );

    // The good mesh keeps working, and none of the bad peers got in.
    assertEquals(await connectionsOf(hop), ["ctrl", "exec"]);
    assertEquals(await connectionsOf(ctrl), ["hop"]);
    const p3 = await ping(ctrl.socket, "exec");
    assert(p3.Success && p3.From === "exec", `ping after refusals: ${JSON.stringify(p3)}`);
    for (const bad of [rogue, impostor, fake, noip, lost]) {
      const s = await ctlStatus(bad.socket);
      assertEquals(Object.keys(s.RoutingTable), [], `${bad.name} must have no routes`);
    }
    const known = Object.keys((await ctlStatus(hop.socket)).KnownConnectionCosts).sort();
    assertEquals(known, ["ctrl", "exec", "hop"]);
  } finally {
    await stopAll(nodes);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

async function startupError(
  dir: string,
  name: string,
  tlsYaml: string,
): Promise<{ code: number; out: string }> {
  const cfg = `${dir}/${name}.yaml`;
  Deno.writeTextFileSync(
    cfg,
    `- node:\n    id: n1\n${tlsYaml}- tcp-listener:\n    port: 0\n    tls: srv\n`,
  );
  const r = await runReceptor(["-c", cfg]);
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

Deno.test("tls mesh: certificate problems at start-up exit 1 with one line naming the file", async () => {
  const dir = await tempDir("receptor-tls-start-");
  try {
    const ca: TestCa = await makeCa(dir, "ca");
    const n1 = await makeNodeCert(dir, ca, "n1");
    const n2 = await makeNodeCert(dir, ca, "n2");
    const old = await makeNodeCert(dir, ca, "n1", {
      file: "old",
      notBefore: "2020-01-01T00:00:00Z",
      notAfter: "2021-01-01T00:00:00Z",
    });
    Deno.writeTextFileSync(`${dir}/junk.crt`, "this is not a certificate\n");
    const cases: [string, TestCert, RegExp][] = [
      [
        "missing",
        { cert: `${dir}/nope.crt`, key: n1.key },
        /^Error: error preparing tls server config: open \S*nope\.crt: no such file or directory/,
      ],
      [
        "wrongkey",
        { cert: n1.cert, key: n2.key },
        /^Error: error preparing tls server config: tls: private key does not match public key; cert=\S*n1\.crt; key=\S*n2\.key/,
      ],
      [
        "notcert",
        { cert: `${dir}/junk.crt`, key: n1.key },
        /^Error: error preparing tls server config: tls: failed to find any PEM data in certificate input; cert=\S*junk\.crt/,
      ],
      [
        "keyascert",
        { cert: n1.key, key: n1.key },
        /^Error: .*did find a private key; PEM inputs may have been switched; cert=\S*n1\.key/,
      ],
      ["expired", old, /^Error: .*certificate has expired.*cert=\S*old\.crt/],
      [
        "otherid",
        n2,
        /^Error: error preparing tls server config: nodeID=n1 not found in certificate name\(s\); names found=\[n2\]; cfg section=srv; server cert=\S*n2\.crt/,
      ],
    ];
    for (const [name, c, re] of cases) {
      const r = await startupError(dir, name, tlsServerYaml("srv", c, ca));
      assertEquals(r.code, 1, `${name}: exit code; output:\n${r.out}`);
      assertEquals(r.out.split("\n").length, 1, `${name}: one line expected:\n${r.out}`);
      assert(re.test(r.out), `${name}: ${r.out} does not match ${re}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
