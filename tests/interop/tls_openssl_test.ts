/**
 * Certificates made by openssl (not by us) with the receptor node-ID otherName
 * (`otherName:1.3.6.1.4.1.2312.19.1;UTF8:<id>`, as receptorctl's own test helper makes them)
 * work on a TLS backend: an RSA listener and an ECDSA P-256 dialer form a link and ping. An
 * openssl `s_client` with a client certificate completes a verified TLS 1.3 handshake with the
 * listener.
 * @module
 */
import { opensslTool } from "../helpers/peers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { ctlJson, ctlStatus, type PingReply } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { openssl, type TestCa, tlsClientYaml, tlsServerYaml } from "../helpers/tls.ts";

async function opensslNodeCert(
  dir: string,
  ca: TestCa,
  id: string,
  keyArgs: string[],
): Promise<{ cert: string; key: string }> {
  const ext = `${dir}/${id}.ext`;
  Deno.writeTextFileSync(
    ext,
    [
      `subjectAltName=otherName:1.3.6.1.4.1.2312.19.1;UTF8:${id},IP:127.0.0.1,DNS:localhost`,
      `extendedKeyUsage=serverAuth,clientAuth`,
      `keyUsage=critical,digitalSignature,keyEncipherment`,
      "",
    ].join("\n"),
  );
  await openssl([
    "req",
    "-new",
    ...keyArgs,
    "-nodes",
    "-keyout",
    `${dir}/${id}.key`,
    "-out",
    `${dir}/${id}.csr`,
    "-subj",
    `/CN=${id}`,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/${id}.csr`,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    `${dir}/${id}.crt`,
    "-days",
    "2",
    "-sha256",
    "-extfile",
    ext,
  ]);
  return { cert: `${dir}/${id}.crt`, key: `${dir}/${id}.key` };
}

async function sClient(port: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, "-brief", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

Deno.test({
  name: "tls interop: openssl-made certificates with the node-ID otherName work on backends",
  fn: async () => {
    opensslTool();
    const dir = await tempDir("receptor-tls-openssl-");
    const nodes: NodeProcess[] = [];
    try {
      const ca = { cert: `${dir}/ca.crt`, key: `${dir}/ca.key` };
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        ca.key,
        "-out",
        ca.cert,
        "-days",
        "2",
        "-subj",
        "/CN=openssl test CA",
      ]);
      const n1 = await opensslNodeCert(dir, ca, "node1", ["-newkey", "rsa:2048"]);
      const n2 = await opensslNodeCert(dir, ca, "node2", [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
      ]);
      const port = freePort();
      const yaml = (id: string, body: string) => (_d: string, sock: string) =>
        `- node:\n    id: ${id}\n${body}- control-service:\n    filename: ${sock}\n`;
      await Deno.mkdir(`${dir}/node1`);
      await Deno.mkdir(`${dir}/node2`);
      nodes.push(
        await startNode(
          "node1",
          yaml(
            "node1",
            tlsServerYaml("srv", n1, ca) +
              `- tcp-listener:\n    bindaddr: 127.0.0.1\n    port: ${port}\n    tls: srv\n`,
          ),
          { dir: `${dir}/node1` },
        ),
      );
      nodes.push(
        await startNode(
          "node2",
          yaml(
            "node2",
            tlsClientYaml("cli", n2, ca) +
              `- tcp-peer:\n    address: 127.0.0.1:${port}\n    tls: cli\n`,
          ),
          { dir: `${dir}/node2` },
        ),
      );
      const [a, b] = nodes;
      await waitFor("node2 connected to node1", async () => {
        const s = await ctlStatus(b.socket);
        return s.Connections.some((c) => c.NodeID === "node1");
      }, 30000).catch((e) => {
        throw new Error(`${e}\n${a.logText()}\n---\n${b.logText()}`);
      });
      const p = await ctlJson<PingReply>(b.socket, "ping node1", 20000);
      assert(p.Success && p.From === "node1", JSON.stringify(p));
      assertEquals((await ctlStatus(a.socket)).Connections.map((c) => c.NodeID), ["node2"]);

      // openssl as a client with a certificate: verified TLS 1.3 handshake.
      const good = await sClient(port, [
        "-CAfile",
        ca.cert,
        "-verify_return_error",
        "-cert",
        n2.cert,
        "-key",
        n2.key,
      ]);
      assert(/Protocol version: TLSv1\.3/.test(good), good);
      assert(/Verification: OK/.test(good), good);
    } finally {
      await stopAll(nodes);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
