/**
 * The connection side of remote work (control.md §6.2–§6.5, §6.7): dial + banner with
 * back-off, the submission exchange, status polling, stdout mirroring from the local size,
 * and single cancel/release requests. Used by {@link RemoteUnitType}; keeps no per-unit state
 * of its own (everything lives in the unit's status file).
 * @module
 */
import type { Logger } from "../log.ts";
import type { DuplexConn } from "../streams/duplex.ts";
import { WorkError } from "./engine.ts";
import type { StatusFileData } from "./status_file.ts";
import { BatchingWriter } from "./batching_writer.ts";
import { goJson, isFinal, stdoutSize, unitPaths, WorkState } from "./status_file.ts";
import { failUnit, type UnitContext } from "./unit_type.ts";
import { abortable, RemoteConnectError, RemoteControlClient } from "./remote_control_client.ts";
import {
  Backoff,
  cancelReplyError,
  cancelRequest,
  goneDetail,
  isProvisionalKill,
  normalizeExtra,
  parseCreatedLine,
  parseStatusReply,
  parseSubmitResult,
  PollBackoff,
  type RemoteExtraData,
  resultsRequest,
  submitRequest,
} from "./remote_protocol.ts";
import { abortAfterStop, delay } from "../util/delay.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import {
  ControlConnPool,
  REUSED_OP_REPLY_MS,
  REUSED_REPLY_MS,
  STOPPING_REPLY_MS,
} from "./remote_pool.ts";

/**
 * Dials the `control` service of `node` (tlsClient "" = insecure) and returns the raw
 * duplex stream (the banner is read by the caller).
 */
export type ControlDialer = (
  node: string,
  tlsClient: string,
  signal?: AbortSignal,
) => Promise<DuplexConn>;

/**
 * First status poll this long after a submit, then again after as long, then doubling (25, 50,
 * 100, 200, 400 ms … the poll period): a small job started by the submit is usually done
 * 10–30 ms after the executor's `Job Started`, and at 50 ms it was seen ~25 ms late on average
 * (median submitted → Succeeded seen by a client polling every 50 ms: ~105 ms over 2 hops).
 * Costs one more `work status` on a kept connection for jobs still running at 25 ms.
 */
export const FIRST_STATUS_POLL_MS = 25;

/** Options of {@link RemoteLink}. */
export interface RemoteLinkOptions {
  dial: ControlDialer;
  logger: Logger;
  /** Makes a work-signing JWT for `remoteNode`. Absent = no signing key. */
  sign?: (remoteNode: string) => Promise<string> | string;
  /** Status/stdout poll period (ms, default 1000). */
  pollMs?: number;
  /** Reconnect back-off: initial, cap (ms) and factor (default 1000, 60 000, 1.5). */
  backoff?: { initialMs?: number; maxMs?: number; factor?: number };
  /** Banner timeout (ms, default 5000). */
  bannerTimeoutMs?: number;
  /**
   * Resolves when the route to `node` (re)appears or `signal` aborts: a reconnect back-off
   * (grown during a long outage) is cut short then, so work resumes within seconds.
   */
  routeBack?: (node: string, signal: AbortSignal) => Promise<void>;
  /** How long an idle control connection is kept for reuse (ms, default remote_pool's). */
  poolIdleMs?: number;
  /** Reply bound of a cancel/release on a kept connection (ms, default REUSED_OP_REPLY_MS). */
  reusedOpReplyMs?: number;
}

/** Write one request line to the remote control service; a failure names the node. */
async function sendRequest(
  client: RemoteControlClient,
  ed: RemoteExtraData,
  request: Record<string, unknown>,
): Promise<void> {
  try {
    await client.writeLine(sortedJson(request));
  } catch (e) {
    throw new WorkError(`write error sending to ${ed.RemoteNode}: ${errorText(e)}`);
  }
}

/** A request whose connection failed (as opposed to an error reply): worth a retry. */
export function isConnectionFailure(e: unknown): boolean {
  return /^(read|write) error/.test(errorText(e));
}

/** Compact JSON with sorted keys (Go marshals maps sorted). */
function sortedJson(o: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return goJson(out);
}

/** Talks to remote control services on behalf of `remote` units. */
export class RemoteLink {
  readonly #o: RemoteLinkOptions;
  readonly #log: Logger;
  /** Idle connections between status polls, cancels and releases (see remote_pool.ts). */
  readonly #pool: ControlConnPool;

