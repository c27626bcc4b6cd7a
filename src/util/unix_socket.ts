/**
 * Unix socket listeners as upstream makes them (control.md §1.2, config.md §3.9): an exclusive
 * lock on `<path>.lock`, any stale file at `path` removed, then listen and chmod. Used by the
 * control service and the `unix-socket-server` proxy.
 * @module
 */

import { errorText } from "./error_text.ts";
import { closeQuietly } from "./close_quietly.ts";

/** A Unix socket could not be opened (message starts `error opening Unix socket:`). */
export class UnixSocketError extends Error {}

/** The accepting side of a listener (Deno.Listener satisfies it). */
export interface ConnAcceptor {
  accept(): Promise<Deno.Conn>;
}

/** A listening Unix socket guarded by an exclusive lock on `<path>.lock`. */
export interface LockedUnixListener {
  /** Accept connections through this (not a raw listener), so close knows when it is released. */
  listener: ConnAcceptor;
  /**
   * Stop listening and remove the socket file; the lock is released once the listener is
   * really gone (see {@link released}).
   */
  close(): void;
  /** Resolves once the lock is released (a new listener at the path may then start). */
  released: Promise<void>;
}

/** How long a new listener waits for a predecessor (e.g. a restart) to release the lock. */
const LOCK_WAIT_MS = 2000;

async function lockWithin(lock: Deno.FsFile, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  if (lock.tryLockSync(true)) return true; // the usual case, without a thread-pool round trip
  for (;;) {
    if (await lock.tryLock(true)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Lock `<path>.lock`, remove whatever is at `path`, listen there and chmod it to
 * `permissions`. Errors read `error opening Unix socket: ...` as upstream's do.
 *
 * The file operations are synchronous (local, microseconds): each async one is a round trip
 * through the runtime's blocking thread pool, and on a CPU-starved host every such hand-off
 * waits for a time slice before the control socket can be bound (issue 11).
 */
export async function listenUnixLocked(
  path: string,
  permissions: number,
): Promise<LockedUnixListener> {
  const fail = (why: string) => new UnixSocketError(`error opening Unix socket: ${why}`);
  let lock: Deno.FsFile;
  try {
    lock = Deno.openSync(`${path}.lock`, { create: true, write: true, mode: 0o600 });
  } catch (e) {
    throw fail(`could not open lock file ${path}.lock: ${errorText(e)}`);
  }
  if (!(await lockWithin(lock, LOCK_WAIT_MS))) {
    lock.close();
    throw fail(`could not acquire lock on socket file ${path}.lock`);
  }
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      lock.close();
      throw fail(`could not remove old socket file ${path}: ${errorText(e)}`);
    }
  }
  let listener: Deno.UnixListener;
  let inode: number | null;
  try {
    listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, permissions);
    inode = Deno.lstatSync(path).ino;
  } catch (e) {
    lock.close();
    throw fail(`${path}: ${errorText(e)}`);
  }
  let closed = false;
  let pending: Promise<unknown> = Promise.resolve();
  let resolveReleased!: () => void;
  const released = new Promise<void>((r) => resolveReleased = r);
  return {
    listener: {
      accept() {
        const p = listener.accept();
        pending = p.catch(() => {});
        return p;
      },
    },
    released,
    close() {
      if (closed) return;
      closed = true;
      closeQuietly(listener);
      try {
        if (Deno.lstatSync(path).ino === inode) Deno.removeSync(path);
      } catch { /* gone */ }
      // Deno unlinks the socket path again when the listener resource is dropped, which for a
      // listener with an accept in flight is only once that accept has failed. Hold the lock
      // until then, so that nobody can have made a new socket at `path` for that unlink to hit.
      pending.then(() => {
        lock.close();
        resolveReleased();
      });
    },
  };
}
