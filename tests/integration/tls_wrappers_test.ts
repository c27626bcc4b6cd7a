/**
 * The node's TLS wrappers (src/node/tls.ts) over real loopback sockets, in process: which node
 * IDs a handshake hands to the mesh as `verifiedNodeIds` (peer certificate's otherName SANs;
 * none to enforce with skipreceptornamescheck, insecureskipverify, or a server that does not
 * ask for client certificates), bytes flow both ways, refusals name the failed check, and
 * `reload()` swaps the material for new connections only.
 * @module
 */
import { X509Certificate } from "node:crypto";
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/net.ts";
import type { Section } from "../../src/config/types.ts";
import { Logger } from "../../src/log.ts";
import { NodeTls } from "../../src/node/tls.ts";
import type { StreamWrapper } from "../../src/mesh/backends/tcp.ts";
import { makeCa, makeNodeCert, type TestCa, type TestCert } from "../helpers/tls.ts";

function serverSection(name: string, c: TestCert, ca: TestCa | null, extra = {}): Section {
  return {
    kind: "tls-server",
    source: "test",
    name,
    cert: c.cert,
    key: c.key,
    requireclientcert: !!ca,
    clientcas: ca?.cert ?? "",
    pinnedclientcert: [],
    skipreceptornamescheck: false,
    mintls13: false,
    ...extra,
  } as Section;
}

function clientSection(name: string, c: TestCert, ca: TestCa, extra = {}): Section {
  return {
    kind: "tls-client",
    source: "test",
    name,
    cert: c.cert,
    key: c.key,
    rootcas: ca.cert,
    insecureskipverify: false,
    pinnedservercert: [],
    skipreceptornamescheck: false,
    mintls13: false,
    ...extra,
  } as Section;
}

type Side = Awaited<ReturnType<NonNullable<StreamWrapper["server"]>>>;

interface Pair {
  server: Side | Error;
  client: Side | Error;
}

/** One TCP connection, both wrappers; each side's result or error. */
async function handshake(srv: StreamWrapper, cli: StreamWrapper): Promise<Pair> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  try {
    const accepted = l.accept();
    const dialed = await Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await accepted;
    const [s, c] = await Promise.allSettled([
      srv.server!(conn),
      cli.client!(dialed, "127.0.0.1"),
    ]);
    return {
      server: s.status === "fulfilled" ? s.value : s.reason as Error,
      client: c.status === "fulfilled" ? c.value : c.reason as Error,
    };
  } finally {
    l.close();
  }
}

function closeAll(p: Pair): void {
  for (const side of [p.server, p.client]) {
    if (!(side instanceof Error)) side.stream.close();
  }
}

Deno.test("tls wrappers: verified node IDs, data, refusals, reload", async () => {
  const dir = await tempDir("receptor-tls-wrap-");
  const logged: string[] = [];
  const logger = new Logger({ level: "info", sink: (l) => logged.push(l) });
  try {
    const ca = await makeCa(dir);
    const a = await makeNodeCert(dir, ca, "a");
    const b = await makeNodeCert(dir, ca, "b", { nodeIds: ["b", "b-alias"] });
    const tlsA = NodeTls.load(
      [
        serverSection("mtls", a, ca),
        serverSection("open", a, null),
        serverSection("skip", a, ca, { skipreceptornamescheck: true }),
      ],
      "a",
      logger,
    );
    const tlsB = NodeTls.load(
      [
        clientSection("cli", b, ca),
        clientSection("skip", b, ca, { skipreceptornamescheck: true }),
        clientSection("insecure", b, ca, { insecureskipverify: true }),
      ],
      "b",
      logger,
    );

    // Mutual TLS: each side learns the other's node IDs; bytes flow both ways.
    const p = await handshake(tlsA.server("mtls"), tlsB.client("cli"));
    assert(!(p.server instanceof Error) && !(p.client instanceof Error), String(p.server));
    assertEquals(p.server.verifiedNodeIds, ["b", "b-alias"]);
    assertEquals(p.client.verifiedNodeIds, ["a"]);
    await p.client.stream.write(new TextEncoder().encode("hello"));
    const buf = new Uint8Array(16);
    const n = await p.server.stream.read(buf);
    assertEquals(new TextDecoder().decode(buf.subarray(0, n!)), "hello");
    await p.server.stream.write(new TextEncoder().encode("back"));
    const m = await p.client.stream.read(buf);
    assertEquals(new TextDecoder().decode(buf.subarray(0, m!)), "back");
    p.client.stream.close();
    assertEquals(await p.server.stream.read(buf), null, "EOF after the peer closes");
    closeAll(p);

    // Nothing to enforce: server without client certs; skipreceptornamescheck; insecure.
    const open = await handshake(tlsA.server("open"), tlsB.client("cli"));
    assert(!(open.server instanceof Error) && !(open.client instanceof Error));
    assertEquals(open.server.verifiedNodeIds, undefined);
    assertEquals(open.client.verifiedNodeIds, ["a"]);
    closeAll(open);
    const skip = await handshake(tlsA.server("skip"), tlsB.client("skip"));
    assert(!(skip.server instanceof Error) && !(skip.client instanceof Error));
    assertEquals(skip.server.verifiedNodeIds, undefined);
    assertEquals(skip.client.verifiedNodeIds, undefined);
    closeAll(skip);
    const insecure = await handshake(tlsA.server("mtls"), tlsB.client("insecure"));
    assert(!(insecure.server instanceof Error) && !(insecure.client instanceof Error));
    assertEquals(insecure.client.verifiedNodeIds, undefined);
    closeAll(insecure);

    // A client from another CA is refused by the server with the failed check.
    const other = await makeCa(dir, "other");
    const x = await makeNodeCert(dir, other, "x");
    const tlsX = NodeTls.load([clientSection("cli", x, ca)], "x", logger);
    const bad = await handshake(tlsA.server("mtls"), tlsX.client("cli"));
    assert(bad.server instanceof Error, "server must refuse");
    assert(/certificate signed by unknown authority/.test(bad.server.message), bad.server.message);
    closeAll(bad);

    // Unknown names.
    let threw = "";
    try {
      tlsA.server("nope");
    } catch (e) {
      threw = (e as Error).message;
    }
    assertEquals(threw, "unknown TLS config nope");

    // reload(): new material for new connections.
    await new Promise((r) => setTimeout(r, 1100));
    const a2 = await makeNodeCert(dir, ca, "a", { file: "a2" });
    Deno.copyFileSync(a2.cert, a.cert);
    Deno.copyFileSync(a2.key, a.key);
    assertEquals(tlsA.reload("test").sort(), ["mtls", "open", "skip"]);
    const fp2 = new X509Certificate(Deno.readTextFileSync(a2.cert)).fingerprint256;
    assertEquals(
      new X509Certificate(tlsA.serverConfig("mtls").certPem).fingerprint256,
      fp2,
    );
    const after = await handshake(tlsA.server("mtls"), tlsB.client("cli"));
    assert(!(after.server instanceof Error) && !(after.client instanceof Error));
    assertEquals(after.client.verifiedNodeIds, ["a"]);
    closeAll(after);

    // A broken file: reload keeps the old material.
    Deno.writeTextFileSync(a.key, "garbage");
    assertEquals(tlsA.reload("test"), []);
    assert(
      logged.some((l) => /tls-server mtls kept its old material: .*key=/.test(l)),
      logged.join("\n"),
    );
    assertEquals(new X509Certificate(tlsA.serverConfig("mtls").certPem).fingerprint256, fp2);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
