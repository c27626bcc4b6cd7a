/**
 * Pure pieces of remote work (control.md §6): the `RemoteExtraData` record (§6.9, upstream
 * key order), its redaction, the requests a submitter sends, parsing of the executor's
 * replies, the ttl expiry text and the reconnect back-off. No I/O here.
 * @module
 */
import { formatGoTime, localGoTime, parseGoTime } from "../gocompat/time.ts";
import { msToNs } from "../clock.ts";
import { WorkState } from "./status_file.ts";

/** ExtraData of a `remote` unit (control.md §6.9). */
export interface RemoteExtraData {
  RemoteNode: string;
  RemoteWorkType: string;
  RemoteParams: Record<string, string>;
  RemoteUnitID: string;
  RemoteStarted: boolean;
  LocalCancelled: boolean;
  LocalReleased: boolean;
  SignWork: boolean;
  TLSClient: string;
  /** RFC 3339 time; {@link ZERO_TIME} = no ttl. */
  Expiration: string;
}

/** Go's zero `time.Time` as JSON writes it. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** What a remote submission needs beyond the work parameters. */
export interface RemoteSpec {
  node: string;
  workType: string;
  tlsClient: string;
  /** Go duration text, "" for none. */
  ttl: string;
  signWork: boolean;
}

/** ExtraData in upstream key order, with Go zero values for anything missing or mistyped. */
export function normalizeExtra(raw: unknown): RemoteExtraData {
  const o = raw !== null && typeof raw === "object" && !Array.isArray(raw)
    ? raw as Record<string, unknown>
    : {};
  const str = (k: string) => (typeof o[k] === "string" ? o[k] as string : "");
  const bool = (k: string) => o[k] === true;
  const params: Record<string, string> = {};
  const rp = o.RemoteParams;
  if (rp !== null && typeof rp === "object" && !Array.isArray(rp)) {
    for (const [k, v] of Object.entries(rp as Record<string, unknown>)) {
      if (typeof v === "string") params[k] = v;
    }
  }
  return {
    RemoteNode: str("RemoteNode"),
    RemoteWorkType: str("RemoteWorkType"),
    RemoteParams: params,
    RemoteUnitID: str("RemoteUnitID"),
    RemoteStarted: bool("RemoteStarted"),
    LocalCancelled: bool("LocalCancelled"),
    LocalReleased: bool("LocalReleased"),
    SignWork: bool("SignWork"),
    TLSClient: str("TLSClient"),
    Expiration: str("Expiration") || ZERO_TIME,
  };
}

/** Whether a work parameter name is a secret (`secret_` prefix, any case). */
export function isSecretParam(key: string): boolean {
  return key.toLowerCase().startsWith("secret_");
}

/** A copy of the ExtraData with `secret_*` RemoteParams dropped (control replies only). */
export function redactExtra(ed: RemoteExtraData): RemoteExtraData {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(ed.RemoteParams)) if (!isSecretParam(k)) params[k] = v;
  return { ...ed, RemoteParams: params };
}

/** Expiration time text for a ttl starting at `nowMs` (local zone, like Go's time.Now()). */
export function expirationAt(nowMs: number, ttlMs: number): string {
  const ns = msToNs(nowMs) + BigInt(Math.round(ttlMs * 1e6));
  return formatGoTime(localGoTime(ns));
}

