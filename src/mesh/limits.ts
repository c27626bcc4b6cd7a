/**
 * Limits on everything a peer can make one node keep (issue 10): node IDs, routing updates,
 * known nodes, the seen set, the name table, service advertisements and per-link send queues.
 * Defaults suit a 10,000-node mesh; every one can be changed in the `node` config section
 * (keys in {@link LIMIT_CONFIG_KEYS}). A hit is logged once per limit per minute, naming the
 * limit, by a {@link LimitLog}.
 * @module
 */

import type { Logger } from "../log.ts";

/** The limits of one router. All counts are entries, all sizes bytes (UTF-8). */
export interface MeshLimits {
  /**
   * Longest node ID accepted anywhere in a routing update or ad (upstream has no limit; 255 is
   * the longest host name, the default node ID).
   */
  maxNodeIdBytes: number;
  /** Longest UpdateID accepted (Go sends 8 characters). */
  maxUpdateIdBytes: number;
  /** Most connections one routing update may list. */
  maxConnectionsPerUpdate: number;
  /** Most remote nodes known (topology rows, versions, stored updates, one each). */
  maxKnownNodes: number;
  /** Most edges in the topology table, all nodes together (each costs two map entries). */
  maxEdges: number;
  /** Most bytes of stored routing updates (the newest per known node, kept for new neighbours). */
  maxStoredUpdateBytes: number;
  /** Most UpdateIDs remembered for flood dedupe (oldest forgotten first). */
  maxSeenIds: number;
  /** Most names in the node-name hash table. */
  maxNames: number;
  /** Most service advertisements stored, all nodes together. */
  maxAds: number;
  /** Most service advertisements stored per node. */
  maxAdsPerNode: number;
  /** Largest service advertisement message accepted. */
  maxAdBytes: number;
  /** Ads dated further than this into the future are clamped to now + this (ms). */
  maxAdFutureMs: number;
  /** Queued flood bytes per link above which the link is closed as too slow. */
  maxLinkQueueBytes: number;
  /** A link whose flood queue makes no progress for this long is closed (ms). */
  maxLinkStallMs: number;
}

/** Defaults for a 10,000-node mesh (see README "Limits"). */
export const DEFAULT_LIMITS: Readonly<MeshLimits> = Object.freeze({
  maxNodeIdBytes: 255,
  maxUpdateIdBytes: 64,
  maxConnectionsPerUpdate: 1024,
  maxKnownNodes: 20_000,
  maxEdges: 200_000,
  maxStoredUpdateBytes: 64 * 1024 * 1024,
  maxSeenIds: 200_000,
  maxNames: 40_000,
  maxAds: 50_000,
  maxAdsPerNode: 64,
  maxAdBytes: 16 * 1024,
  maxAdFutureMs: 5 * 60_000,
  maxLinkQueueBytes: 32 * 1024 * 1024,
  maxLinkStallMs: 60_000,
});

/** `node` section key (lower case) → limit it sets; all take a positive integer. */
export const LIMIT_CONFIG_KEYS: Readonly<Record<string, keyof MeshLimits>> = Object.freeze({
  maxnodeidbytes: "maxNodeIdBytes",
  maxupdateidbytes: "maxUpdateIdBytes",
  maxconnectionsperupdate: "maxConnectionsPerUpdate",
  maxknownnodes: "maxKnownNodes",
  maxedges: "maxEdges",
  maxstoredupdatebytes: "maxStoredUpdateBytes",
  maxseenids: "maxSeenIds",
  maxnames: "maxNames",
  maxads: "maxAds",
  maxadspernode: "maxAdsPerNode",
  maxadbytes: "maxAdBytes",
  maxadfuturems: "maxAdFutureMs",
  maxlinkqueuebytes: "maxLinkQueueBytes",
  maxlinkstallms: "maxLinkStallMs",
});

/** Complete limits from partial ones; throws naming the first value that is not a positive integer. */
export function resolveLimits(partial: Partial<MeshLimits> = {}): MeshLimits {
  const out = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new Error(`mesh limit ${k} must be a positive integer, not ${v}`);
    }
  }
  return out;
}

const UTF8 = new TextEncoder();

/** UTF-8 length of `s`, computed without allocating for ASCII. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      n = UTF8.encode(s).length;
      break;
    }
  }
  return n;
}

/** True if `s` takes at most `max` bytes in UTF-8 (a short string is not scanned: ≤ 3 per unit). */
export function fitsUtf8(s: string, max: number): boolean {
  return 3 * s.length <= max || utf8Length(s) <= max;
}

/** Minimum interval between two log lines about the same limit. */
const LOG_EVERY_MS = 60_000;

/** Rate-limited logging of limit hits: one warning per limit per minute, with a count. */
export class LimitLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  /** Hits per limit name since the start (for tests and status). */
  readonly hits = new Map<string, number>();

  constructor(readonly logger: Logger, readonly now: () => number) {}

  /** Record a hit of limit `name`; `detail` says what was dropped or closed. */
  hit(name: keyof MeshLimits | string, detail: string): void {
    this.say(name, `mesh limit ${name} reached: ${detail}`);
  }

  /**
   * A message that could not be decoded, logged as Go words it but at most once a minute per
   * kind (a peer sending garbage cannot flood the log).
   */
  badMessage(type: number, unknownType: boolean, error: string, where: string): void {
    if (unknownType) this.say("unknownType", `Unknown message type ${type} from ${where}`, false);
    else if (type === 1) {
      this.say("badRoute", `Error unpacking routing update from ${where}: ${error}`, true);
    } else if (type === 2) {
      this.say("badAd", `Error handling service advertisement from ${where}: ${error}`, true);
    } else {
      this.say("badData", `Error translating data to message struct from ${where}: ${error}`, true);
    }
  }

  /** Log `line` under `name`, at most once a minute per name, counting the ones held back. */
  say(name: string, line: string, error = false): void {
    this.hits.set(name, (this.hits.get(name) ?? 0) + 1);
    const t = this.now();
    const last = this.#last.get(name);
    if (last && t - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed ? ` (${last.suppressed} more since the last report)` : "";
    this.#last.set(name, { at: t, suppressed: 0 });
    if (error) this.logger.error(`${line}${more}`);
    else this.logger.warning(`${line}${more}`);
  }
}
