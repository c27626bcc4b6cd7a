/**
 * The life of one `work-kubernetes` unit after it started (I/O shell over
 * kubernetes_core.ts, kube_log_cursor.ts and kube_client.ts): create the pod, wait until it
 * runs, send the payload to the `worker` container's stdin, copy its log into the unit's
 * stdout exactly once (across dropped streams and node restarts), and finish with the
 * container's exit status.
 *
 * Status updates never overwrite a final state (a cancel that happened meanwhile wins).
 * @module
 */
import type { Logger } from "../log.ts";
import { KubeApiError, type KubeClient, type Pod } from "./kube_client.ts";
import { type CursorState, LogCursor, sinceTimeFor } from "./kube_log_cursor.ts";
import {
  cannotStartDetail,
  classifyPod,
  finishedOutcome,
  type KubeExtraData,
  pendingTimeoutDetail,
  type PodView,
  SaveThrottle,
  WORKER_CONTAINER,
} from "./kubernetes_core.ts";
import { isFinal, unitPaths, WorkState } from "./status_file.ts";
import type { UnitContext } from "./unit_type.ts";

/** Timings of a run (tests shorten them). */
export interface KubeRunTimings {
  /** Pod status poll period while pending and while streaming (ms). */
  pollMs: number;
  /** Give up on the log stream / API after this long without a successful call (ms). */
  reconnectLimitMs: number;
  /** Wait this long for the server to end an attach after stdin was closed (ms). */
  attachGraceMs: number;
  /** Save the stream position and StdoutSize at most this often (ms). */
  saveEveryMs: number;
}

/** Defaults of {@link KubeRunTimings}. */
export const DEFAULT_KUBE_TIMINGS: KubeRunTimings = {
  pollMs: 1000,
  reconnectLimitMs: 120_000,
  attachGraceMs: 5000,
  saveEveryMs: 250,
};

/** The saved stream position (`<unitdir>/kubelog.json`): cursor plus the stdout length. */
interface SavedPosition extends CursorState {
  size: number;
}

/** File holding {@link SavedPosition}. */
export function positionPath(unitDir: string): string {
  return `${unitDir}/kubelog.json`;
}

class Stop extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One unit's run. */
export class KubeRun {
  readonly #log: Logger;
  #throttle: SaveThrottle | null = null;
  #pendingRead: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;

  constructor(
    readonly unit: UnitContext,
    readonly client: KubeClient,
    readonly signal: AbortSignal,
    readonly timings: KubeRunTimings,
    readonly deletePodOnFailure: () => Promise<void>,
  ) {
    this.#log = unit.logger;
  }

  /** Set State/Detail (and StdoutSize when >= 0) unless the unit already reached a final state. */
  async setState(state: number, detail: string, size = -1, extra?: (e: KubeExtraData) => void) {
    if (this.signal.aborted) throw new Stop();
    const s = await this.unit.update((s) => {
      if (isFinal(s.State)) return;
      s.State = state;
      s.Detail = detail;
      if (size >= 0) s.StdoutSize = size;
      if (extra) extra(s.ExtraData as KubeExtraData);
    });
    if (s.State !== state) throw new Stop();
  }

