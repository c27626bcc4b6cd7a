/**
 * Work-unit operations for the importable control client (control.md §2.5, §3.1): submit
 * with a streamed payload, list, status, results streaming, cancel and release — the same
 * requests receptorctl's `ReceptorControl` sends, so any compatible node answers them.
 *
 * Submit and results take over their connection (the payload ends with a half-close; the
 * results stream runs until the server closes), exactly like receptorctl; the other
 * operations can share one connection.
 *
 * @example
 * ```ts
 * const c = await ReceptorClient.connect("/tmp/node1.sock");
 * const { unitid } = await submitWork(c, "echo", "hello\n");
 * c.close();
 * const c2 = await ReceptorClient.connect("/tmp/node1.sock");
 * const out = await new Response(await workResults(c2, unitid)).text();
 * ```
 * @module
 */
import { ControlReplyError, type ReceptorClient } from "./client.ts";
import { errorText } from "../util/error_text.ts";

import { SUBMIT_ENVELOPE_KEYS, type WorkUnitStatus } from "../work/submit_protocol.ts";

export type { WorkUnitStatus } from "../work/submit_protocol.ts";

/** What a successful submit returns. */
export interface SubmitResult {
  /** `Job Started` (or `Job Submitted` for remote work still being delivered). */
  result: string;
  unitid: string;
}

/** Options of {@link submitWork}. */
export interface SubmitOptions {
  /** Target node; default `localhost` (local work). */
  node?: string;
  /**
   * Work parameters (e.g. `params`). A value starting with `@` (not `@@`) is replaced by the
   * contents of the file it names, as receptorctl does.
   */
  params?: Record<string, string>;
  /** Remote work only: the submitting node's TLS client config for the remote control service. */
  tlsclient?: string;
  /** Remote work only: Go duration by which the remote start must happen. */
  ttl?: string;
  /**
   * Remote work only: ask the submitting node to sign its requests to the remote node with
   * its `work-signing` key (control.md §7). Local work ignores it.
   */
  signwork?: boolean;
  /** Called with the running byte count while the payload is sent. */
  onProgress?: (bytesSent: number) => void;
}

/** A submit refused by the node or broken on the way. */
export class SubmitError extends Error {
  override name = "SubmitError";
}

/** Payload forms {@link submitWork} accepts (`null` = empty payload). */
export type WorkPayload = ReadableStream<Uint8Array> | Uint8Array | string | null;

/** Build the JSON submit request as receptorctl does (params may load `@file` values). */
export async function buildSubmitRequest(
  worktype: string,
  opts: SubmitOptions = {},
): Promise<Record<string, string>> {
  const req: Record<string, string> = {
    command: "work",
    subcommand: "submit",
    node: opts.node || "localhost",
    worktype,
  };
  if (opts.tlsclient) req.tlsclient = opts.tlsclient;
  if (opts.ttl) req.ttl = opts.ttl;
  if (opts.signwork) req.signwork = "true";
  for (const [k, v0] of Object.entries(opts.params ?? {})) {
    if (k in req || SUBMIT_ENVELOPE_KEYS.has(k)) {
      throw new SubmitError(`Duplicate or illegal parameter ${k}`);
    }
    let v = v0;
    if (v.startsWith("@") && !v.startsWith("@@")) {
      try {
        v = await Deno.readTextFile(v.slice(1));
      } catch (e) {
        throw new SubmitError(`cannot read parameter file ${v.slice(1)}: ${errorText(e)}`);
      }
    }
    req[k] = v;
  }
  return req;
}

function payloadStream(payload: WorkPayload): ReadableStream<Uint8Array> {
  if (payload instanceof ReadableStream) return payload;
  const bytes = payload === null
    ? new Uint8Array(0)
    : typeof payload === "string"
    ? new TextEncoder().encode(payload)
    : payload;
  return new ReadableStream({
    start(c) {
      if (bytes.length) c.enqueue(bytes);
      c.close();
    },
  });
}

/**
 * Submit a unit of work and stream its payload (control.md §2.5.1). Consumes the connection:
 * after the payload it is half-closed and the final reply read; close the client afterwards.
 * Throws {@link SubmitError} (`Failed to start work unit: …`, `Remote error: ERROR: …`).
 */
