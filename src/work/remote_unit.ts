/**
 * The built-in `remote` work type (control.md §6): a local unit that submits its payload to
 * another node's `control` service, then mirrors that unit's State/Detail/StdoutSize and stdout
 * until it completes; cancel/release are forwarded (retried in the background while the remote
 * is unreachable) and everything resumes after a restart of either side.
 *
 * Connections come from an injected {@link ControlDialer} (a mesh stream to the node's
 * `control` service in a node; a Unix socket in tests).
 * @module
 */
import type { Logger } from "../log.ts";
import { preciseWallMs } from "../clock.ts";
import { DurationError, parseGoDuration } from "../gocompat/duration.ts";
import { type WorkEngine, WorkError } from "./engine.ts";
import type { StatusFileData } from "./status_file.ts";
import { isFinal, stdoutSize, WorkState } from "./status_file.ts";
import type { StartResult, UnitContext, WorkOpResult, WorkUnitType } from "./unit_type.ts";
import { failUnit } from "./unit_type.ts";
import { REMOTE_SPEC_KEYS, REMOTE_WORK_TYPE } from "./submit_protocol.ts";
import { RemoteConnectError, type RemoteControlClient } from "./remote_control_client.ts";
import {
  Backoff,
  expirationAt,
  expirationMs,
  expiredDetail,
  isSecretParam,
  normalizeExtra,
  redactExtra,
  type RemoteExtraData,
} from "./remote_protocol.ts";
import { RemoteLink, type RemoteLinkOptions } from "./remote_link.ts";
import { errorText } from "../util/error_text.ts";
import { delay } from "../util/delay.ts";

export type { ControlDialer } from "./remote_link.ts";

/** Options of {@link RemoteUnitType}. */
export interface RemoteUnitOptions extends RemoteLinkOptions {
  /**
   * Deletes a unit locally through the engine (`engine.release(id, false)`); called when a
   * background release finishes. The type answers that nested release with "done".
   */
  releaseLocal: (unitId: string) => Promise<unknown>;
  /** Whether a `tls-client` config exists. Absent = none exist. */
  hasTlsClient?: (name: string) => boolean;
  /** Token lifetime (ms) of the signer, for the "json web token expires before ttl" warning. */
  signingLifetimeMs?: number;
  /** Wall clock in ms (default Date.now). */
  now?: () => number;
  /**
   * Give up a background release after this long (ms) without reaching the unit's node: the
   * unit is then deleted locally and a warning logged. Absent or 0: retry forever (upstream).
   */
  releaseGiveUpMs?: number;
}

/** Bound on force-releases waiting for their executor to return. */
export const MAX_FORCED_RELEASES = 1024;

interface Job {
  ac: AbortController;
  done: Promise<void>;
}

/** The `remote` work type. Never advertised. */
export class RemoteUnitType implements WorkUnitType {
  readonly name = REMOTE_WORK_TYPE;
  readonly verifySignature = false;
  readonly advertise = false;
  readonly #o: RemoteUnitOptions;
  readonly #log: Logger;
  readonly #jobs = new Map<string, Job>();
  readonly #finalizing = new Set<string>();
  /** Force-released units whose release is still to be delivered (job keys). */
  readonly #forced = new Set<string>();
  readonly #closing = new AbortController();

  readonly #link: RemoteLink;

  constructor(opts: RemoteUnitOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#link = new RemoteLink(opts);
  }

  #now(): number {
    return (this.#o.now ?? preciseWallMs)();
  }

