/**
 * Owner labels of work units (not upstream): a submitter may label a unit with the ordinary
 * submit parameter {@link OWNER_PARAM} (receptorctl: `-a receptor-owner=alice`; `receptor ctl
 * work submit --owner alice`). Upstream work types read only the parameters they know, so the
 * label passes through Go peers untouched. A labelled unit shows `Owner`, `Created` and
 * `Finished` in `work list`, and `receptor ctl work release --owner X --older-than D` picks
 * units with {@link selectOwned}. The label lives in its own file `<unitdir>/owner` (JSON
 * `{"Owner","Created"}`), which command runners (ours or Go's) never rewrite.
 * @module
 */

import { errorText } from "../util/error_text.ts";
import { isFinal } from "./status_file.ts";

/** A unit's owner label file name, beside its status file. */
const OWNER_FILE = "owner";

/** What the owner file holds. */
export interface OwnerLabel {
  Owner: string;
  /** RFC 3339 UTC creation time. */
  Created: string;
}

/** Write `<dir>/owner` (mode 0600). */
export async function writeOwnerFile(dir: string, label: OwnerLabel): Promise<void> {
  await Deno.writeTextFile(`${dir}/${OWNER_FILE}`, JSON.stringify(label) + "\n", { mode: 0o600 });
}

/** Read `<dir>/owner`: undefined when absent; unreadable or malformed files are reported. */
export async function readOwnerFile(
  dir: string,
  warn: (msg: string) => void,
): Promise<OwnerLabel | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${OWNER_FILE}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) warn(`owner label unreadable: ${errorText(e)}`);
    return undefined;
  }
  try {
    const o = JSON.parse(text) as { Owner?: unknown; Created?: unknown };
    if (typeof o.Owner === "string" && typeof o.Created === "string") {
      return { Owner: o.Owner, Created: o.Created };
    }
  } catch { /* reported below */ }
  warn(`ignoring malformed owner label file ${dir}/${OWNER_FILE}`);
  return undefined;
}

/**
 * The submit parameter carrying the owner label. Hyphenated and prefixed, so it cannot clash
 * with upstream's snake_case parameters (`params`, `kube_*`, `secret_*`, ...).
 */
export const OWNER_PARAM = "receptor-owner";

/** Longest owner label accepted (characters). */
export const MAX_OWNER_LENGTH = 128;

/** The error text for a bad label, or null when `owner` is acceptable. */
export function ownerLabelError(owner: string): string | null {
  if (owner === "") return `${OWNER_PARAM} must not be empty`;
  if (owner.length > MAX_OWNER_LENGTH) {
    return `${OWNER_PARAM} is longer than ${MAX_OWNER_LENGTH} characters`;
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(owner)) {
    return `${OWNER_PARAM} must not contain control characters`;
  }
  return null;
}

/** The label fields a `work list` entry of a labelled unit carries. */
export interface OwnerInfo {
  Owner: string;
  /** RFC 3339 UTC time the unit was created. */
  Created: string;
  /** RFC 3339 UTC time it reached its final state; null while active. */
  Finished: string | null;
}

/** A `work list` entry as {@link selectOwned} reads it (other keys ignored). */
export interface ListedUnit {
  State?: unknown;
  Owner?: unknown;
  Created?: unknown;
  Finished?: unknown;
}

/**
 * Units of `owner` in a `work list` reply that `release --owner` should release at time `now`
 * (ms): finished units that finished at least `olderThanMs` ago; with `includeActive`, also
 * active units created at least `olderThanMs` ago. Sorted by ID.
 */
export function selectOwned(
  list: Record<string, ListedUnit>,
  owner: string,
  olderThanMs: number,
  now: number,
  includeActive: boolean,
): string[] {
  const out: string[] = [];
  for (const [id, u] of Object.entries(list)) {
    if (u.Owner !== owner || typeof u.State !== "number") continue;
    const finished = isFinal(u.State);
    if (!finished && !includeActive) continue;
    const stamp = finished ? u.Finished : u.Created;
    const at = typeof stamp === "string" ? Date.parse(stamp) : NaN;
    if (olderThanMs > 0 && !(Number.isFinite(at) && now - at >= olderThanMs)) continue;
    out.push(id);
  }
  return out.sort();
}
