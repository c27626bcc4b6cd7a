/**
 * Work-unit retention, sans-IO: given the node's units (ID, state, when each finished, whether a
 * release is already under way) and the configured limits, decide which finished units to release
 * now, oldest first. The engine's periodic sweep (src/work/engine.ts) feeds it and acts on the
 * answer; nothing here reads a clock or the disk.
 * @module
 */

import { isFinal } from "./status_file.ts";

/** Retention limits; an absent or zero limit is off. */
export interface RetentionLimits {
  /** Release finished units that finished at least this long ago (ms). */
  maxAgeMs?: number;
  /** Keep at most this many finished units; release the oldest beyond it. */
  maxCount?: number;
  /** Release at most this many units per decision (bounds one sweep's work). */
  maxPerSweep?: number;
}

/** One unit as retention sees it. */
export interface RetentionUnit {
  id: string;
  /** Numeric work state (control.md §4.2). */
  state: number;
  /** When it reached its final state (ms since the epoch); null when not known / not finished. */
  finishedAt: number | null;
  /** A release is already pending (e.g. a remote node unreachable): never chosen again. */
  releasePending: boolean;
}

/** A unit to release and why (for the log line). */
export interface RetentionChoice {
  id: string;
  finishedAt: number;
  reason: "age" | "count";
}

/** Default bound on releases per sweep. */
export const DEFAULT_MAX_PER_SWEEP = 100;

/**
 * The finished units to release at time `now`, oldest first: those finished at least
 * `maxAgeMs` ago, then the oldest of the rest beyond the newest `maxCount`. Active units (Pending,
 * Running), units with a pending release and units with no known finish time are never chosen
 * and do not count towards `maxCount`. At most `maxPerSweep` choices.
 */
export function chooseForRelease(
  units: readonly RetentionUnit[],
  limits: RetentionLimits,
  now: number,
): RetentionChoice[] {
  const finished = units
    .filter((u) => isFinal(u.state) && !u.releasePending && u.finishedAt !== null)
    .map((u) => ({ id: u.id, finishedAt: u.finishedAt as number }))
    // oldest first; ties broken by ID so the choice is deterministic
    .sort((a, b) => a.finishedAt - b.finishedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: RetentionChoice[] = [];
  const maxAge = limits.maxAgeMs ?? 0;
  const maxCount = limits.maxCount ?? 0;
  let kept = finished.length;
  for (const u of finished) {
    if (maxAge > 0 && now - u.finishedAt >= maxAge) {
      out.push({ ...u, reason: "age" });
      kept--;
    } else if (maxCount > 0 && kept > maxCount) {
      out.push({ ...u, reason: "count" });
      kept--;
    }
  }
  return out.slice(0, Math.max(1, limits.maxPerSweep ?? DEFAULT_MAX_PER_SWEEP));
}

/** Whether any limit is set. */
export function retentionEnabled(limits: RetentionLimits): boolean {
  return (limits.maxAgeMs ?? 0) > 0 || (limits.maxCount ?? 0) > 0;
}
