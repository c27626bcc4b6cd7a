/**
 * Stream services over the mesh (wire.md §12): `listenStream(service)` runs one QUIC server
 * endpoint on a mesh datagram service and yields one duplex connection per QUIC connection;
 * `dialStream(node, service)` binds an ephemeral service, runs a QUIC client to the target,
 * and opens the single bidirectional stream (announced by a `00` byte).
 * @module
 */
import type { DatagramEndpoint, MeshNode } from "../mesh/mesh_node.ts";
import type { DuplexConn } from "./duplex.ts";
import { QuicEndpoint } from "../quic/endpoint.ts";
import { QuicError } from "../quic/errors.ts";
import type { QuicConnection } from "../quic/connection.ts";
import { type QuicConnHandle, QuicDriver, type QuicStream } from "../quic/driver.ts";
import { MeshDatagramTransport, splitMeshAddress } from "./mesh_transport.ts";
import {
  insecureClientTls,
  insecureServerTls,
  NETCEPTOR_ALPN,
  type StreamClientTls,
  type StreamServerTls,
} from "./stream_tls.ts";
import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";
import { AsyncQueue } from "../util/async_queue.ts";
import { trackStream } from "./stream_stats.ts";

/**
 * Largest QUIC datagram we send over the mesh. Mesh links carry messages up to 64 KiB (wire.md
 * §2.4), so the 1200-byte UDP path limit does not apply; we advertise this in
 * max_udp_payload_size and send min(this, the peer's value): quic-go (Go receptor) advertises
 * 1452 and gets at most that, while two of our nodes amortise per-packet costs over 16 KiB.
 */
export const MESH_QUIC_DATAGRAM = 16 * 1024 - 64;

/** Go's transport settings for mesh streams (wire.md §12.4), with our datagram size. */
const TRANSPORT = {
  maxIdleTimeout: 30_000,
  handshakeTimeout: 15_000,
  maxDatagramSize: MESH_QUIC_DATAGRAM,
  sendBufferSize: 4 * 1024 * 1024,
};

/**
 * Cipher suites for mesh streams, ChaCha20-Poly1305 first. In this Deno, node:crypto's
 * ChaCha20-Poly1305 seals a 16 KiB packet about 4x faster than its AES-128-GCM (≈25 vs ≈95 µs
 * CPU per packet), and every stream byte is sealed once and opened once. The choice is a normal
 * TLS 1.3 negotiation: Go receptor peers (quic-go) support all three suites.
 */
const MESH_CIPHER_SUITES = [0x1303, 0x1301, 0x1302];

/** A mesh stream: a duplex byte stream plus who is on the other end. */
export interface MeshStreamConn extends DuplexConn {
  readonly remoteNode: string;
  readonly remoteService: string;
  /** DER chain the peer presented. */
  readonly peerCertificates: Uint8Array[];
  /** The underlying sans-IO QUIC connection (diagnostics: stats, cwnd, RTT). */
  readonly quic: QuicConnection;
}

const ZERO = new Uint8Array([0]);

/** Longest wait for the peer to acknowledge our last bytes before CONNECTION_CLOSE. */
const CLOSE_LINGER_MS = 30_000;

/** How long a dialer's endpoint stays bound after its connection closed (≥ 3 PTO). */
const CLOSE_DRAIN_MS = 2_000;

function toConn(
  mesh: MeshNode,
  stream: QuicStream,
  readable: ReadableStream<Uint8Array>,
  handle: QuicConnHandle,
  onClose: () => void,
): MeshStreamConn {
  const { node, service } = splitMeshAddress(handle.remote);
  // A restarted peer node has lost this connection: end it now instead of after the idle
  // timeout (its new incarnation answers our packets with resets we cannot authenticate).
  const unsubscribe = mesh.onNodeRestart((n) => {
    if (n === node) closeQuietly(handle, `node ${node} restarted`);
  });
  // The route to the peer came back (e.g. a middle hop restarted): probe at once. Data lost
  // meanwhile is retransmitted when the PING is acknowledged; a peer that dropped the
  // connection while the route was down answers with a stateless reset and we end it now,
  // instead of after the keep-alive plus idle timeout (13–51 s).
  const unsubscribeRoute = mesh.onRouteAdded((n) => {
    if (n === node) handle.ping();
  });
  handle.closed.finally(() => {
    unsubscribe();
    unsubscribeRoute();
  }).catch(() => {});
  trackStream(mesh, handle.connection, handle.closed);
  let closed = false;
  // Graceful: FIN, then CONNECTION_CLOSE only once the peer acknowledged everything we wrote
  // (or stopped the stream / the connection ended / CLOSE_LINGER_MS passed). Closing at once
  // would discard data still queued or in flight — a results stream would lose its tail.
  const close = () => {
    if (closed) return;
    closed = true;
    void (async () => {
      await stream.closeWrite().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stream.sendFinished,
        handle.closed,
        new Promise<void>((r) => timer = setTimeout(r, CLOSE_LINGER_MS)),
      ]);
      clearTimeout(timer);
      try {
        handle.close(0, "normal close");
      } catch { /* closed */ }
      onClose();
    })();
  };
  return {
    remoteNode: node,
    remoteService: service,
    peerCertificates: handle.peerCertificates,
    quic: handle.connection,
    readable,
    writable: stream.writable,
    closeWrite: () => stream.closeWrite(),
    close,
  };
}