/** Milliseconds since the epoch of an Expiration, or null for the zero time / unparseable. */
export function expirationMs(expiration: string): number | null {
  if (expiration === "" || expiration === ZERO_TIME) return null;
  const t = parseGoTime(expiration);
  if (!t) return null;
  const ms = Number(t.unixNs / 1_000_000n);
  // Go's zero time written with another zone still means "no ttl".
  if (ms < -62_000_000_000_000) return null;
  return ms;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");

/** Go's `Format("Mon Jan 2 15:04:05")` in the local zone. */
export function goStampNoYear(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${d.getDate()} ${p2(d.getHours())}:` +
    `${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** Detail of a unit whose ttl passed before the remote start (control.md §6.6). */
export function expiredDetail(expiration: string): string {
  const ms = expirationMs(expiration) ?? 0;
  return `Work unit expired on ${goStampNoYear(ms)}`;
}

/** The JSON submit line sent to the executor (control.md §6.3); ttl/signwork never forwarded. */
export function submitRequest(ed: RemoteExtraData, signature?: string): Record<string, string> {
  const cmd: Record<string, string> = { ...ed.RemoteParams };
  cmd.command = "work";
  cmd.subcommand = "submit";
  cmd.node = ed.RemoteNode;
  cmd.worktype = ed.RemoteWorkType;
  cmd.tlsclient = ed.TLSClient;
  if (signature !== undefined) cmd.signature = signature;
  return cmd;
}

/** `work results` request resuming at `startpos` (a JSON number, as Go sends). */
export function resultsRequest(
  remoteUnitId: string,
  startpos: number,
  signature?: string,
): Record<string, unknown> {
  const cmd: Record<string, unknown> = {
    command: "work",
    subcommand: "results",
    unitid: remoteUnitId,
    startpos,
  };
  if (signature !== undefined) cmd.signature = signature;
  return cmd;
}

/** `work cancel` / `work release` request. */
export function cancelRequest(
  remoteUnitId: string,
  release: boolean,
  signature?: string,
): Record<string, string> {
  const cmd: Record<string, string> = {
    command: "work",
    subcommand: release ? "release" : "cancel",
    unitid: remoteUnitId,
  };
  if (signature !== undefined) cmd.signature = signature;
  return cmd;
}

/** Remote unit ID from the `Work unit created with ID X.` line, or null (unanchored search). */
export function parseCreatedLine(line: string): string | null {
  const m = /with ID ([a-zA-Z0-9]+)\./.exec(line);
  return m ? m[1] : null;
}

/** The error carried by a submit's final line (`ERROR: (.*)` anywhere), or null for success. */
export function parseSubmitResult(line: string): string | null {
  const m = /ERROR: (.*)/.exec(line);
  return m ? m[1] : null;
}

/**
 * Upstream's error for an `ERROR…` reply to cancel/release: everything after byte 6, so the
 * remote's leading space is kept (`error cancelling remote unit:  unknown work unit X`).
 * Returns null for a non-error reply.
 */
export function cancelReplyError(line: string): string | null {
  if (!line.startsWith("ERROR")) return null;
  return `error cancelling remote unit: ${line.slice(6)}`;
}

/** A mirrored status reply (`work status`), or an error classification. */
export type StatusReply =
  | { kind: "status"; State: number; Detail: string; StdoutSize: number }
  | { kind: "gone" }
  | { kind: "error"; message: string };

/** Classify one `work status` reply line (control.md §6.4). */
export function parseStatusReply(line: string): StatusReply {
  if (line.startsWith("ERROR")) {
    if (line.includes("unknown work unit")) return { kind: "gone" };
    return { kind: "error", message: line.slice(6).trim() };
  }
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return { kind: "error", message: `Error unmarshalling JSON: ${line}` };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) {
    return { kind: "error", message: `Error unmarshalling JSON: ${line}` };
  }
  const r = o as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0);
  return {
    kind: "status",
    State: num(r.State),
    Detail: typeof r.Detail === "string" ? r.Detail : "",
    StdoutSize: num(r.StdoutSize),
  };
}

/** Upstream's IncrementalDuration: 1 s, ×1.5 per failure, capped at 60 s. */
export class Backoff {
  #next: number;
  constructor(
    readonly initialMs = 1000,
    readonly maxMs = 60_000,
    readonly factor = 1.5,
  ) {
    this.#next = initialMs;
  }
  /** The delay to wait now; the following one grows. */
  next(): number {
    const d = this.#next;
    this.#next = Math.min(this.maxMs, this.#next * this.factor);
    return d;
  }
  /** Back to the initial delay. */
  reset(): void {
    this.#next = this.initialMs;
  }
}

/**
 * Poll delays: 50 ms twice, then doubling up to `maxMs` (upstream polls every 1 s from the
 * start), i.e. polls 50, 100, 200, 400 ms after the start. A small job's runner finishes
 * 50–150 ms after the submit on this kind of machine, so the first polls come early; each is
 * one line each way on a kept connection. (Doubling from the first poll put the second at
 * 150 ms: a unit done at 60 ms waited 90 ms to be seen, the median remote unit over 2 hops.)
 */
export class PollBackoff {
  #next: number;
  #repeat = true; // the first delay is used twice
  constructor(private readonly maxMs: number, firstMs = 50) {
    this.#next = firstMs;
  }
  /** The delay before the next poll. */
  next(): number {
    const d = Math.min(this.#next, this.maxMs);
    if (this.#repeat) this.#repeat = false;
    else this.#next = Math.min(this.#next * 2, this.maxMs);
    return d;
  }
}

/**
 * A remote `Failed`/`Killed` is only provisional: an executor cancelling or releasing a running
 * unit first has its runner write it, then overwrites it with `Canceled` or deletes the unit.
 * The status loop re-polls once before mirroring it, so the submitter shows what the executor
 * ended with (Canceled, gone) and not the kill in between.
 */
export function isProvisionalKill(state: number, detail: string): boolean {
  return state === WorkState.Failed && detail === "Killed";
}

/**
 * Detail of a remote unit whose executor answers `unknown work unit`: upstream's text, then
 * which node forgot which unit and the likely reasons.
 */
export function goneDetail(node: string, remoteUnitId: string): string {
  return `Remote work unit is gone: node ${node} no longer knows unit ${remoteUnitId} ` +
    "(released there, or the node restarted without its data)";
}
