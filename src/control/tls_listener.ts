/**
 * Control service over TCP + TLS (`tcplisten` with `tcptls`, control.md §1.3), via node:net and
 * node:tls (Deno's own TLS listener cannot ask for client certificates). Each connection gets
 * the `tls-server` material current at accept time (hot reload), a 10 s handshake deadline
 * (failure or timeout: closed without a banner), and our certificate verifier (chain to
 * `clientcas`, clientAuth EKU, pins). receptorctl ends an upload with a raw TCP half-close and
 * no close_notify: that is an ordinary end of input here, and the reply is still written.
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { LoadedTlsServer } from "../certs/tls_config.ts";
import { tlsServerOverSocket } from "../certs/tls_stream.ts";
import {
  type Closer,
  type ControlServiceContext,
  ControlStartError,
  parseTcpListen,
  serveConnection,
} from "./server.ts";
import type { DuplexConn } from "./session.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** Control-service TLS handshake deadline (config.md §4.3). */
export const CONTROL_TLS_HANDSHAKE_MS = 10_000;

/** Adapt a connected TLS socket to a {@link DuplexConn} that survives the peer's half-close. */
export function duplexFromTlsSocket(sock: tls.TLSSocket): DuplexConn {
  let closed = false;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        closeQuietly(controller);
      };
      sock.on("data", (d: Uint8Array) => {
        if (ended) return;
        controller.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice());
        if ((controller.desiredSize ?? 1) <= 0) sock.pause();
      });
      // A FIN without close_notify may surface as an error: for us it is EOF.
      sock.on("end", end);
      sock.on("close", end);
      sock.on("error", end);
    },
    pull() {
      if (sock.isPaused()) sock.resume();
    },
    cancel() {
      sock.pause();
    },
  }, { highWaterMark: 4 });
  const writeChunk = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      if (sock.destroyed || !sock.writable) {
        reject(new Error("tls: write on a closed connection"));
        return;
      }
      sock.write(chunk, (err?: Error | null) => (err ? reject(err) : resolve()));
    });
  const endWrite = () =>
    new Promise<void>((resolve) => {
      if (sock.destroyed || sock.writableEnded) return resolve();
      sock.end(() => resolve());
    });
  const close = () => {
    if (closed) return;
    closed = true;
    // Flush what is queued, then drop the socket even if the peer never closes its side.
    sock.end();
    const t = setTimeout(() => sock.destroy(), 2000);
    Deno.unrefTimer(t as unknown as number);
    sock.once("close", () => clearTimeout(t));
  };
  return {
    readable,
    writable: new WritableStream<Uint8Array>({ write: writeChunk, close: endWrite }),
    closeWrite: endWrite,
    close,
  };
}

/**
 * Listen on `spec` (`port` or `host:port`) with TLS from `config()` (called per connection,
 * so a reloaded certificate applies to new connections). Returns the closer and bound port.
 */
export async function listenTlsControl(
  ctx: ControlServiceContext,
  spec: string,
  config: () => LoadedTlsServer,
): Promise<Closer & { port: number }> {
  const { hostname, port } = parseTcpListen(spec);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (raw) => {
    sockets.add(raw);
    raw.once("close", () => sockets.delete(raw));
    raw.on("error", () => {});
    let loaded: LoadedTlsServer;
    try {
      loaded = config();
    } catch (e) {
      ctx.logger.error(`control service TLS: ${errorText(e)}`);
      raw.destroy();
      return;
    }
    const { sock, handshake } = tlsServerOverSocket(raw, loaded, CONTROL_TLS_HANDSHAKE_MS);
    // Keep the TLS layer open for our reply after the client's half-close.
    (sock as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
    const from = `${raw.remoteAddress}:${raw.remotePort}`;
    handshake
      .then(
        () => serveConnection(ctx, duplexFromTlsSocket(sock), "tls"),
        (e) => {
          ctx.logger.warning(`control service TLS connection from ${from} refused: ${e.message}`);
          raw.destroy();
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once(
      "error",
      (e: Error) =>
        reject(new ControlStartError(`error listening on TCP ${hostname}:${port}: ${e.message}`)),
    );
    server.listen(port, hostname, () => resolve());
  });
  server.on("error", (e: Error) => ctx.logger.error(`control service TLS listener: ${e.message}`));
  const bound = (server.address() as net.AddressInfo).port;
  ctx.logger.debug(`Control service listening on TCP+TLS ${hostname}:${bound}`);
  let closed = false;
  return {
    port: bound,
    close() {
      if (closed) return;
      closed = true;
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