  async #fail(detail: string, size = -1, deletePod = true): Promise<void> {
    this.#log.error(`[${this.unit.id}] ${detail}`);
    await this.setState(WorkState.Failed, detail, size).catch(() => {});
    if (deletePod) {
      await this.deletePodOnFailure().catch((e) =>
        this.#log.warning(`[${this.unit.id}] could not delete pod: ${errText(e)}`)
      );
    }
  }

  /** A freshly started unit: create the pod and see it through. */
  async runNew(ked: KubeExtraData, manifest: { namespace: string; manifest: unknown }) {
    try {
      let pod: Pod;
      try {
        pod = await this.client.createPod(manifest.namespace, manifest.manifest, this.signal);
      } catch (e) {
        if (this.signal.aborted) return;
        return await this.#fail(`Error creating pod: ${errText(e)}`, -1, false);
      }
      const ns = pod.metadata.namespace;
      const name = pod.metadata.name;
      await this.setState(WorkState.Pending, "Pod created", 0, (x) => {
        x.PodName = name;
        x.KubeNamespace = ns;
      });
      this.#log.info(`[${this.unit.id}] created pod ${ns}/${name}`);
      const view = await this.#waitStarted(ns, name, ked.PodPendingTimeout ?? 0);
      if (!view) return;
      await this.#stream(ns, name, view.kind === "running", { ts: "", count: 0, size: 0 });
    } catch (e) {
      if (e instanceof Stop || this.signal.aborted) return;
      await this.#fail(`Error running pod: ${errText(e)}`);
    }
  }

  /** A unit that was Running when the node stopped: continue copying its log. */
  async runResumed(ns: string, name: string) {
    try {
      const saved = await this.#loadPosition();
      await this.#stream(ns, name, false, saved);
    } catch (e) {
      if (e instanceof Stop || this.signal.aborted) return;
      await this.#fail(`Error running pod: ${errText(e)}`);
    }
  }

  /** Poll until the pod runs (or ended); null when the unit failed (pod deleted) or stopped. */
  async #waitStarted(ns: string, name: string, timeoutMs: number): Promise<PodView | null> {
    const t0 = Date.now();
    let lastOk = Date.now();
    let lastErr = "";
    let why = "phase Pending";
    for (;;) {
      if (this.signal.aborted) throw new Stop();
      try {
        const view = classifyPod(await this.client.getPod(ns, name, this.signal));
        lastOk = Date.now();
        if (view.kind === "running" || view.kind === "terminated") return view;
        if (view.kind === "cannot-start") {
          await this.#fail(cannotStartDetail(view));
          return null;
        }
        why = view.why;
      } catch (e) {
        if (this.signal.aborted) throw new Stop();
        if (e instanceof KubeApiError && e.code === 404) {
          await this.#fail(`Error creating pod: pod ${ns}/${name} was deleted`, -1, false);
          return null;
        }
        lastErr = errText(e);
        if (Date.now() - lastOk > this.timings.reconnectLimitMs) {
          await this.#fail(`Error getting pod ${ns}/${name}. Error: ${lastErr}`);
          return null;
        }
      }
      if (timeoutMs > 0 && Date.now() - t0 >= timeoutMs) {
        await this.#fail(pendingTimeoutDetail(timeoutMs, why));
        return null;
      }
      await sleep(this.timings.pollMs, this.signal);
    }
  }

  /** Send stdin (new units), copy the log, finish. */
  async #stream(ns: string, name: string, sendStdin: boolean, saved: SavedPosition) {
    const stdinSize = sendStdin ? await fileSize(unitPaths(this.unit.dir).stdin) : 0;
    const pumpStop = new AbortController();
    const pumpSignal = AbortSignal.any([this.signal, pumpStop.signal]);
    const out = await this.#openStdout(saved.size);
    try {
      if (stdinSize === 0) await this.setState(WorkState.Running, "Pod Running", saved.size);
      else await this.setState(WorkState.Pending, "Sending stdin to pod");
      const pump = this.#pump(ns, name, out, saved, pumpSignal);
      pump.catch(() => {});
      if (stdinSize > 0) {
        try {
          await this.#sendStdin(ns, name);
        } catch (e) {
          pumpStop.abort();
          await pump.catch(() => {});
          if (this.signal.aborted) throw new Stop();
          return await this.#fail(`Error with pod's stdin: ${errText(e)}`, out.size);
        }
        await this.setState(WorkState.Running, "Pod Running", out.size);
      }
      const end = await pump;
      if (!end) return;
      if ("error" in end) return await this.#fail(end.error, out.size);
      const outcome = finishedOutcome(end.exitCode, end.message);
      await this.#savePosition(out, true);
      await this.setState(
        outcome.ok ? WorkState.Succeeded : WorkState.Failed,
        outcome.detail,
        out.size,
      );
      this.#log.info(`[${this.unit.id}] pod ${ns}/${name}: ${outcome.detail}`);
    } finally {
      out.file.close();
    }
  }

  async #sendStdin(ns: string, name: string): Promise<void> {
    const f = await Deno.open(unitPaths(this.unit.dir).stdin, { read: true });
    try {
      const n = await this.client.attachStdin(
        ns,
        name,
        WORKER_CONTAINER,
        f.readable,
        this.signal,
        this.timings.attachGraceMs,
      );
      this.#log.debug(`[${this.unit.id}] sent ${n} bytes of stdin to pod ${ns}/${name}`);
    } finally {
      try {
        f.close();
      } catch {
        // the readable closed it
      }
    }
  }

  /**
   * Copy the worker's log through the cursor until the pod has ended and its log is drained.
   * Resolves to the exit status, an error Detail, or null when stopped.
   */
  async #pump(
    ns: string,
    name: string,
    out: StdoutFile,
    saved: CursorState,
    signal: AbortSignal,
  ): Promise<{ exitCode: number; message: string } | { error: string } | null> {
    const cursor = new LogCursor(saved);
    out.cursor = cursor;
    let lastOk = Date.now();
    let lastErr = "";
    let backoff = 250;
    for (;;) {
      if (signal.aborted) return null;
      let ended: PodView | null = null;
      try {
        const view = classifyPod(await this.client.getPod(ns, name, signal));
        lastOk = Date.now();
        if (view.kind === "terminated") ended = view;
        const follow = ended === null;
        const got = await this.#readLog(ns, name, cursor, out, follow, signal);
        if (got) lastOk = Date.now();
        if (ended && ended.kind === "terminated") {
          for (const b of cursor.finish()) await out.write(b);
          await this.#savePosition(out, true);
          return { exitCode: ended.exitCode, message: ended.message };
        }
        backoff = 250;
      } catch (e) {
        if (signal.aborted) return null;
        if (e instanceof KubeApiError && e.code === 404) {
          return { error: `Error getting pod ${ns}/${name}. Error: ${e.message}` };
        }
        lastErr = errText(e);
        this.#log.warning(`[${this.unit.id}] log stream of pod ${ns}/${name}: ${lastErr}`);
        if (Date.now() - lastOk > this.timings.reconnectLimitMs) {
          return { error: `Error with pod's stdout: ${lastErr}` };
        }
        backoff = Math.min(backoff * 2, 5000);
      }
      await sleep(backoff, signal);
    }
  }

  /**
   * One log request from the cursor's position. A followed stream is ended early when the pod
   * is seen to have finished (a simulated kubelet follows forever). True if bytes arrived.
   */
  async #readLog(
    ns: string,
    name: string,
    cursor: LogCursor,
    out: StdoutFile,
    follow: boolean,
    signal: AbortSignal,
  ): Promise<boolean> {
    const streamStop = new AbortController();
    const s = AbortSignal.any([signal, streamStop.signal]);
    cursor.newStream();
    this.#pendingRead = null;
    // watch from the start: a log server may send no headers until the first line
    const watcher = follow ? this.#watchEnd(ns, name, s, () => streamStop.abort()) : null;
    let got = false;
    try {
      const body = await this.client.logs(ns, name, {
        container: WORKER_CONTAINER,
        follow,
        timestamps: true,
        sinceTime: sinceTimeFor(cursor.state),
      }, s);
      // cancel the body explicitly too: an abort that lands while the response is being set
      // up can leave a followed body open (seen with a resumed unit whose pod had just ended)
      const reader = body.getReader();
      const cancel = () => reader.cancel().catch(() => {});
      if (s.aborted) cancel();
      else s.addEventListener("abort", cancel, { once: true });
      for (;;) {
        const r = await this.#readOrQuiet(reader, out);
        if (r === null) continue; // quiet with unsaved bytes: saved them, keep reading
        if (r.done) break;
        got = true;
        for (const b of cursor.push(r.value)) await out.write(b);
        await this.#savePosition(out, false);
      }
    } catch (e) {
      if (!streamStop.signal.aborted) throw e;
    } finally {
      streamStop.abort();
      await watcher;
    }
    await this.#savePosition(out, true);
    return got;
  }

  /**
   * The next chunk; or, when unsaved bytes wait and the stream stays quiet past the throttle,
   * save them and return null (the pending read carries over to the next call).
   */
  async #readOrQuiet(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    out: StdoutFile,
  ): Promise<ReadableStreamReadResult<Uint8Array> | null> {
    const next = this.#pendingRead ??= reader.read();
    const throttle = this.#throttle ??= new SaveThrottle(this.timings.saveEveryMs);
    const delay = throttle.quietDelay(
      Date.now(),
      out.cursor !== null && out.size !== out.savedSize,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = delay === null
      ? null
      : new Promise<null>((r) => timer = setTimeout(r, delay, null));
    try {
      const r = quiet ? await Promise.race([next, quiet]) : await next;
      if (r === null) {
        await this.#savePosition(out, true);
        return null;
      }
      this.#pendingRead = null;
      return r;
    } catch (e) {
      this.#pendingRead = null;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** While a followed stream is open, poll the pod and call `end` once it has finished. */
  async #watchEnd(ns: string, name: string, signal: AbortSignal, end: () => void) {
    while (!signal.aborted) {
      await sleep(this.timings.pollMs, signal);
      if (signal.aborted) return;
      try {
        if (classifyPod(await this.client.getPod(ns, name, signal)).kind === "terminated") {
          return end();
        }
      } catch (e) {
        // the stream itself reports lasting trouble
        this.#log.debug(`[${this.unit.id}] polling pod ${ns}/${name}: ${errText(e)}`);
      }
    }
  }

  async #openStdout(size: number): Promise<StdoutFile> {
    const path = unitPaths(this.unit.dir).stdout;
    const file = await Deno.open(path, { write: true, create: true, mode: 0o600 });
    // bytes written after the last saved position are written again from the log
    await file.truncate(size);
    await file.seek(size, Deno.SeekMode.Start);
    return new StdoutFile(file, size);
  }

  async #savePosition(out: StdoutFile, force: boolean): Promise<void> {
    const now = Date.now();
    const throttle = this.#throttle ??= new SaveThrottle(this.timings.saveEveryMs);
    const dirty = out.size !== out.savedSize;
    if (!out.cursor || !dirty || (!force && !throttle.dueAfterChunk(now, dirty))) return;
    throttle.saved(now);
    const pos: SavedPosition = { ...out.cursor.state, size: out.size };
    const path = positionPath(this.unit.dir);
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(pos), { mode: 0o600 });
    await Deno.rename(`${path}.tmp`, path);
    out.savedSize = out.size;
    await this.unit.update((s) => {
      if (!isFinal(s.State)) s.StdoutSize = out.size;
    });
  }

  async #loadPosition(): Promise<SavedPosition> {
    try {
      const p = JSON.parse(await Deno.readTextFile(positionPath(this.unit.dir)));
      if (typeof p.ts === "string" && typeof p.count === "number" && typeof p.size === "number") {
        return p as SavedPosition;
      }
    } catch {
      // nothing saved yet
    }
    return { ts: "", count: 0, size: 0 };
  }
}

/** The unit's stdout being appended to. */
class StdoutFile {
  cursor: LogCursor | null = null;
  savedSize: number;
  constructor(readonly file: Deno.FsFile, public size: number) {
    this.savedSize = size;
  }

  async write(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) off += await this.file.write(b.subarray(off));
    this.size += b.length;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}