/**
 * End a connection whose datagrams cannot leave this node (Go: quic-go destroys it on the
 * write error). Its streams then fail with `connection closed: <message>`.
 */
function closeQuietly(handle: QuicConnHandle, message: string): void {
  try {
    handle.close(0x1f4, message);
  } catch { /* closed */ }
}

/**
 * A failed QUIC handshake in Go's words: quic-go reports a TLS failure as
 * `CRYPTO_ERROR 0x1NN (local|remote): …`, and remote work (control.md §6.2) recognises a TLS
 * error — Failed, no more retries — by that `CRYPTO_ERROR` text.
 */
function goDialError(e: unknown): unknown {
  if (e instanceof QuicError && !e.isApplication && e.code >= 0x100 && e.code <= 0x1ff) {
    const text = `CRYPTO_ERROR 0x${e.code.toString(16)}: ${e.message}`;
    return new QuicError(e.code, text, false, e.frameType);
  }
  return e;
}

/**
 * Read exactly the one `00` byte that announces the stream, then hand back the stream's own
 * readable for the rest (no wrapping stream: one less layer per chunk).
 */
async function consumeZeroByte(
  stream: QuicStream,
  timeoutMs: number,
): Promise<ReadableStream<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error("Accept Timeout")), timeoutMs);
  });
  let first: Uint8Array | null;
  try {
    first = await Promise.race([stream.readChunk(1), timeout]);
  } finally {
    clearTimeout(timer);
  }
  if (first === null || first[0] !== 0) throw new Error("Read Data Error");
  return stream.readable;
}

/** A listening stream service. */
export class StreamListener {
  readonly service: string;
  readonly connType: 1 | 2;
  #driver: QuicDriver;
  #transport: MeshDatagramTransport;
  #accepted = new AsyncQueue<MeshStreamConn>();
  #logger: Logger;
  #mesh: MeshNode;
  /** Accepted connections by remote address, to end them on a send error. */
  #byRemote = new Map<string, QuicConnHandle>();