  /** Validate a remote submission (control.md §2.5.1 step 2) and build its ExtraData. */
  allocate(params: Record<string, string>): RemoteExtraData {
    if (params.node === undefined || params.worktype === undefined) {
      throw new Error("work type remote is internal: submit to a remote node instead");
    }
    const tlsClient = params.tlsclient ?? "";
    if (tlsClient !== "" && !(this.#o.hasTlsClient?.(tlsClient) ?? false)) {
      throw new Error(`unknown TLS config ${tlsClient}`);
    }
    const work: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (!REMOTE_SPEC_KEYS.has(k)) work[k] = v;
    if (tlsClient === "" && Object.keys(work).some(isSecretParam)) {
      throw new Error("cannot send secrets over a non-TLS connection");
    }
    const signWork = params.signwork === "true";
    let expiration = "";
    const ttl = params.ttl ?? "";
    if (ttl !== "") {
      let ttlMs: number;
      try {
        ttlMs = parseGoDuration(ttl);
      } catch (e) {
        this.#log.error(
          "Failed to parse provided ttl -- valid examples include '1.5h', '30m', '30m10s'",
        );
        throw new Error(e instanceof DurationError ? e.message : errorText(e));
      }
      if (signWork && ttlMs > (this.#o.signingLifetimeMs ?? 5 * 60_000)) {
        this.#log.warning("json web token expires before ttl");
      }
      expiration = expirationAt(this.#now(), ttlMs);
    }
    return normalizeExtra({
      RemoteNode: params.node,
      RemoteWorkType: params.worktype,
      RemoteParams: work,
      TLSClient: tlsClient,
      SignWork: signWork,
      Expiration: expiration,
    });
  }

  /** Hide `secret_*` RemoteParams in control replies. */
  redact(status: StatusFileData): StatusFileData {
    return { ...status, ExtraData: redactExtra(normalizeExtra(status.ExtraData)) };
  }

  /** Requests about a remote unit must be signed when it was submitted with `signwork`. */
  signatureRequired(status: StatusFileData): boolean {
    const ed = status.ExtraData as { SignWork?: unknown } | null;
    return !!ed && typeof ed === "object" && ed.SignWork === true;
  }

  /**
   * The "try once, else retry in the background" step shared by start, cancel and release:
   * one connection attempt; null when the node is unreachable (the caller then continues in
   * a background job). Other errors are thrown.
   */
  async #connectOnce(
    unit: UnitContext,
    ed: RemoteExtraData,
    signal: AbortSignal,
  ): Promise<RemoteControlClient | null> {
    try {
      return await this.#link.connect(ed, signal);
    } catch (e) {
      if (!(e instanceof RemoteConnectError)) throw e;
      this.#log.info(`[${unit.id}] remote unreachable (${e.message}); retrying in the background`);
      return null;
    }
  }

  // ---------------------------------------------------------------- jobs

  #startJob(
    unit: UnitContext,
    ac: AbortController,
    body: () => Promise<void>,
    key = unit.id,
  ): void {
    const job: Job = { ac, done: Promise.resolve() };
    job.done = (async () => {
      try {
        await body();
      } catch (e) {
        if (!ac.signal.aborted && !unit.signal.aborted) {
          this.#log.error(`[${unit.id}] remote work: ${errorText(e)}`);
        }
      } finally {
        if (this.#jobs.get(key) === job) this.#jobs.delete(key);
      }
    })();
    this.#jobs.set(key, job);
  }

  async #stopJob(unitId: string): Promise<void> {
    const job = this.#jobs.get(unitId);
    if (!job) return;
    job.ac.abort();
    await job.done;
  }

