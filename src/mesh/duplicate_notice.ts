/**
 * Credibility of duplicate-node notices naming our own node ID (wire.md §5.5; README "Duplicate
 * node IDs (credibility rule)"). Go shuts down on the first routing update with our NodeID and
 * `SuspectedDuplicate` equal to our epoch; anyone can forge that. Here a notice is believed only
 * when notices have named {@link DUP_STRIKES} successive epochs of ours over at least
 * {@link DUP_SPAN_PERIODS} update periods AND one of those epochs was named by copies arriving
 * over at least {@link DUP_MIN_LINKS} different neighbours. A notice that is not believed makes
 * us re-announce with a new epoch, at most once per back-off interval (doubling from
 * {@link REANNOUNCE_MIN_MS} to {@link REANNOUNCE_MAX_MS}), so neither a forger nor a real
 * duplicate we do not believe can make us churn epochs (each new epoch resets other nodes'
 * streams to us). With the policy `stay` (`node` key `duplicatenotice`, the default) even a
 * credible notice never stops us: it is answered like one that is not believed, so no peer can
 * stop us. With `exit` (Go's behaviour, opt-in) a credible notice does. Sans-IO: the caller
 * passes the time and acts on the verdict.
 * @module
 */

/** Notices must name this many successive epochs of ours... */
export const DUP_STRIKES = 3;
/** ...over at least this many of our update periods (less half a period for jitter)... */
export const DUP_SPAN_PERIODS = 2;
/** ...and one of those epochs must be named over this many distinct neighbour links. */
export const DUP_MIN_LINKS = 2;
/** An episode (strikes, links, back-off) is forgotten after this many quiet update periods. */
export const DUP_FORGET_PERIODS = 30;
/** First re-announcement back-off; it doubles with every re-announcement of an episode... */
export const REANNOUNCE_MIN_MS = 1000;
/** ...up to this. */
export const REANNOUNCE_MAX_MS = 300_000;
/** Our own recent epochs whose arrival links are remembered (bounded). */
const TRACKED_EPOCHS = 8;

/**
 * What a credible notice does (`node` key `duplicatenotice`): `stay` (the default) keeps the
 * node up, so no peer can stop it, and a real duplicate stays too; `exit` (opt-in, Go's
 * behaviour) shuts the node down.
 */
export type DuplicateNoticePolicy = "exit" | "stay";

/** The policy when none is configured: no single peer may take a node down. */
export const DEFAULT_DUPLICATE_NOTICE_POLICY: DuplicateNoticePolicy = "stay";

/** What to do about a notice naming one of our epochs. */
export type NoticeVerdict =
  /** Credible (policy `exit`): we are the duplicate; shut down. */
  | { kind: "believe"; why: string }
  /**
   * Not credible, or credible under policy `stay` (`credible` says which): stay up and
   * re-announce now with a new epoch (then call `reannounced`).
   */
  | { kind: "reannounce"; why: string; suppressed: number; nextInMs: number; credible: boolean }
  /** Not credible (or credible under `stay`) and the back-off is running: do nothing now. */
  | { kind: "hold" };

/**
 * Counts for metrics and tests. Each notice has one outcome: believed, ignored, reannounced,
 * or else held (`notices` minus the others).
 */
export interface DuplicateNoticeCounters {
  /** Notices naming our current or a recent epoch. */
  notices: number;
  /** Notices not credible that caused a re-announcement with a new epoch. */
  reannounced: number;
  /** Notices believed (at most one: we shut down). */
  believed: number;
  /**
   * Credible notices that did not stop us (policy `stay`); each was answered like one not
   * believed (a re-announcement or held by the back-off).
   */
  ignored: number;
}

/** Credibility state of duplicate notices naming our epochs (one per router). */
export class DuplicateNotices {
  readonly #periodMs: number;
  /** Distinct epochs of ours named since the episode began. */
  #strikes = 0;
  #firstAt = 0;
  #lastAt = -Infinity;
  /** Our recent epochs → the neighbours over which notices naming them arrived. */
  readonly #links = new Map<bigint, Set<string>>();
  #backoffMs = REANNOUNCE_MIN_MS;
  #nextAt = -Infinity;
  #suppressed = 0;
  readonly #policy: DuplicateNoticePolicy;
  readonly counters: DuplicateNoticeCounters = {
    notices: 0,
    reannounced: 0,
    believed: 0,
    ignored: 0,
  };

