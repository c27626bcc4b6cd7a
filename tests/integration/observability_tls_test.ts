/**
 * The `observability` endpoint over HTTPS with the node's `tls-server` (clientcas +
 * requireclientcert): a client with a certificate from the CA gets /metrics and /health; a
 * client without one is refused during the handshake and the node keeps serving.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { makeOurCerts } from "../helpers/openssl.ts";

Deno.test("observability: HTTPS requires a client certificate from clientcas", async () => {
  const certs = await tempDir("receptor-obs-tls-");
  await makeOurCerts(certs);
  const port = freePort();
  const mesh = await startMesh({
    nodes: ["server-node"],
    edges: [],
    extraYaml: () =>
      [
        "- tls-server:",
        "    name: web",
        `    cert: ${certs}/server-node.crt`,
        `    key: ${certs}/server-node.key`,
        `    clientcas: ${certs}/ca.crt`,
        "    requireclientcert: true",
        "- observability:",
        `    address: 127.0.0.1:${port}`,
        "    tls: web",
        "",
      ].join("\n"),
  }, { tempPrefix: "receptor-obs-tls-" });
  const ca = Deno.readTextFileSync(`${certs}/ca.crt`);
  const withCert = Deno.createHttpClient({
    caCerts: [ca],
    cert: Deno.readTextFileSync(`${certs}/client-node.crt`),
    key: Deno.readTextFileSync(`${certs}/client-node.key`),
  });
  const noCert = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const url = `https://localhost:${port}`;
    // The endpoint starts after the control socket the mesh helper waits for.
    const ready = await waitFor("the HTTPS endpoint to answer /ready", async () => {
      const r = await fetch(`${url}/ready`, { client: withCert }).catch(() => null);
      await r?.body?.cancel();
      return r?.status === 200 ? r : null;
    });
    assertEquals(ready.status, 200);
    const m = await fetch(`${url}/metrics`, { client: withCert });
    assertEquals(m.status, 200);
    assertStringIncludes(await m.text(), 'receptor_build_info{version="');
    const h = await fetch(`${url}/health`, { client: withCert });
    assertEquals(h.status, 200);
    assertEquals((await h.json()).status, "ok");
    await assertRejects(() => fetch(`${url}/health`, { client: noCert }));
    // Still serving after the refused client.
    const again = await fetch(`${url}/ready`, { client: withCert });
    assertEquals(again.status, 200);
    await again.body?.cancel();
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${mesh.logs()}`);
  } finally {
    withCert.close();
    noCert.close();
    await mesh.stop();
    await Deno.remove(certs, { recursive: true }).catch(() => {});
  }
});