  private constructor(
    mesh: MeshNode,
    service: string,
    tls: StreamServerTls,
    logger: Logger,
    advertise: { tags: Record<string, string> | null } | null,
    bound: DatagramEndpoint | undefined,
  ) {
    this.#mesh = mesh;
    this.#logger = logger;
    this.#transport = new MeshDatagramTransport(mesh, service, bound);
    this.service = this.#transport.service;
    this.connType = tls.connType;
    const endpoint = new QuicEndpoint({
      role: "server",
      transport: TRANSPORT,
      tls: (ctx) => ({
        role: "server",
        alpn: [NETCEPTOR_ALPN],
        cipherSuites: MESH_CIPHER_SUITES,
        certificateChain: tls.certificateChain,
        privateKey: tls.privateKey,
        requestClientCertificate: tls.requestClientCertificate,
        requireClientCertificate: tls.requireClientCertificate,
        verifyPeer: tls.verifyClient(splitMeshAddress(ctx.remote).node),
      }),
    });
    this.#driver = new QuicDriver(endpoint, this.#transport);
    this.#transport.onSendError((remote, message) => {
      const h = this.#byRemote.get(remote);
      if (h) queueMicrotask(() => closeQuietly(h, message));
    });
    this.#acceptLoop();
    if (advertise) mesh.advertise(this.service, tls.connType, advertise.tags);
  }

  /**
   * Listen on `service` (insecure self-signed TLS unless `tls` is given). Advertises the
   * service unless `advertise` is null. Throws if the name is taken or reserved. `endpoint`:
   * `service` already bound by the caller (datagrams it held are then handed to the returned
   * listener's endpoint `onDatagram` by the caller).
   */
  static listen(
    mesh: MeshNode,
    service: string,
    opts: {
      logger: Logger;
      tls?: StreamServerTls;
      advertise?: { tags: Record<string, string> | null } | null;
      endpoint?: DatagramEndpoint;
    },
  ): StreamListener {
    return new StreamListener(
      mesh,
      service,
      opts.tls ?? insecureServerTls(),
      opts.logger,
      opts.advertise === undefined ? { tags: null } : opts.advertise,
      opts.endpoint,
    );
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#accepted.closed) {
      const handle = await this.#driver.accept();
      if (!handle) break;
      this.#serve(handle);
    }
  }

  async #serve(handle: QuicConnHandle): Promise<void> {
    try {
      this.#byRemote.set(handle.remote, handle);
      handle.closed.then(() => {
        if (this.#byRemote.get(handle.remote) === handle) this.#byRemote.delete(handle.remote);
      });
      const stream = await handle.acceptStream();
      if (!stream) return;
      const rest = await consumeZeroByte(stream, 60_000);
      const conn = toConn(this.#mesh, stream, rest, handle, () => {});
      if (!this.#accepted.push(conn)) closeQuietly(handle, "listener closed");
    } catch (e) {
      this.#logger.debug(
        `stream listener ${this.service}: dropping connection from ${handle.remote}: ${
          errorText(e)
        }`,
      );
      try {
        handle.close(500, errorText(e));
      } catch { /* closed */ }
    }
  }

  /** The next accepted connection, or null once closed. */
  accept(): Promise<MeshStreamConn | null> {
    return this.#accepted.take();
  }

  /** Stop listening: withdraw the advertisement, close the endpoint. */
  close(): void {
    if (this.#accepted.closed) return;
    this.#accepted.close();
    try {
      this.#mesh.unadvertise(this.service);
    } catch { /* not advertised */ }
    this.#driver.close();
    this.#transport.close();
  }
}

/**
 * Dial `service` on `node`: fresh ephemeral service, QUIC handshake (15 s), one stream with the
 * `00` byte. A "service unknown" unreachable about the target aborts at once.
 */
export async function dialStream(
  mesh: MeshNode,
  node: string,
  service: string,
  opts: { logger: Logger; tls?: StreamClientTls; timeoutMs?: number },
): Promise<MeshStreamConn> {
  const target = node.toLowerCase() === "localhost" ? mesh.nodeId : node;
  const tls = opts.tls ?? insecureClientTls();
  const transport = new MeshDatagramTransport(mesh);
  const endpoint = new QuicEndpoint({
    role: "client",
    transport: { ...TRANSPORT, keepAliveInterval: 15_000 },
    tls: () => ({
      role: "client",
      alpn: [NETCEPTOR_ALPN],
      cipherSuites: MESH_CIPHER_SUITES,
      certificateChain: tls.certificateChain,
      privateKey: tls.privateKey,
      verifyPeer: tls.verifyServer,
      initialKeyShares: tls.initialKeyShares,
    }),
  });
  const driver = new QuicDriver(endpoint, transport);
  const cleanup = () => {
    driver.close();
    transport.close();
  };
  let abort: (e: Error) => void = () => {};
  const aborted = new Promise<never>((_, rej) => (abort = rej));
  let dialed: QuicConnHandle | undefined;
  transport.onSendError((_remote, message) => {
    if (dialed) {
      const h = dialed;
      queueMicrotask(() => closeQuietly(h, message));
    } else abort(new Error(message));
  });
  transport.onUnreachable((n) => {
    if (n.Problem === "service unknown" && n.ToNode === target && n.ToService === service) {
      abort(new Error(`service unknown: ${service} on ${target}`));
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(
      () => rej(new Error(`timeout dialing ${service} on ${target}`)),
      opts.timeoutMs ?? 15_000,
    );
  });
  try {
    const handle = await Promise.race([driver.connect(`${target}:${service}`), aborted, timeout]);
    dialed = handle;
    const stream = await Promise.race([handle.openStream(), aborted, timeout]);
    const w = stream.writable.getWriter();
    await w.write(ZERO);
    w.releaseLock();
    // After our CONNECTION_CLOSE, keep the ephemeral service bound for a moment: the closing
    // connection absorbs the peer's last packets (and repeats the close if it was lost)
    // instead of the node answering each with a "service unknown" unreachable.
    return toConn(
      mesh,
      stream,
      stream.readable,
      handle,
      () => setTimeout(cleanup, CLOSE_DRAIN_MS),
    );
  } catch (e) {
    cleanup();
    throw goDialError(e);
  } finally {
    clearTimeout(timer);
  }
}
