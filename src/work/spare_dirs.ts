/**
 * Spare unit directories: a released unit's directory, emptied, is kept for the next unit
 * instead of being deleted and created again.
 *
 * Why: on ext4 without a journal (this project's machines, and common on VMs) every new inode
 * is searched for past each inode freed in the last ~30 s of its block group
 * (`find_inode_bit` → `recently_deleted`, one buffer-cache lookup each), so creating files gets
 * slower the more files were deleted just before — by this node's own units, other processes
 * in the same directory tree, or both. Measured with `perf` during a 2-hop rate run: 12% of all
 * CPU was in `__ext4_new_inode`, ~5 ms per unit. A unit made 5 (submitter) or 6 (executor)
 * inodes; reusing the directory with its `status`, `status.lock` and `rc` saves 3 (submitter)
 * or 4 (executor) of them and as many deletions.
 *
 * Only files no job ever gets a descriptor of are kept (`status`, `status.lock`, and the
 * wrapper's `rc`, which it opens by path when its job ends; an unreadable `rc` reads as "not
 * finished"): a job's `stdin`/`stdout` may still be open in a process that outlived
 * its unit, so they (and everything else) are deleted as before.
 * A retired directory leaves the units directory by one rename (a crash never shows a half-
 * deleted unit), is then emptied, its `status` made unreadable under the status lock (a crash
 * right after a later {@link SpareDirs.take} leaves an unreadable unit, as a crash right after
 * a `mkdir` did). The spare root is wiped at start-up. At most `limit` spares are kept.
 * @module
 */
import { rcPath } from "./sh_runner.ts";
import { unitPaths, withStatusLock } from "./status_file.ts";

/** Spare directories kept at most, by default (each is one directory and two small files). */
export const DEFAULT_SPARE_DIRS = 64;

const KEEP = new Set(["status", "status.lock", "rc"]);
const NEWLINE = new Uint8Array([0x0a]);
const NOT_A_DIGIT = new Uint8Array([0x78]); // "x"

/** Write `byte` at offset 0 of an existing file (an empty file gets it as its content). */
function overwriteFirstByte(path: string, byte: Uint8Array): void {
  const f = Deno.openSync(path, { write: true });
  try {
    f.writeSync(byte);
  } finally {
    f.close();
  }
}

/** A bounded pool of emptied unit directories under `root` (same filesystem as the units). */
export class SpareDirs {
  readonly #root: string;
  readonly #limit: number;
  readonly #free: string[] = [];
  #seq = 0;
  /** Retirements under way (counted against the limit). */
  #pending = 0;

  /** `root`: a directory of its own beside the units directory; `limit`: spares kept. */
  constructor(root: string, limit = DEFAULT_SPARE_DIRS) {
    this.#root = root;
    this.#limit = limit;
  }

  /** Spares ready now. */
  get size(): number {
    return this.#free.length;
  }

  /** Wipe what an earlier process left and create the root (call once before use). */
  async init(): Promise<void> {
    await Deno.remove(this.#root, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.mkdir(this.#root, { recursive: true, mode: 0o700 });
  }

  /**
   * Move a spare to `dir` (which must not exist). False when there is none or the move
   * failed (the caller then makes the directory itself).
   */
  take(dir: string): boolean {
    const spare = this.#free.pop();
    if (spare === undefined) return false;
    try {
      Deno.renameSync(spare, dir);
      return true;
    } catch {
      Deno.remove(spare, { recursive: true }).catch(() => {});
      return false;
    }
  }

  /**
   * Remove a released unit's directory: kept as a spare when there is room, else deleted.
   * Throws what deleting throws (NotFound when it is already gone).
   */
  async retire(dir: string): Promise<void> {
    if (this.#free.length + this.#pending >= this.#limit) {
      return await Deno.remove(dir, { recursive: true });
    }
    const spare = `${this.#root}/${++this.#seq}`;
    this.#pending++;
    try {
      try {
        Deno.renameSync(dir, spare);
      } catch {
        // not movable (gone, or no spare root): delete as before, which says which
        return await Deno.remove(dir, { recursive: true });
      }
      try {
        await this.#empty(spare);
      } catch {
        await Deno.remove(spare, { recursive: true }).catch(() => {});
        return;
      }
      this.#free.push(spare);
    } finally {
      this.#pending--;
    }
  }

  /**
   * Delete everything but the {@link KEEP} files and make those unreadable by overwriting their
   * first byte: `status` gets an empty first line (under its lock), `rc` a non-digit. Not cut
   * to zero: freeing a file's blocks on this filesystem (mounted `discard`, no journal) waits
   * for the disk's discard on the event loop (measured ~1.1 ms wall per written-back file,
   * against ~0.1 ms for the one-byte write).
   */
  async #empty(spare: string): Promise<void> {
    const gone: Promise<void>[] = [];
    let hasStatus = false;
    for (const e of Deno.readDirSync(spare)) {
      if (!KEEP.has(e.name) || !e.isFile) {
        gone.push(Deno.remove(`${spare}/${e.name}`, { recursive: true }));
      } else if (e.name === "status") hasStatus = true;
      else if (e.name === "rc") overwriteFirstByte(rcPath(spare), NOT_A_DIGIT);
    }
    await Promise.all(gone);
    if (!hasStatus) return;
    await withStatusLock(spare, () => overwriteFirstByte(unitPaths(spare).status, NEWLINE));
  }
}
