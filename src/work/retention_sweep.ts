/**
 * The shell around {@link chooseForRelease}: every `intervalMs` it reads the engine's units,
 * asks the sans-IO decision which finished units to release (oldest first, bounded per sweep),
 * releases them through the engine and logs each release. One sweep at a time.
 * @module
 */

import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";
import { formatGoDuration } from "../gocompat/duration.ts";
import { msToNs } from "../clock.ts";
import type { WorkEngine } from "./engine.ts";
import type { WorkOpResult } from "./unit_type.ts";
import { stateName } from "./status_file.ts";
import {
  chooseForRelease,
  DEFAULT_MAX_PER_SWEEP,
  retentionEnabled,
  type RetentionLimits,
} from "./retention.ts";

/** Options of {@link RetentionSweep}. */
export interface RetentionSweepOptions {
  engine: WorkEngine;
  logger: Logger;
  limits: RetentionLimits;
  /** Sweep period (ms). */
  intervalMs: number;
  /** Wall clock in ms (default Date.now); finish times are status-file modification times. */
  now?: () => number;
}

/** Periodic automatic release of finished units. */
export class RetentionSweep {
  readonly #o: RetentionSweepOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | null = null;

  constructor(opts: RetentionSweepOptions) {
    this.#o = opts;
  }

  /** Start sweeping (no-op when no limit is set); the first sweep runs at once. */
  start(): void {
    if (!retentionEnabled(this.#o.limits) || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.sweep(), this.#o.intervalMs);
    Deno.unrefTimer(this.#timer as unknown as number);
    void this.sweep();
  }

  /** One sweep (skipped while the previous one is still running). */
  sweep(): Promise<void> {
    if (!this.#running) this.#running = this.#sweep().finally(() => this.#running = null);
    return this.#running;
  }

  async #sweep(): Promise<void> {
    const { engine, logger, limits } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    let units;
    try {
      units = await engine.retentionView();
    } catch (e) {
      logger.error(`retention: cannot list work units: ${errorText(e)}`);
      return;
    }
    const states = new Map(units.map((u) => [u.id, u.state]));
    const cap = limits.maxPerSweep ?? DEFAULT_MAX_PER_SWEEP;
    const chosen = chooseForRelease(units, { ...limits, maxPerSweep: cap + 1 }, now);
    if (chosen.length > cap) {
      logger.info(`retention: more than ${cap} units to release; the rest go in the next sweeps`);
      chosen.length = cap;
    }
    for (const c of chosen) {
      if (this.#timer === undefined) return; // stopped
      const why = c.reason === "age"
        ? `finished ${fmt(roundSec(now - c.finishedAt))} ago, maxage ${fmt(limits.maxAgeMs ?? 0)}`
        : `more than maxcount ${limits.maxCount} finished units`;
      const state = stateName(states.get(c.id) ?? -1);
      try {
        const r = await this.#releaseOne(c.id);
        logger.info(
          r === "pending"
            ? `retention: release of work unit ${c.id} (${state}) pending: ${why}`
            : r === "forced"
            ? `retention: released work unit ${c.id} (${state}; its remote copy was already gone): ${why}`
            : `retention: released work unit ${c.id} (${state}): ${why}`,
        );
      } catch (e) {
        logger.warning(`retention: could not release work unit ${c.id}: ${errorText(e)}`);
      }
    }
  }

  /**
   * Release one unit. A remote unit whose executor no longer knows it cannot be released
   * normally (upstream #451: only force-release removes it); there is nothing left to release
   * there, so retention force-releases it.
   */
  async #releaseOne(id: string): Promise<WorkOpResult | "forced"> {
    try {
      return await this.#o.engine.release(id, false);
    } catch (e) {
      if (!/^error cancelling remote unit: .*unknown work unit/.test(errorText(e))) throw e;
      await this.#o.engine.release(id, true);
      return "forced";
    }
  }

  /** Stop sweeping and wait for a sweep in progress. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

function fmt(ms: number): string {
  return formatGoDuration(msToNs(ms));
}

function roundSec(ms: number): number {
  return Math.max(0, Math.round(ms / 1000) * 1000);
}
