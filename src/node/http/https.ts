/**
 * HTTPS for the observability endpoint on node:net + node:tls, because Deno's own TLS server
 * cannot ask for client certificates. The `tls-server` material is read per connection (hot
 * reload) and checked with our certificate verifier (chain to `clientcas`, pins), as for the
 * control service. HTTP/1.1 here is the small subset the endpoint needs: one GET per connection,
 * a bounded request head, the response body streamed (server-sent events), then close.
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { LoadedTlsServer } from "../../certs/tls_config.ts";
import { type ConnLike, tlsServerOverSocket } from "../../certs/tls_stream.ts";
import type { Logger } from "../../log.ts";
import { errorText } from "../../util/error_text.ts";

/** TLS handshake plus request head deadline. */
export const HTTPS_REQUEST_TIMEOUT_MS = 10_000;
/** Largest request head accepted. */
export const MAX_REQUEST_HEAD = 16 * 1024;
/** Most HTTPS connections at once; more are closed at accept (and logged). */
export const MAX_HTTPS_CONNECTIONS = 64;

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/** Read the request head (up to the blank line); null on timeout, overflow or EOF. */
async function readHead(conn: ConnLike): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) =>
    timer = setTimeout(() => r(null), HTTPS_REQUEST_TIMEOUT_MS)
  );
  const read = (async () => {
    const dec = new TextDecoder();
    const buf = new Uint8Array(4096);
    let head = "";
    while (head.length <= MAX_REQUEST_HEAD) {
      const n = await conn.read(buf);
      if (n === null) return null;
      head += dec.decode(buf.subarray(0, n), { stream: true });
      const end = head.indexOf("\r\n\r\n");
      if (end >= 0) return head.slice(0, end);
    }
    return null;
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function respond(conn: ConnLike, sock: tls.TLSSocket, res: Response, head: boolean) {
  const lines = [`HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}`];
  res.headers.forEach((v, k) => lines.push(`${k}: ${v}`));
  lines.push("connection: close", "", "");
  const enc = new TextEncoder();
  const reader = res.body?.getReader();
  sock.once("close", () => reader?.cancel().catch(() => {}));
  try {
    await conn.write(enc.encode(lines.join("\r\n")));
    if (reader && !head) {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await conn.write(value);
      }
    }
  } catch { /* client went away */ }
  await reader?.cancel().catch(() => {});
  sock.end();
}

async function serve(
  conn: ConnLike,
  sock: tls.TLSSocket,
  hostHeader: string,
  handler: (req: Request) => Promise<Response>,
): Promise<void> {
  const head = await readHead(conn);
  if (head === null) {
    sock.destroy();
    return;
  }
  const [method, target] = head.split("\r\n", 1)[0].split(" ");
  if (!method || !target?.startsWith("/")) {
    await respond(conn, sock, new Response("bad request\n", { status: 400 }), false);
    return;
  }
  const res = await handler(new Request(`https://${hostHeader}${target}`, { method }));
  await respond(conn, sock, res, method === "HEAD");
}

/** Listen for HTTPS on `hostname:port`, answering each request with `handler`. */
export async function listenHttps(
  hostname: string,
  port: number,
  config: () => LoadedTlsServer,
  handler: (req: Request) => Promise<Response>,
  logger: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    raw.on("error", () => {});
    if (sockets.size >= MAX_HTTPS_CONNECTIONS) {
      logger.warning(`observability: ${MAX_HTTPS_CONNECTIONS} HTTPS connections open; refusing`);
      raw.destroy();
      return;
    }
    sockets.add(raw);
    raw.once("close", () => sockets.delete(raw));
    let loaded: LoadedTlsServer;
    try {
      loaded = config();
    } catch (e) {
      logger.error(`observability TLS: ${errorText(e)}`);
      raw.destroy();
      return;
    }
    const { sock, handshake } = tlsServerOverSocket(raw, loaded, HTTPS_REQUEST_TIMEOUT_MS);
    sock.on("error", () => {});
    const from = `${raw.remoteAddress}:${raw.remotePort}`;
    handshake
      .then(
        (r) => serve(r.stream, sock, `${hostname}:${port}`, handler),
        (e) => {
          logger.warning(`observability: TLS connection from ${from} refused: ${e.message}`);
          raw.destroy();
        },
      ).catch((e) => {
        logger.debug(`observability: HTTPS request failed: ${errorText(e)}`);
        raw.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => resolve());
  });
  server.on("error", (e: Error) => logger.error(`observability HTTPS listener: ${e.message}`));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      server.close();
      for (const s of sockets) s.destroy();
      return Promise.resolve();
    },
  };
}
