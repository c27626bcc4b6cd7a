/**
 * Redial back-off for peer backends (wire.md §2.5): 5 s after a session ends, and
 * 5, 7.5, 11.25, 16.875, then 20 s between consecutive failed dials. Not upstream: until a
 * peer's first session, failed dials retry after 100 ms doubling up to upstream's 5 s (then
 * upstream's steps), so nodes started together converge in well under a second instead of
 * all waiting 5 s after the first refused dial; long outages keep upstream's timing.
 * @module
 */
import { errorText } from "../../util/error_text.ts";

/** First delay and the cap, in milliseconds. */
export const REDIAL_FIRST_MS = 5000;
/** Longest delay between attempts. */
export const REDIAL_MAX_MS = 20000;

/** Tracks the delay before the next dial attempt. */
export class RedialBackoff {
  #next = REDIAL_FIRST_MS;
  constructor(private readonly firstMs = REDIAL_FIRST_MS, private readonly maxMs = REDIAL_MAX_MS) {
    this.#next = firstMs;
  }
  /** Delay to wait after a failed attempt; grows ×1.5 up to the cap. */
  failure(): number {
    const d = this.#next;
    this.#next = Math.min(this.#next * 1.5, this.maxMs);
    return d;
  }
  /** A transport connect succeeded: the next wait (after the session ends) is the first delay. */
  success(): void {
    this.#next = this.firstMs;
  }
}

/** First retry of a peer that has never had a session (doubles up to {@link REDIAL_FIRST_MS}). */
export const STARTUP_REDIAL_MS = 100;

/**
 * Delays between failed dials: {@link STARTUP_REDIAL_MS} doubling while below upstream's first
 * delay as long as no dial ever succeeded, then upstream's {@link RedialBackoff} steps.
 */
export class StartupBackoff {
  #fast: number;
  #everConnected = false;
  readonly #upstream: RedialBackoff;
  constructor(
    firstMs = STARTUP_REDIAL_MS,
    upstream: RedialBackoff = new RedialBackoff(),
    private readonly upstreamFirstMs = REDIAL_FIRST_MS,
  ) {
    this.#fast = firstMs;
    this.#upstream = upstream;
  }
  /** True while failures get the short start-up delays. */
  get fast(): boolean {
    return !this.#everConnected && this.#fast < this.upstreamFirstMs;
  }
  /** Delay to wait after a failed attempt. */
  failure(): number {
    if (!this.fast) return this.#upstream.failure();
    const d = this.#fast;
    this.#fast *= 2;
    return d;
  }
  /** A transport connect succeeded: from now on upstream's back-off only. */
  success(): void {
    this.#everConnected = true;
    this.#upstream.success();
  }
}

/** Split `host:port` or `[v6]:port`; throws with a clear message on bad input. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new Error(`invalid port in address ${address}`);
  return { host: m[1] || "0.0.0.0", port };
}

/** A session a peer backend started; `done` resolves with the reason once it ends. */
export interface PeerSession {
  done: Promise<string>;
}

/** What a {@link RedialLoop} says in its log lines. */
export interface RedialLoopOptions {
  /** Section name, e.g. `tcp-peer`. */
  kind: string;
  address: string;
  redial: boolean;
  logger: { warning(msg: string): void; debug(msg: string): void };
}

/**
 * A peer backend's dial → session → redial cycle (wire.md §2.5): a failed `connect` waits
 * 5, 7.5, … 20 s (before the first session: 0.1, 0.2, … 3.2 s first, see
 * {@link StartupBackoff}); after a session ends the next dial comes 5 s later; without `redial` the
 * loop stops after the first session or failure. `connect` throws to report a failed dial.
 */
export class RedialLoop {
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | null = null;

  constructor(
    private readonly opts: RedialLoopOptions,
    private readonly connect: () => Promise<PeerSession>,
  ) {}

  /** True once {@link close} was called; `connect` should give up when it sees this. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Start dialing (call once). */
  start(): void {
    this.#run();
  }

  /** Stop: no further dials; a pending wait ends at once. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
    });
  }

  async #run(): Promise<void> {
    const { kind, address, redial, logger } = this.opts;
    const backoff = new StartupBackoff();
    let failures = 0;
    while (!this.#closed) {
      let session: PeerSession | null = null;
      try {
        session = await this.connect();
      } catch (e) {
        if (this.#closed) return;
        // Quick start-up retries after the first are logged at debug level only.
        const quiet = failures++ > 0 && backoff.fast;
        (quiet ? logger.debug : logger.warning).call(
          logger,
          `Backend connection failed (will retry: ${redial}): ${kind} ${address}: ${errorText(e)}`,
        );
      }
      if (session) {
        failures = 0;
        backoff.success();
        const reason = await session.done;
        logger.debug(`${kind} ${address}: session ended: ${reason}`);
        if (!redial || this.#closed) return;
        await this.#sleep(REDIAL_FIRST_MS);
        continue;
      }
      if (!redial || this.#closed) return;
      await this.#sleep(backoff.failure());
    }
  }
}