  #signalFor(unit: UnitContext, ac: AbortController): AbortSignal {
    return AbortSignal.any([ac.signal, unit.signal, this.#closing.signal]);
  }

  /** Start: one synchronous attempt; unreachable → background retries (`deferred`). */
  async start(unit: UnitContext): Promise<StartResult> {
    const ed = await this.#link.extra(unit);
    if (ed.RemoteStarted) throw new WorkError("unit was already started");
    if (this.#jobs.has(unit.id)) throw new WorkError("start or monitor process already running");
    const ac = new AbortController();
    const signal = this.#signalFor(unit, ac);
    let expired = false;
    let expiry: ReturnType<typeof setTimeout> | undefined;
    const exp = expirationMs(ed.Expiration);
    if (exp !== null) {
      expiry = setTimeout(async () => {
        try {
          const cur = await this.#link.extra(unit);
          if (cur.RemoteStarted) return;
          expired = true;
          await unit.update((s) => {
            s.State = WorkState.Failed;
            s.Detail = expiredDetail(cur.Expiration);
          });
        } catch (e) {
          this.#log.error(`[${unit.id}] expiring: ${errorText(e)}`);
        }
        ac.abort();
      }, Math.min(Math.max(0, exp - this.#now()), 2_000_000_000));
      signal.addEventListener("abort", () => clearTimeout(expiry), { once: true });
    }
    const first = Promise.withResolvers<"started" | "deferred">();
    first.promise.catch(() => {});
    const body = async () => {
      let client: RemoteControlClient | null = null;
      try {
        client = await this.#connectOnce(unit, ed, signal);
      } catch (e) {
        first.reject(e);
        return;
      }
      if (!client) first.resolve("deferred");
      if (client) {
        try {
          await this.#link.submit(unit, client, signal);
        } catch (e) {
          if (expired) first.resolve("deferred");
          else first.reject(e);
          return;
        }
        first.resolve("started");
      } else {
        client = await this.#link.getConnection(unit, signal);
        if (!client) return;
        try {
          await this.#link.submit(unit, client, signal);
        } catch (e) {
          if (signal.aborted) return;
          await failUnit(unit, `Error starting worker: ${errorText(e)}`);
          throw e;
        }
      }
      clearTimeout(expiry); // the ttl only bounds the start
      await this.#link.monitor(unit, signal, false, true);
    };
    this.#startJob(unit, ac, async () => {
      try {
        await body();
      } finally {
        clearTimeout(expiry);
        first.reject(new Error("remote start ended unexpectedly")); // no-op once settled
      }
    });
    return await first.promise.catch((e) => {
      ac.abort();
      throw e;
    });
  }

  // ---------------------------------------------------------------- cancel / release
  /** After a successful remote cancel/release: mirror (cancel) or wait for gone, then delete. */
  async #afterOp(unit: UnitContext, signal: AbortSignal, release: boolean): Promise<void> {
    if (!release) {
      await this.#link.monitor(unit, signal, false);
      return;
    }
    await this.#link.monitor(unit, signal, true);
    if (!signal.aborted) await this.#finalize(unit);
  }

  async #finalize(unit: UnitContext): Promise<void> {
    this.#finalizing.add(unit.id);
    try {
      await this.#o.releaseLocal(unit.id);
    } catch (e) {
      this.#log.error(`Error releasing unit ${unit.dir}: ${errorText(e)}`);
    } finally {
      this.#finalizing.delete(unit.id);
    }
  }

  /**
   * Background: connect with retries, send the op, then follow up. A release the node answers
   * with `unknown work unit` is complete (nothing left there); one that cannot reach the node
   * within `releaseGiveUpMs` is given up: the unit is deleted here and a warning logged.
   */
  #opInBackground(unit: UnitContext, ac: AbortController, release: boolean): void {
    const signal = this.#signalFor(unit, ac);
    const giveUpMs = release ? (this.#o.releaseGiveUpMs ?? 0) : 0;
    let gaveUp = false;
    const giveUp = giveUpMs > 0
      ? setTimeout(() => {
        gaveUp = true;
        ac.abort();
      }, giveUpMs)
      : undefined;
    this.#startJob(unit, ac, async () => {
      try {
        const sent = await this.#sendOpRetrying(unit, release, signal);
        if (sent === "stopped") return;
        clearTimeout(giveUp); // the node answered; what is left is local
        if (sent === "gone") {
          this.#log.info(`[${unit.id}] remote node no longer knows this unit: releasing here`);
          await this.#finalize(unit);
          return;
        }
        await this.#afterOp(unit, signal, release);
      } finally {
        clearTimeout(giveUp);
        if (gaveUp && !unit.signal.aborted && !this.#closing.signal.aborted) {
          await this.#giveUpRelease(unit, giveUpMs);
        }
      }
    });
  }

  /**
   * Connect (with back-off) and send cancel/release until the node answers. A connection lost
   * mid-request is retried; `gone`: a release the node answered with `unknown work unit`;
   * `stopped`: aborted, or any other error reply (logged).
   */
  async #sendOpRetrying(
    unit: UnitContext,
    release: boolean,
    signal: AbortSignal,
  ): Promise<"sent" | "gone" | "stopped"> {
    const b = this.#o.backoff ?? {};
    const backoff = new Backoff(b.initialMs, b.maxMs, b.factor);
    for (;;) {
      try {
        const sent = await this.#link.requestOp(
          unit,
          release,
          signal,
          () => this.#link.getConnection(unit, signal),
        );
        return sent ?? "stopped";
      } catch (e) {
        if (signal.aborted) return "stopped";
        const text = errorText(e);
        if (release && text.includes("unknown work unit")) return "gone";
        if (!/^(read|write) error/.test(text)) {
          this.#log.error(`Error running action function: ${text}`);
          return "stopped";
        }
        this.#log.info(`[${unit.id}] ${release ? "release" : "cancel"} interrupted: ${text}`);
        await delay(backoff.next(), signal);
      }
    }
  }

  async #giveUpRelease(unit: UnitContext, ms: number): Promise<void> {
    const node = (await this.#link.extra(unit).catch(() => null))?.RemoteNode ?? "?";
    this.#log.warning(
      `[${unit.id}] gave up releasing this unit on node ${node} after ${
        Math.round(ms / 1000)
      }s unreachable (releasegiveup): deleting it here; its remote copy may remain`,
    );
    await this.#finalize(unit);
  }

  /** A background release is under way (survives restarts in ExtraData.LocalReleased). */
  releasePending(status: StatusFileData): boolean {
    const ed = status.ExtraData as { LocalReleased?: unknown } | null;
    return !!ed && typeof ed === "object" && ed.LocalReleased === true;
  }

  /** One synchronous attempt; unreachable → retried in the background ("pending"). */
  async #cancelOrRelease(unit: UnitContext, release: boolean): Promise<WorkOpResult> {
    const ac = new AbortController();
    const signal = this.#signalFor(unit, ac);
    const ed = await this.#link.extra(unit);
    const sent = await this.#link.requestOp(
      unit,
      release,
      signal,
      () => this.#connectOnce(unit, ed, signal),
    );
    if (!sent) {
      this.#opInBackground(unit, ac, release);
      return "pending";
    }
    // The executor deletes a released unit before replying, so local deletion may follow now.
    if (!release) this.#startJob(unit, ac, () => this.#afterOp(unit, signal, false));
    return "done";
  }

  /** control.md §6.7 cancel. */
  async cancel(unit: UnitContext): Promise<WorkOpResult> {
    let started = false;
    await this.#link.setExtra(unit, (ed) => {
      ed.LocalCancelled = true;
      started = ed.RemoteStarted;
    });
    await this.#stopJob(unit.id);
    if (!started) {
      await unit.update((s) => {
        s.State = WorkState.Failed;
        s.Detail = "Locally Cancelled";
        s.StdoutSize = 0;
      });
      return "done";
    }
    return await this.#cancelOrRelease(unit, false);
  }

  /** control.md §6.7 release / force-release. */
  async release(unit: UnitContext, force: boolean): Promise<WorkOpResult> {
    if (this.#finalizing.has(unit.id)) return "done";
    let started = false;
    try {
      await this.#link.setExtra(unit, (ed) => {
        ed.LocalCancelled = true;
        ed.LocalReleased = true;
        started = ed.RemoteStarted;
      });
    } catch (e) {
      if (!force) throw e;
    }
    await this.#stopJob(unit.id);
    if (!started) return "done";
    if (force) {
      const snapshot = await unit.load().catch(() => null);
      try {
        const signal = this.#signalFor(unit, new AbortController());
        const ed = await this.#link.extra(unit);
        await this.#link.requestOp(unit, true, signal, () => this.#link.connect(ed, signal));
      } catch (e) {
        this.#log.error(`Error with connect and run: ${errorText(e)}`);
        if (snapshot && e instanceof RemoteConnectError) this.#deliverForcedRelease(unit, snapshot);
      }
      return "done";
    }
    return await this.#cancelOrRelease(unit, true);
  }

  /**
   * A force-released unit whose executor is unreachable: the local unit goes at once, but the
   * release is still delivered when the executor returns (as Go, whose force-release keeps
   * retrying), from a snapshot of the unit's status (its directory is deleted meanwhile). Not
   * kept across a restart of this node. At most {@link MAX_FORCED_RELEASES} at a time.
   */
  #deliverForcedRelease(unit: UnitContext, snapshot: StatusFileData): void {
    if (this.#forced.size >= MAX_FORCED_RELEASES) {
      this.#log.warning(
        `[${unit.id}] ${MAX_FORCED_RELEASES} force-releases already pending; not delivering this one`,
      );
      return;
    }
    const ac = new AbortController();
    const copy = () => structuredClone(snapshot);
    const detached: UnitContext = {
      id: unit.id,
      dir: unit.dir,
      workType: unit.workType,
      logger: unit.logger,
      signal: ac.signal,
      load: () => Promise.resolve(copy()),
      update: (change) => {
        const s = copy();
        change(s);
        return Promise.resolve(s);
      },
    };
    const key = `${unit.id}\u0000forced`;
    this.#forced.add(key);
    const signal = AbortSignal.any([ac.signal, this.#closing.signal]);
    this.#startJob(detached, ac, async () => {
      try {
        const client = await this.#link.getConnection(detached, signal);
        if (!client) return;
        await this.#link.sendOp(detached, client, true, signal);
        this.#log.info(`[${unit.id}] pending force-release delivered to the remote node`);
      } finally {
        this.#forced.delete(key);
      }
    }, key);
  }

  /** control.md §6.8: resume mirroring, resend pending cancel/release. */
  async restart(unit: UnitContext): Promise<void> {
    const s = await unit.load();
    const ed = normalizeExtra(s.ExtraData);
    const settled = isFinal(s.State) && (await stdoutSize(unit.dir)) >= s.StdoutSize;
    if (!ed.RemoteStarted) {
      if (isFinal(s.State)) return; // already decided (expired, locally cancelled, failed)
      throw new Error("remote work had not previously started");
    }
    const ac = new AbortController();
    if (ed.LocalReleased || ed.LocalCancelled) {
      if (!ed.LocalReleased && settled) return;
      this.#opInBackground(unit, ac, ed.LocalReleased);
      return;
    }
    if (settled) return;
    const signal = this.#signalFor(unit, ac);
    this.#startJob(unit, ac, async () => {
      await this.#link.monitor(unit, signal, false);
    });
  }

  /** Background tasks (submits, status/stdout mirroring, cancels, releases) under way. */
  get backgroundTasks(): number {
    return this.#jobs.size;
  }

  /** Idle control connections kept for reuse (see remote_pool.ts). */
  get idleConnections(): number {
    return this.#link.idleConnections;
  }

  /** Stop all background work (connections close; remote jobs keep running). */
  close(): void {
    this.#closing.abort();
    this.#link.close();
  }

  /** {@link close} and wait until every background task has finished. */
  async shutdown(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled([...this.#jobs.values()].map((j) => j.done));
    this.#link.close();
  }
}

/**
 * Create the `remote` type for `engine` (background releases finish through
 * `engine.release(id, false)`) and register it; units found on disk are restarted.
 */
export async function registerRemoteWork(
  engine: WorkEngine,
  opts: Omit<RemoteUnitOptions, "releaseLocal">,
): Promise<RemoteUnitType> {
  const type = new RemoteUnitType({ ...opts, releaseLocal: (id) => engine.release(id, false) });
  await engine.registerType(type);
  return type;
}
