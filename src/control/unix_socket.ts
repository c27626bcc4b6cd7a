/**
 * Unix socket listeners as upstream makes them (control.md §1.2, config.md §3.9): an exclusive
 * lock on `<path>.lock`, any stale file at `path` removed, then listen and chmod. Used by the
 * control service and the `unix-socket-server` proxy.
 * @module
 */

/** A Unix socket could not be opened (message starts `error opening Unix socket:`). */
export class UnixSocketError extends Error {}

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
  const fail = (why: string) => new UnixSocketError(`error opening Unix socket: ${why}`);
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