export async function submitWork(
  client: ReceptorClient,
  worktype: string,
  payload: WorkPayload,
  opts: SubmitOptions = {},
): Promise<SubmitResult> {
  const req = await buildSubmitRequest(worktype, opts);
  await client.writeLine(JSON.stringify(req));
  const created = await client.readLine();
  const m = created !== null &&
    /^Work unit created with ID (.+)\. Send stdin data and EOF\.$/.exec(created.trim());
  if (!m) {
    const text = (created ?? "").trim();
    throw new SubmitError(
      text === ""
        ? "Failed to start work unit"
        : `Failed to start work unit: ${text.startsWith("ERROR:") ? text.slice(7) : text}`,
    );
  }
  const w = client.rawWritable().getWriter();
  let sent = 0;
  const reader = payloadStream(payload).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await w.write(value);
      sent += value.length;
      opts.onProgress?.(sent);
    }
    await w.close();
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw new SubmitError(`error sending payload: ${errorText(e)}`);
  } finally {
    w.releaseLock();
  }
  const line = await client.readLine();
  if (line === null) throw new SubmitError("Remote error: connection closed before a reply");
  const t = line.trim();
  if (t.startsWith("ERROR:")) throw new SubmitError(`Remote error: ${t}`);
  const r = JSON.parse(t) as SubmitResult;
  return { result: r.result, unitid: r.unitid };
}

/** `work list [id]`: all units (or one) keyed by unit ID. */
export function workList(
  client: ReceptorClient,
  unitId?: string,
): Promise<Record<string, WorkUnitStatus>> {
  return client.command(unitId ? `work list ${unitId}` : "work list");
}

/** `work status <id>`. */
export function workStatus(client: ReceptorClient, unitId: string): Promise<WorkUnitStatus> {
  return client.command(`work status ${unitId}`);
}

/**
 * `work results <id> <startpos>`: the unit's stdout from `startpos`, streaming until the unit
 * completes. Consumes the connection (it is half-closed, as receptorctl does); cancelling or
 * draining the stream closes it. Throws `Failed to get results: …` if the node refuses.
 */
export async function workResults(
  client: ReceptorClient,
  unitId: string,
  startpos = 0,
): Promise<ReadableStream<Uint8Array>> {
  await client.writeLine(`work results ${unitId} ${startpos}`);
  const line = await client.readLine();
  const t = (line ?? "").trim();
  if (!/^Streaming results for work unit (.+)$/.test(t)) {
    client.close();
    throw new ControlReplyError(
      t === ""
        ? "Failed to get results"
        : `Failed to get results: ${t.startsWith("ERROR:") ? t.slice(7) : t}`,
    );
  }
  await client.closeWrite().catch(() => {});
  const rest = client.rest();
  const reader = rest.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          c.close();
          client.close();
        } else c.enqueue(value);
      } catch (e) {
        client.close();
        c.error(e);
      }
    },
    async cancel() {
      await reader.cancel().catch(() => {});
      client.close();
    },
  }, { highWaterMark: 0 });
}

/** `work cancel <id>`: `{"cancelled": id}` or `{"cancel pending": id}`. */
export function workCancel(
  client: ReceptorClient,
  unitId: string,
): Promise<Record<string, string>> {
  return client.command(`work cancel ${unitId}`);
}

/**
 * `work release <id>` (or `work force-release <id>` with `force`): `{"released": id}` or
 * `{"release pending": id}`.
 */
export function workRelease(
  client: ReceptorClient,
  unitId: string,
  force = false,
): Promise<Record<string, string>> {
  return client.command(`work ${force ? "force-release" : "release"} ${unitId}`);
}

/**
 * `connect <node> control <tlsclient>` then read the remote banner: afterwards `client`
 * talks to that node's control service (as receptorctl's `work list --node`). Returns the
 * remote node ID.
 */
export async function connectRemoteControl(
  client: ReceptorClient,
  node: string,
  tlsClient = "",
): Promise<string> {
  await client.writeLine(`connect ${node} control ${tlsClient}`);
  const line = await client.readLine();
  if (line === null) throw new Error("control connection closed");
  const t = line.trim();
  if (t.startsWith("ERROR:")) throw new ControlReplyError(t.slice(7));
  if (!t.startsWith("Connecting")) throw new Error(`unexpected reply: ${t}`);
  const banner = await client.readLine();
  const m = banner && /^Receptor Control, node (.+)$/.exec(banner.trim());
  if (!m) {
    throw new Error(`unexpected banner from remote control service: ${JSON.stringify(banner)}`);
  }
  return m[1];
}