  /** `periodMs`: our routing-update period; `policy`: what a credible notice does. */
  constructor(periodMs: number, policy: DuplicateNoticePolicy = DEFAULT_DUPLICATE_NOTICE_POLICY) {
    this.#periodMs = periodMs;
    this.#policy = policy;
  }

  /** True if `epoch` is one of our recent epochs (so a notice naming it is about us). */
  isRecent(epoch: bigint): boolean {
    return this.#links.has(epoch);
  }

  /**
   * A notice naming our epoch `named` arrived from neighbour `peer` at `now`; `current` is
   * our epoch now. Notices naming an older epoch of ours count only towards its links (the
   * other copies of a notice we already answered); a notice naming an epoch we never had
   * (or forgot) is the caller's business.
   */
  notice(named: bigint, current: bigint, peer: string, now: number): NoticeVerdict {
    if (now - this.#lastAt > DUP_FORGET_PERIODS * this.#periodMs) this.#reset();
    if (named === current && !this.#links.has(current)) this.#track(current);
    const links = this.#links.get(named);
    if (!links) return { kind: "hold" };
    this.counters.notices++;
    this.#lastAt = now;
    if (links.size === 0) { // first notice naming this epoch: a strike
      if (this.#strikes === 0) this.#firstAt = now;
      this.#strikes++;
    }
    if (links.size < DUP_MIN_LINKS * 4) links.add(peer);
    const credible = this.#credible(now);
    if (credible && this.#policy === "exit") {
      this.counters.believed++;
      return { kind: "believe", why: this.#why(now) };
    }
    if (credible) this.counters.ignored++;
    if (named !== current || now < this.#nextAt) {
      this.#suppressed++;
      return { kind: "hold" };
    }
    const why = this.#why(now);
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#nextAt = now + this.#backoffMs;
    const nextInMs = this.#backoffMs;
    this.#backoffMs = Math.min(2 * this.#backoffMs, REANNOUNCE_MAX_MS);
    if (!credible) this.counters.reannounced++;
    return { kind: "reannounce", why, suppressed, nextInMs, credible };
  }

  /** We re-announced with `epoch`: notices naming it are about us too. */
  reannounced(epoch: bigint): void {
    this.#track(epoch);
  }

  #credible(now: number): boolean {
    if (this.#strikes < DUP_STRIKES) return false;
    // Notices come one per update period of ours, so the span is two periods give or take
    // delivery jitter: half a period of slack, or a real duplicate would need a fourth one.
    if (now - this.#firstAt < (DUP_SPAN_PERIODS - 0.5) * this.#periodMs) return false;
    for (const l of this.#links.values()) if (l.size >= DUP_MIN_LINKS) return true;
    return false;
  }

  #why(now: number): string {
    const peers = new Set<string>();
    for (const l of this.#links.values()) for (const p of l) peers.add(p);
    return `${this.#strikes} of our epochs named over ${Math.round((now - this.#firstAt) / 1000)}` +
      ` s via ${[...peers].join(", ")}; believed at ${DUP_STRIKES} epochs over ` +
      `${DUP_SPAN_PERIODS} update periods with one epoch named via ${DUP_MIN_LINKS} neighbours`;
  }

  #track(epoch: bigint): void {
    if (this.#links.has(epoch)) return;
    if (this.#links.size >= TRACKED_EPOCHS) {
      this.#links.delete(this.#links.keys().next().value!);
    }
    this.#links.set(epoch, new Set());
  }

  #reset(): void {
    this.#strikes = 0;
    this.#links.clear();
    this.#backoffMs = REANNOUNCE_MIN_MS;
    this.#nextAt = -Infinity;
    this.#suppressed = 0;
  }
}