  /** A link using `opts.dial` for every connection. */
  constructor(opts: RemoteLinkOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#pool = new ControlConnPool(opts.poolIdleMs);
  }

  /** Idle control connections kept for reuse now. */
  get idleConnections(): number {
    return this.#pool.size;
  }

  #pollMs(): number {
    return this.#o.pollMs ?? 1000;
  }

  /** Close the idle connections (node shutdown). */
  close(): void {
    this.#pool.close();
  }

  // ---------------------------------------------------------------- status helpers

  /** The unit's ExtraData (normalized). */
  async extra(unit: UnitContext): Promise<RemoteExtraData> {
    return normalizeExtra((await unit.load()).ExtraData);
  }

  /** Read-modify-write the unit's ExtraData (and status) under the status lock. */
  setExtra(
    unit: UnitContext,
    change: (ed: RemoteExtraData, s: StatusFileData) => void,
  ): Promise<StatusFileData> {
    return unit.update((s) => {
      const ed = normalizeExtra(s.ExtraData);
      change(ed, s);
      s.ExtraData = ed;
    });
  }

  async #signature(ed: RemoteExtraData): Promise<string | undefined> {
    if (!ed.SignWork) return undefined;
    if (!this.#o.sign) throw new WorkError("cannot sign work: signing key is empty");
    return await this.#o.sign(ed.RemoteNode);
  }

  // ---------------------------------------------------------------- connections

  /** One connection attempt: dial + banner. Throws RemoteConnectError. */
  async connect(ed: RemoteExtraData, signal: AbortSignal): Promise<RemoteControlClient> {
    if (signal.aborted) throw new RemoteConnectError("aborted");
    let conn: DuplexConn;
    try {
      const dialing = this.#o.dial(ed.RemoteNode, ed.TLSClient, signal).then((c) => {
        if (signal.aborted) c.close(); // dialled after we gave up: do not leak it
        return c;
      });
      conn = await abortable(dialing, signal, () => {});
    } catch (e) {
      throw new RemoteConnectError(errorText(e));
    }
    if (signal.aborted) {
      closeQuietly(conn);
      throw new RemoteConnectError("aborted");
    }
    return await RemoteControlClient.open(conn, ed.RemoteNode, {
      timeoutMs: this.#o.bannerTimeoutMs,
      signal,
    });
  }

  /** Retry {@link connect} with back-off until connected; null when aborted or TLS-failed. */
  async getConnection(
    unit: UnitContext,
    signal: AbortSignal,
  ): Promise<RemoteControlClient | null> {
    const b = this.#o.backoff ?? {};
    const backoff = new Backoff(b.initialMs, b.maxMs, b.factor);
    for (;;) {
      if (signal.aborted) return null;
      let ed: RemoteExtraData;
      try {
        ed = await this.extra(unit);
      } catch (e) {
        this.#log.error(`[${unit.id}] cannot read status: ${errorText(e)}`);
        return null;
      }
      try {
        return await this.connect(ed, signal);
      } catch (e) {
        if (signal.aborted) return null;
        const text = errorText(e);
        this.#log.info(`Connection to ${ed.RemoteNode} failed with error: ${text}`);
        if (text.includes("CRYPTO_ERROR")) {
          let exit = false;
          await this.setExtra(unit, (x, s) => {
            s.Detail = `TLS error connecting to remote service: ${text}`;
            if (!x.RemoteStarted) {
              exit = true;
              s.State = WorkState.Failed;
            }
          }).catch((e) => this.#log.error(`[${unit.id}] cannot record TLS error: ${errorText(e)}`));
          if (exit) return null;
        }
      }
      await this.#backoffSleep(backoff.next(), ed.RemoteNode, signal);
    }
  }

  /** Sleep the back-off delay, or until the route to `node` comes back. */
  async #backoffSleep(ms: number, node: string, signal: AbortSignal): Promise<void> {
    if (!this.#o.routeBack) return await delay(ms, signal);
    const done = new AbortController();
    const both = AbortSignal.any([signal, done.signal]);
    await Promise.race([delay(ms, both), this.#o.routeBack(node, both)]);
    done.abort();
  }

  // ---------------------------------------------------------------- submit

  /** The submission exchange of control.md §6.3 over a connected client (closes it). */
  async submit(
    unit: UnitContext,
    client: RemoteControlClient,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      const ed = await this.extra(unit);
      const sig = await this.#signature(ed);
      await sendRequest(client, ed, submitRequest(ed, sig));
      const created = await this.#readReply(client, ed, signal);
      const rid = parseCreatedLine(created);
      if (rid === null) throw new WorkError(`could not parse response: ${created}`);
      await this.setExtra(unit, (x) => {
        x.RemoteUnitID = rid;
      });
      try {
        // local file reads as plain syscalls (no thread-pool hop); the network write awaits
        const f = Deno.openSync(unitPaths(unit.dir).stdin, { read: true });
        try {
          const buf = new Uint8Array(64 * 1024);
          for (;;) {
            if (signal.aborted) throw new Error("aborted");
            const n = f.readSync(buf);
            if (n === null || n === 0) break;
            await client.write(buf.slice(0, n));
          }
        } finally {
          f.close();
        }
        await client.closeWrite();
      } catch (e) {
        throw new WorkError(`error sending stdin file: ${errorText(e)}`);
      }
      const result = await this.#readReply(client, ed, signal);
      const err = parseSubmitResult(result);
      if (err !== null) throw new WorkError(`error from remote: ${err}`);
      await this.setExtra(unit, (x) => {
        x.RemoteStarted = true;
      });
    } finally {
      client.close();
    }
  }

  async #readReply(
    client: RemoteControlClient,
    ed: RemoteExtraData,
    signal: AbortSignal,
  ): Promise<string> {
    let line: string | null;
    try {
      line = await client.readLine(signal);
    } catch (e) {
      throw new WorkError(`read error reading from ${ed.RemoteNode}: ${errorText(e)}`);
    }
    if (line === null) throw new WorkError(`read error reading from ${ed.RemoteNode}: EOF`);
    return line;
  }

  // ---------------------------------------------------------------- monitoring

  /** Status polling plus (unless releasing) stdout mirroring, until done. */
  async monitor(
    unit: UnitContext,
    signal: AbortSignal,
    forRelease: boolean,
    afterSubmit = false,
  ): Promise<boolean> {
    const sub = new AbortController();
    const s2 = AbortSignal.any([signal, sub.signal]);
    // the stdout mirror ending stops the status loop softly: a poll already sent is answered
    const status = this.#statusLoop(unit, signal, sub.signal, forRelease, afterSubmit)
      .finally(() => sub.abort());
    const tasks: Promise<unknown>[] = [status];
    if (!forRelease) tasks.push(this.#stdoutLoop(unit, s2).finally(() => sub.abort()));
    await Promise.allSettled(tasks);
    return (await status.catch(() => "stopped")) === "gone";
  }

  /**
   * control.md §6.4: `work status` every poll period on one long-lived connection. `signal`
   * aborts everything; `stop` ends the loop between polls, or within {@link STOPPING_REPLY_MS}
   * when a poll is awaiting its reply, so that the connection can still be kept.
   */
  async #statusLoop(
    unit: UnitContext,
    hard: AbortSignal,
    stop: AbortSignal,
    forRelease: boolean,
    afterSubmit: boolean,
  ): Promise<"gone" | "stopped"> {
    const signal = AbortSignal.any([hard, stop]); // between polls
    const ed0 = await this.extra(unit);
    const rid = ed0.RemoteUnitID;
    let client: RemoteControlClient | null = null;
    let reused = false; // taken from the pool and not yet answered: may be stale
    let inFlight = false; // a request was sent and its reply not read: not reusable
    let writeFailures = 0;
    // Poll quickly at first (short jobs finish in well under a second), then every poll period.
    const backoff = new PollBackoff(this.#pollMs(), FIRST_STATUS_POLL_MS);
    let killSeen = false; // the previous reply was a provisional Failed/Killed, not yet mirrored
    let mirrored = ""; // State, Detail and StdoutSize last written locally
    // Just submitted: the runner cannot have started yet, so the first poll waits one step.
    if (afterSubmit) await delay(backoff.next(), signal);
    const late = abortAfterStop(stop, STOPPING_REPLY_MS);
    const readSignal = AbortSignal.any([hard, late.signal]); // for a reply already asked for
    try {
      for (;;) {
        if (signal.aborted) return "stopped";
        if (!client) {
          client = this.#pool.take(ed0.RemoteNode, ed0.TLSClient);
          reused = client !== null;
          client ??= await this.getConnection(unit, signal);
          if (!client) return "stopped";
          mirrored = ""; // reconnecting may have written its own Detail: mirror the next reply
        }
        let line: string | null;
        try {
          inFlight = true;
          await client.writeLine(`work status ${rid}`);
          // a pooled connection whose peer went away may never answer: bound its first reply
          line = await client.readLine(
            reused
              ? AbortSignal.any([readSignal, AbortSignal.timeout(REUSED_REPLY_MS)])
              : readSignal,
          );
          if (line !== null) inFlight = false;
        } catch (e) {
          if (readSignal.aborted) return "stopped";
          this.#log.debug(`[${unit.id}] status connection failed: ${errorText(e)}`);
          line = null;
        }
        if (line === null) {
          client.close();
          client = null;
          inFlight = false;
          if (reused) {
            // an idle connection that died meanwhile (the node restarted?): its siblings did too
            this.#log.debug(
              `[${unit.id}] kept connection to ${ed0.RemoteNode} is gone; dialling a fresh one`,
            );
            this.#pool.discard(ed0.RemoteNode, ed0.TLSClient);
            continue;
          }
          await delay(this.#pollMs(), signal);
          continue;
        }
        reused = false;
        const r = parseStatusReply(line);
        if (r.kind === "gone") {
          if (!forRelease) {
            const node = (await this.extra(unit).catch(() => null))?.RemoteNode ?? "?";
            this.#log.warning(
              `[${unit.id}] node ${node} no longer knows work unit ${rid}: marking it Failed`,
            );
            await failUnit(unit, goneDetail(node, rid));
          }
          return "gone";
        }
        if (r.kind === "error") {
          this.#log.error(`Remote error: ${r.message}`);
          return "stopped";
        }
        if (!forRelease && !killSeen && isProvisionalKill(r.State, r.Detail)) {
          killSeen = true; // mirror it only if the next poll still says so
          await delay(this.#pollMs(), signal);
          continue;
        }
        killSeen = false;
        const seen = `${r.State}\u0000${r.StdoutSize}\u0000${r.Detail}`;
        try {
          // an unchanged reply (a job still running quietly) needs no status write
          if (seen !== mirrored) {
            await unit.update((s) => {
              s.State = r.State;
              s.Detail = r.Detail;
              if (r.StdoutSize >= 0) s.StdoutSize = r.StdoutSize;
            });
            mirrored = seen;
          }
          writeFailures = 0;
        } catch (e) {
          if (++writeFailures > 3) {
            this.#log.error(`Exceeded retries for updating status file for work unit ${unit.id}`);
            return "stopped";
          }
          this.#log.error(`Error saving local status file: ${errorText(e)}`);
        }
        if (
          !forRelease && isFinal(r.State) && (await stdoutSize(unit.dir)) >= r.StdoutSize
        ) return "stopped";
        await delay(backoff.next(), signal);
      }
    } finally {
      late.dispose();
      if (client && !inFlight) this.#pool.put(ed0.RemoteNode, ed0.TLSClient, client);
      else if (client) {
        this.#log.debug(`[${unit.id}] status connection closed, not kept: a reply was unread`);
        client.close();
      }
    }
  }

  /** control.md §6.5: fetch stdout from the local size whenever the remote has more. */
  async #stdoutLoop(unit: UnitContext, signal: AbortSignal): Promise<void> {
    const path = unitPaths(unit.dir).stdout;
    try {
      // a new file: off the event loop (finding a free inode can take ms on ext4 after churn)
      (await Deno.open(path, { create: true, append: true, mode: 0o600 })).close();
    } catch (e) {
      this.#log.error(`Could not open stdout file ${path}: ${errorText(e)}`);
      return;
    }
    let first = true;
    const backoff = new PollBackoff(this.#pollMs());
    for (;;) {
      if (!first) await delay(backoff.next(), signal);
      first = false;
      if (signal.aborted) return;
      let s: StatusFileData;
      try {
        s = await unit.load();
      } catch (e) {
        this.#log.error(`[${unit.id}] Could not read status file: ${errorText(e)}`);
        return;
      }
      const disk = await stdoutSize(unit.dir);
      if (isFinal(s.State) && disk >= s.StdoutSize) return;
      if (disk >= s.StdoutSize) continue;
      const client = await this.getConnection(unit, signal);
      if (!client) return;
      await this.#fetchStdout(unit, client, disk, signal);
    }
  }

  /** One `work results` pass appended to the local stdout (closes the client). */
  async #fetchStdout(
    unit: UnitContext,
    client: RemoteControlClient,
    startpos: number,
    signal: AbortSignal,
  ): Promise<void> {
    let file: Deno.FsFile | null = null;
    try {
      const ed = await this.extra(unit);
      let sig: string | undefined;
      try {
        sig = await this.#signature(ed);
      } catch (e) {
        this.#log.error(`could not create signature to get results: ${errorText(e)}`);
        return;
      }
      await client.writeLine(sortedJson(resultsRequest(ed.RemoteUnitID, startpos, sig)));
      const hdr = await client.readLine(signal);
      if (hdr === null || !hdr.includes("Streaming results")) {
        this.#log.warning(`Remote node ${ed.RemoteNode} did not stream results: ${hdr ?? "EOF"}`);
        return;
      }
      file = await Deno.open(unitPaths(unit.dir).stdout, {
        create: true,
        append: true,
        mode: 0o600,
      });
      const reader = client.rest().getReader();
      // results arrive in packet-sized chunks: batch them into fewer file writes
      const out = new BatchingWriter(file);
      try {
        for (;;) {
          const r = await abortable(reader.read(), signal, () => client.close());
          if (r.done) break;
          await out.write(r.value);
        }
      } finally {
        reader.releaseLock();
        await out.flush(); // everything received reaches the file before it is closed
      }
    } catch (e) {
      if (!signal.aborted) {
        this.#log.warning(`[${unit.id}] Could not copy to stdout file: ${errorText(e)}`);
      }
    } finally {
      file?.close();
      client.close();
    }
  }

  // ---------------------------------------------------------------- cancel / release

  /**
   * Send cancel/release over a connected client and read the reply. The client goes back to
   * the idle pool once the reply was read (whatever it said), else it is closed.
   */
  async sendOp(
    unit: UnitContext,
    client: RemoteControlClient,
    release: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    let ed: RemoteExtraData | null = null;
    let answered = false;
    try {
      ed = await this.extra(unit);
      const sig = await this.#signature(ed);
      await sendRequest(client, ed, cancelRequest(ed.RemoteUnitID, release, sig));
      const line = await this.#readReply(client, ed, signal);
      answered = true;
      const err = cancelReplyError(line);
      if (err !== null) throw new WorkError(err);
    } finally {
      if (answered && ed) this.#pool.put(ed.RemoteNode, ed.TLSClient, client);
      else client.close();
    }
  }

  /**
   * Cancel/release on an idle pooled connection when there is one, else on `connect()`'s
   * (null from it = no connection: returned as is). A pooled connection that turns out dead is
   * dropped and the request sent once more on a fresh one (also when its reply takes over
   * {@link REUSED_OP_REPLY_MS}: the node may have restarted unnoticed); a release that the
   * retry finds already gone (`unknown work unit`) counts as sent, since the first attempt may
   * have been carried out before its connection died.
   */
  async requestOp(
    unit: UnitContext,
    release: boolean,
    signal: AbortSignal,
    connect: () => Promise<RemoteControlClient | null>,
  ): Promise<"sent" | null> {
    const ed = await this.extra(unit);
    const idle = this.#pool.take(ed.RemoteNode, ed.TLSClient);
    let retried = false;
    if (idle) {
      // its node may have restarted meanwhile without an error reaching us: bound the reply
      const bound = new AbortController();
      const ms = this.#o.reusedOpReplyMs ?? REUSED_OP_REPLY_MS;
      const timer = setTimeout(() => bound.abort(), ms);
      try {
        await this.sendOp(unit, idle, release, AbortSignal.any([signal, bound.signal]));
        return "sent";
      } catch (e) {
        if (signal.aborted || !isConnectionFailure(e)) throw e;
        const why = bound.signal.aborted ? `no reply within ${ms} ms` : errorText(e);
        this.#log.debug(
          `[${unit.id}] kept connection to ${ed.RemoteNode} failed (${why}); ` +
            "sending again on a fresh one",
        );
        this.#pool.discard(ed.RemoteNode, ed.TLSClient);
        retried = true;
      } finally {
        clearTimeout(timer);
      }
    }
    const client = await connect();
    if (!client) return null;
    try {
      await this.sendOp(unit, client, release, signal);
    } catch (e) {
      if (retried && release && errorText(e).includes("unknown work unit")) return "sent";
      throw e;
    }
    return "sent";
  }
}
