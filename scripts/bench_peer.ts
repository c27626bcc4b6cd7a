/**
 * The far end of `deno task bench`, run as its own process so the two ends of each
 * measurement do not share a thread. Modes (first argument):
 * - `tcp-sink`: accept one TCP connection, read to EOF, print `done <bytes>`;
 *   `tcp-sink-sha` also prints the sha256 of what it read.
 * - `quic-sink`: our QUIC server on UDP; read one stream to EOF, answer with its sha256.
 * - `deno-quic-sink CERT KEY`: Deno's built-in QUIC server doing the same.
 * - `mesh-sink NODEID`: a mesh node with a TCP listener and stream service `sink` that reads
 *   each connection to EOF and answers with its sha256.
 * Each prints `ready <port>` on stdout once listening.
 * @module
 */
import { createHash } from "node:crypto";
import { QuicDriver } from "../src/quic/driver.ts";
import { QuicEndpoint } from "../src/quic/endpoint.ts";
import { UdpTransport } from "../src/quic/udp_transport.ts";
import { makeInsecureServiceCert } from "../src/certs/self_signed.ts";
import { MeshNode } from "../src/mesh/mesh_node.ts";
import { TcpListenerBackend } from "../src/mesh/backends/tcp.ts";
import { StreamListener } from "../src/streams/stream_service.ts";
import { Logger } from "../src/log.ts";

const enc = new TextEncoder();

async function hashToEof(readable: ReadableStream<Uint8Array>): Promise<string> {
  const h = createHash("sha256");
  for await (const c of readable) h.update(c);
  return h.digest("hex");
}

async function answer(writable: WritableStream<Uint8Array>, text: string): Promise<void> {
  const w = writable.getWriter();
  await w.write(enc.encode(text));
  await w.close();
}

const [mode, ...args] = Deno.args;
// exit normally on SIGTERM so that --cpu-prof profiles get written
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const logger = new Logger({ level: "error" });

if (mode === "tcp-sink" || mode === "tcp-sink-sha") {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`ready ${(l.addr as Deno.NetAddr).port}`);
  const c = await l.accept();
  const hashed = mode === "tcp-sink-sha";
  const h = createHash("sha256");
  const buf = new Uint8Array(256 * 1024);
  let n = 0;
  while (true) {
    const r = await c.read(buf);
    if (r === null) break;
    if (hashed) h.update(buf.subarray(0, r));
    n += r;
  }
  console.log(`done ${n}${hashed ? ` ${h.digest("hex")}` : ""}`);
} else if (mode === "quic-sink") {
  const cert = makeInsecureServiceCert();
  const t = UdpTransport.listen();
  const driver = new QuicDriver(
    new QuicEndpoint({
      role: "server",
      tls: () => ({
        role: "server",
        alpn: ["netceptor"],
        certificateChain: [cert.certDer],
        privateKey: cert.privateKey,
      }),
    }),
    t,
  );
  console.log(`ready ${t.addr.port}`);
  const conn = await driver.accept();
  const s = await conn!.acceptStream();
  await answer(s!.writable, await hashToEof(s!.readable));
  await conn!.closed.catch(() => {});
  await driver.close();
} else if (mode === "deno-quic-sink") {
  const [certFile, keyFile] = args;
  const ep = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = ep.listen({
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
    alpnProtocols: ["netceptor"],
  });
  console.log(`ready ${ep.addr.port}`);
  const conn = await listener.accept();
  const reader = conn.incomingBidirectionalStreams.getReader();
  const { value: bidi } = await reader.read();
  await answer(bidi!.writable, await hashToEof(bidi!.readable));
  await conn.closed.catch(() => {});
  ep.close();
} else if (mode === "mesh-sink") {
  const mesh = new MeshNode({ nodeId: args[0], logger });
  const backend = TcpListenerBackend.start({
    bindaddr: "127.0.0.1",
    port: 0,
    cost: 1,
    allowedPeers: null,
    logger,
  }, mesh);
  const listener = StreamListener.listen(mesh, "sink", { logger });
  console.log(`ready ${backend.port}`);
  while (true) {
    const c = await listener.accept();
    if (!c) break;
    (async () => {
      await answer(c.writable, await hashToEof(c.readable));
    })().catch((e) => console.error(`sink: ${e}`));
  }
} else {
  console.error(`unknown mode ${mode}`);
  Deno.exit(2);
}
