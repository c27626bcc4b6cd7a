/**
 * PATH search for an executable, remembered between calls. Every command unit looks up `sh`
 * (and `setsid`) on PATH; a plain search stats each earlier PATH directory's candidate and
 * each miss throws a NotFound error, ~0.8 ms of CPU per unit. The remembered answer stays
 * exact: it is reused only while the found file is still an executable regular file and every
 * directory searched before it has the modification time it had when the name was missing
 * there (creating or renaming a file into a directory changes its mtime; directories changed
 * in the last 2 s are not trusted, as mtimes have a coarse tick; a missing directory is
 * watched through its nearest existing ancestor). A miss on a file
 * that exists but is not executable is not remembered (a chmod changes no directory).
 * @module
 */

interface Found {
  file: string;
  /** Directories searched before `file`, with their mtime (ms) when `name` was absent. */
  misses: { dir: string; mtime: number }[];
}

/** Bound on remembered (PATH, name) answers; the table is cleared when full. */
const MAX_REMEMBERED = 64;
const remembered = new Map<string, Found>();
/** A directory modified this recently (ms) is searched again next time. */
const RECENT_MS = 2000;

function executable(file: string): boolean {
  try {
    const st = Deno.statSync(file);
    return st.isFile && st.mode !== null && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function dirMtime(dir: string): number | null {
  try {
    const st = Deno.statSync(dir);
    return st.mtime?.getTime() ?? null;
  } catch {
    return null;
  }
}

/**
 * A missing PATH directory (a common case: `~/go/bin`) is watched through its nearest existing
 * ancestor, whose mtime changes when the missing part is created; the ancestor's mtime is read
 * after the probe found the directory missing, so a creation in between shows as recent.
 */
function existingAncestor(dir: string): { dir: string; mtime: number } | null {
  let d = dir;
  for (let i = 0; i < 64; i++) {
    const cut = d.lastIndexOf("/");
    if (cut < 0) return null;
    d = cut === 0 ? "/" : d.slice(0, cut);
    const mtime = dirMtime(d);
    if (mtime !== null) return { dir: d, mtime };
    if (d === "/") return null;
  }
  return null;
}

function stillValid(f: Found): boolean {
  if (!executable(f.file)) return false;
  for (const m of f.misses) if (dirMtime(m.dir) !== m.mtime) return false;
  return true;
}

/** Full search; returns what to remember (null misses when the answer must not be kept). */
function search(dirs: string[], name: string): { file: string | null; keep: boolean; f?: Found } {
  const misses: { dir: string; mtime: number }[] = [];
  // a relative directory depends on the working directory: never remembered
  let keep = dirs.every((d) => d.startsWith("/"));
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    // the mtime is read BEFORE the probe, so a file created in between invalidates the answer
    const mtime = dirMtime(dir);
    try {
      const st = Deno.statSync(candidate);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) {
        return { file: candidate, keep, f: { file: candidate, misses } };
      }
      keep = false; // present but not executable: a chmod would not show in the mtime
    } catch {
      // a directory changed in the last seconds is not trusted (mtimes are read in ms and set at a coarse tick, so a
      // file created in the same tick would not show)
      const watch = mtime === null ? existingAncestor(dir) : { dir, mtime };
      if (!watch || watch.mtime > Date.now() - RECENT_MS) keep = false;
      else misses.push(watch);
    }
  }
  return { file: null, keep: false };
}

/**
 * The first `dir/name` that is an executable regular file, searching `dirs` in order, or null.
 * Same answer as a fresh search each time (see the module note), at one or a few `stat`s.
 */
export function searchExecutable(dirs: string[], name: string): string | null {
  const key = `${dirs.join(":")}\0${name}`;
  const known = remembered.get(key);
  if (known && stillValid(known)) return known.file;
  remembered.delete(key);
  const r = search(dirs, name);
  if (r.keep && r.f) {
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(key, r.f);
  }
  return r.file;
}
