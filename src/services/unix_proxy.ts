/**
 * Unix socket proxies (config.md §3.9): `unix-socket-server` creates (overwrites) a Unix
 * socket and forwards each connection to a mesh stream service (`tls` = tls-client);
 * `unix-socket-client` offers a mesh service (ad type `Unix Proxy`) and forwards each
 * connection to an existing Unix socket (`tls` = tls-server on the mesh side).
 * @module
 */
import type { UnixSocketClientSection, UnixSocketServerSection } from "../config/types.ts";
import { type ByteChannel, connChannel } from "./channel.ts";
import { bridge, BridgeSet } from "./bridge.ts";
import {
  checkRemoteService,
  clientTlsNamed,
  dialMeshChannel,
  listenMeshChannels,
  type RunningService,
  type ServiceDeps,
  ServiceStartError,
} from "./common.ts";

/** A listening Unix socket guarded by an exclusive lock on `<path>.lock`. */
export interface LockedUnixListener {
  listener: Deno.UnixListener;
  /** Close the listener, remove the socket file and release the lock. */
  close(): void;
}

/**
 * Lock `<path>.lock`, remove whatever is at `path`, listen there and chmod it to
 * `permissions`. Errors read `error opening Unix socket: ...` as upstream's do.
 */
export async function listenUnixLocked(
  path: string,
  permissions: number,
): Promise<LockedUnixListener> {
  const fail = (why: string) => new ServiceStartError(`error opening Unix socket: ${why}`);
  let lock: Deno.FsFile;
  try {
    lock = await Deno.open(`${path}.lock`, { create: true, write: true, mode: 0o600 });
  } catch (e) {
    throw fail(`could not open lock file ${path}.lock: ${e instanceof Error ? e.message : e}`);
  }
  if (!(await lock.tryLock(true))) {
    lock.close();
    throw fail(`could not acquire lock on socket file ${path}.lock`);
  }
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      lock.close();
      throw fail(`could not remove old socket file ${path}: ${e instanceof Error ? e.message : e}`);
    }
  }
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, permissions);
  } catch (e) {
    lock.close();
    throw fail(`${path}: ${e instanceof Error ? e.message : e}`);
  }
  let closed = false;
  return {
    listener,
    close() {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch { /* closed */ }
      try {
        Deno.removeSync(path);
      } catch { /* gone */ }
      lock.close();
    },
  };
}

/** Start a `unix-socket-server`: Unix socket `filename` → `remotenode`/`remoteservice`. */
export async function startUnixSocketServer(
  s: UnixSocketServerSection,
  deps: ServiceDeps,
): Promise<RunningService> {
  const { logger } = deps;
  checkRemoteService(s.remoteservice);
  clientTlsNamed(deps, s.tls);
  const sock = await listenUnixLocked(s.filename, s.permissions);
  const bridges = new BridgeSet();
  let closed = false;
  const handle = async (conn: Deno.Conn) => {
    const local = connChannel(conn, `Unix socket ${s.filename}`);
    let remote: ByteChannel;
    try {
      remote = await dialMeshChannel(
        deps,
        s.remotenode,
        s.remoteservice,
        clientTlsNamed(deps, s.tls),
      );
    } catch (e) {
      logger.error(`Error connecting on Receptor network: ${e instanceof Error ? e.message : e}`);
      local.close(false);
      return;
    }
    if (closed) {
      local.close(false);
      remote.close(false);
      return;
    }
    bridges.add(bridge(local, remote, logger));
  };
  (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await sock.listener.accept();
      } catch (e) {
        if (!closed) {
          logger.error(
            `Error accepting Unix socket connection: ${e instanceof Error ? e.message : e}`,
          );
        }
        return;
      }
      handle(conn);
    }
  })();
  logger.debug(`unix-socket-server ${s.filename} → ${s.remotenode}:${s.remoteservice}`);
  return {
    description: `unix-socket-server ${s.filename} → ${s.remotenode}/${s.remoteservice}`,
    close() {
      if (closed) return;
      closed = true;
      sock.close();
      bridges.abortAll();
    },
  };
}

/** Start a `unix-socket-client`: mesh service `service` → Unix socket `filename`. */
export function startUnixSocketClient(
  s: UnixSocketClientSection,
  deps: ServiceDeps,
): RunningService {
  const { logger } = deps;
  const bridges = new BridgeSet();
  let closed = false;
  const listener = listenMeshChannels(
    deps,
    s.service,
    s.tls,
    { type: "Unix Proxy", filename: s.filename },
    async (remote) => {
      let local: ByteChannel;
      try {
        const conn = await Deno.connect({ transport: "unix", path: s.filename });
        local = connChannel(conn, `Unix socket ${s.filename}`);
      } catch (e) {
        logger.error(`Error connecting via Unix socket: ${e instanceof Error ? e.message : e}`);
        remote.close(false);
        return;
      }
      if (closed) {
        local.close(false);
        remote.close(false);
        return;
      }
      bridges.add(bridge(remote, local, logger));
    },
  );
  logger.debug(`unix-socket-client: mesh service ${s.service} → ${s.filename}`);
  return {
    description: `unix-socket-client ${s.service} → ${s.filename}`,
    close() {
      if (closed) return;
      closed = true;
      listener.close();
      bridges.abortAll();
    },
  };
}
