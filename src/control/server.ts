/**
 * Control-service listeners (control.md §1.1–1.3): a Unix socket (locked, stale file
 * replaced, chmod'ed), a plain TCP listener, and hooks for TLS and mesh transports. Each
 * accepted connection runs {@link runControlSession}.
 * @module
 */
import type { ControlCommand, ControlTransportKind } from "./types.ts";
import { type DuplexConn, runControlSession } from "./session.ts";
import { duplexFromConn } from "./conn_duplex.ts";
import { type ConnAcceptor, listenUnixLocked } from "../util/unix_socket.ts";
import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import { acceptLoop } from "../util/accept_loop.ts";

/** Error raised when a control listener cannot start. */
export class ControlStartError extends Error {}

/** Shared by every listener of one control service. */
export interface ControlServiceContext {
  nodeId: string;
  commands: ReadonlyMap<string, ControlCommand>;
  logger: Logger;
  /** Told of every accepted session (metrics). */
  onSession?: (transport: ControlTransportKind) => void;
}

/** Something that can be stopped. */
export interface Closer {
  close(): void;
}

/** Serve one accepted connection. */
export function serveConnection(
  ctx: ControlServiceContext,
  conn: DuplexConn,
  transport: ControlTransportKind,
  remoteNode?: string,
): Promise<void> {
  ctx.onSession?.(transport);
  return runControlSession(conn, {
    nodeId: ctx.nodeId,
    transport,
    remoteNode,
    commands: ctx.commands,
    logger: ctx.logger,
  });
}

function serveAccepted(
  listener: ConnAcceptor,
  ctx: ControlServiceContext,
  transport: ControlTransportKind,
  isClosed: () => boolean,
): Promise<void> {
  return acceptLoop(listener, "control service", ctx.logger, isClosed, (conn) => {
    serveConnection(ctx, duplexFromConn(conn), transport);
  });
}

/** Listen on a Unix socket: lock `<path>.lock`, remove a stale socket, listen, chmod. */
export async function listenUnixControl(
  ctx: ControlServiceContext,
  path: string,
  permissions: number,
): Promise<Closer> {
  let sock;
  try {
    sock = await listenUnixLocked(path, permissions);
  } catch (e) {
    throw new ControlStartError(errorText(e));
  }
  let closed = false;
  serveAccepted(sock.listener, ctx, "unix", () => closed);
  ctx.logger.debug(`Control service listening on Unix socket ${path}`);
  return {
    close() {
      closed = true;
      sock.close();
    },
  };
}

/** Parse `tcplisten`: a bare port binds 0.0.0.0, else `host:port`. */
export function parseTcpListen(spec: string): { hostname: string; port: number } {
  const s = spec.trim();
  if (/^\d+$/.test(s)) return { hostname: "0.0.0.0", port: Number(s) };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]*):(\d+)$/.exec(s);
  if (!m) throw new ControlStartError(`invalid tcplisten address ${JSON.stringify(spec)}`);
  return { hostname: m[1] || "0.0.0.0", port: Number(m[2]) };
}

/** Listen on plain TCP. Returns the closer and the bound port. */
export function listenTcpControl(
  ctx: ControlServiceContext,
  spec: string,
): Closer & { port: number } {
  const { hostname, port } = parseTcpListen(spec);
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port });
  } catch (e) {
    throw new ControlStartError(
      `error listening on TCP ${hostname}:${port}: ${errorText(e)}`,
    );
  }
  let closed = false;
  serveAccepted(listener, ctx, "tcp", () => closed);
  const bound = (listener.addr as Deno.NetAddr).port;
  ctx.logger.debug(`Control service listening on TCP ${hostname}:${bound}`);
  return {
    port: bound,
    close() {
      if (closed) return;
      closed = true;
      closeQuietly(listener);
    },
  };
}
