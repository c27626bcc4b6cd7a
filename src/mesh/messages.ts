/**
 * Netceptor message codec (wire.md §4–§8): data (36-byte header + payload), routing update
 * (JSON), service advertisement (JSON), reject (`03 5b 5d`). Decoding never throws: it returns
 * a typed {@link MessageDecodeError}.
 * @module
 */

import { errorText } from "../util/error_text.ts";
import {
  encodeGoJson,
  foldKeys,
  goJsonString,
  type GoJsonValue,
  isJsonObject,
  type JsonValue,
  parseJsonLossless,
  RawNumber,
  toFloat64,
  toUint64,
} from "../gocompat/json_lossless.ts";
import { formatGoTime, type GoTime, parseGoTime } from "../gocompat/time.ts";
import { decodeGoLayoutLazy, decodeGoLayoutUpdate, GoUpdate } from "./update_fast.ts";

/** Type byte of a data message. */
export const MSG_DATA = 0;
/** Type byte of a routing update. */
export const MSG_ROUTE = 1;
/** Type byte of a service advertisement. */
export const MSG_SERVICE_AD = 2;
/** Type byte of a reject. */
export const MSG_REJECT = 3;
/** Length of the data-message header. */
export const DATA_HEADER_LEN = 36;
/** Maximum service-name length in bytes. */
export const MAX_SERVICE_NAME = 8;
/** The complete reject message: type 3 + JSON `[]`. */
export const REJECT_MESSAGE: Uint8Array = Uint8Array.of(0x03, 0x5b, 0x5d);

/** Routing update body (wire.md §5.1); uint64 fields are exact BigInts. */
export interface RoutingUpdate {
  NodeID: string;
  UpdateID: string;
  UpdateEpoch: bigint;
  UpdateSequence: bigint;
  /** Peer → cost; `null` only when a peer sent JSON null (re-flooded as is). */
  Connections: Record<string, number> | null;
  ForwardingNode: string;
  SuspectedDuplicate: bigint;
}

/** One work type offered by a node (in control-service ads). */
export interface WorkCommand {
  WorkType: string;
  Secure: boolean;
}

/** Service advertisement body (wire.md §6.1). */
export interface ServiceAdvertisement {
  NodeID: string;
  Service: string;
  Time: GoTime;
  ConnType: number;
  Tags: Record<string, string> | null;
  WorkCommands: WorkCommand[] | null;
  Cancel: boolean;
}

/** A decoded data-message header plus payload; node names are still hashes. */
export interface DataMessage {
  hopsToLive: number;
  fromHash: bigint;
  toHash: bigint;
  fromService: string;
  toService: string;
  payload: Uint8Array;
}

/** Body of an `unreach` message (wire.md §8.1), keys in wire order. */
export interface UnreachableMessage {
  FromNode: string;
  ToNode: string;
  FromService: string;
  ToService: string;
  Problem: string;
}

/** Why a message could not be decoded. */
export type DecodeErrorCode =
  | "empty"
  | "truncated"
  | "bad-json"
  | "bad-field"
  | "unknown-type";

/** A typed decode failure; `message` names the problem and where. */
export class MessageDecodeError extends Error {
  /** `code` classifies the failure. */
  constructor(readonly code: DecodeErrorCode, message: string) {
    super(message);
    this.name = "MessageDecodeError";
  }
}

/** Result of a decode: a value or a {@link MessageDecodeError}. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: MessageDecodeError };

/** Any decoded netceptor message. */
export type NetceptorMessage =
  | { type: typeof MSG_DATA; data: DataMessage }
  | { type: typeof MSG_ROUTE; update: RoutingUpdate }
  | { type: typeof MSG_SERVICE_AD; ad: ServiceAdvertisement }
  | { type: typeof MSG_REJECT };

const utf8 = new TextEncoder();
/** Go reads the bytes as they are: a leading EF BB BF is U+FEFF (in JSON: an error), not a BOM. */
const utf8d = new TextDecoder("utf-8", { ignoreBOM: true });
const U64_KEYS = new Set(["updateepoch", "updatesequence", "suspectedduplicate"]);
const NO_RAW = new Set<string>();
/** Go's zero `time.Time` (0001-01-01T00:00:00Z). */
export const ZERO_GO_TIME: GoTime = { unixNs: -62135596800_000_000_000n, offsetSec: 0 };

function fail<T>(code: DecodeErrorCode, message: string): Decoded<T> {
  return { ok: false, error: new MessageDecodeError(code, message) };
}

/**
 * The result of every lazy decode that took the fast path (see {@link decodeMessage}): two
 * result objects per decoded update were ~4% of the 1,000-node convergence's allocation.
 */
const lazyRoute = {
  ok: true as const,
  value: { type: MSG_ROUTE as typeof MSG_ROUTE, update: null as unknown as RoutingUpdate },
};

/**
 * Decode one whole netceptor message (type byte + body). `lazy`: a routing update in Go's
 * layout comes as a {@link GoUpdate} (Connections built only when read; for the router).
 * Ownership: the result object of such a lazy decode (not the update in it) is the same
 * object every time, overwritten by the next lazy decode: take `value.update` out of it
 * before decoding another message (the router does at once and keeps neither).
 *
 * @example
 * ```ts
 * const r = decodeMessage(Uint8Array.of(3, 0x5b, 0x5d)); // { ok: true, value: { type: 3 } }
 * ```
 */
export function decodeMessage(bytes: Uint8Array, lazy = false): Decoded<NetceptorMessage> {
  if (bytes.length === 0) return fail("empty", "empty message");
  switch (bytes[0]) {
    case MSG_DATA: {
      const r = decodeData(bytes);
      return r.ok ? { ok: true, value: { type: MSG_DATA, data: r.value } } : r;
    }
    case MSG_ROUTE: {
      const fast = lazy ? decodeGoLayoutLazy(bytes) : undefined;
      if (fast) {
        lazyRoute.value.update = fast;
        return lazyRoute;
      }
      const r = decodeRoutingUpdate(bytes.subarray(1));
      return r.ok ? { ok: true, value: { type: MSG_ROUTE, update: r.value } } : r;
    }
    case MSG_SERVICE_AD: {
      const r = decodeServiceAd(bytes.subarray(1));
      return r.ok ? { ok: true, value: { type: MSG_SERVICE_AD, ad: r.value } } : r;
    }
    case MSG_REJECT:
      return { ok: true, value: { type: MSG_REJECT } };
    default:
      return fail("unknown-type", `unknown message type ${bytes[0]}`);
  }
}

function serviceName(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  // per-packet hot path: ASCII names without a TextDecoder call
  let s = "";
  for (let i = 0; i < end; i++) {
    if (b[i] > 0x7f) return utf8d.decode(b.subarray(0, end));
    s += String.fromCharCode(b[i]);
  }
  return s;
}

/** Decode a type-0 message: the 36-byte header and the payload (a view, not a copy). */
export function decodeData(bytes: Uint8Array): Decoded<DataMessage> {
  if (bytes.length === 0) return fail("empty", "empty message");
  if (bytes.length < DATA_HEADER_LEN) {
    return fail("truncated", `data message of ${bytes.length} bytes is shorter than its header`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    ok: true,
    value: {
      hopsToLive: bytes[1],
      fromHash: dv.getBigUint64(4),
      toHash: dv.getBigUint64(12),
      fromService: serviceName(bytes.subarray(20, 28)),
      toService: serviceName(bytes.subarray(28, 36)),
      payload: bytes.subarray(DATA_HEADER_LEN),
    },
  };
}

/** UTF-8 bytes of a service name, or undefined if longer than 8 bytes. */
export function serviceNameBytes(name: string): Uint8Array | undefined {
  const b = utf8.encode(name);
  return b.length <= MAX_SERVICE_NAME ? b : undefined;
}

/** True if `name` is ASCII of at most 8 characters (encodable without a TextEncoder). */
function shortAscii(name: string): boolean {
  if (name.length > MAX_SERVICE_NAME) return false;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** True if `name` fits a data header's 8-byte service field. */
export function serviceNameFits(name: string): boolean {
  return shortAscii(name) || serviceNameBytes(name) !== undefined;
}

/** Writes a service name (known to fit) into its 8-byte field at `pos` (zero-filled). */
function writeServiceName(out: Uint8Array, pos: number, name: string, bytes?: Uint8Array): void {
  if (bytes) {
    out.set(bytes, pos);
    return;
  }
  for (let i = 0; i < name.length; i++) out[pos + i] = name.charCodeAt(i);
}

/**
 * Encode a data message. Throws RangeError if a service name exceeds 8 bytes or the HTL is
 * not a byte (callers validate first).
 */
export function encodeData(
  h: {
    hopsToLive: number;
    fromHash: bigint;
    toHash: bigint;
    fromService: string;
    toService: string;
  },
  payload: Uint8Array,
): Uint8Array {
  // per-packet hot path: ASCII names (the usual case) skip the TextEncoder
  const fa = shortAscii(h.fromService), ta = shortAscii(h.toService);
  const fs = fa ? undefined : serviceNameBytes(h.fromService);
  const ts = ta ? undefined : serviceNameBytes(h.toService);
  if ((!fa && !fs) || (!ta && !ts)) throw new RangeError("service name too long");
  if (!Number.isInteger(h.hopsToLive) || h.hopsToLive < 0 || h.hopsToLive > 255) {
    throw new RangeError(`bad hops-to-live ${h.hopsToLive}`);
  }
  const out = new Uint8Array(DATA_HEADER_LEN + payload.length);
  const dv = new DataView(out.buffer);
  out[0] = MSG_DATA;
  out[1] = h.hopsToLive;
  dv.setBigUint64(4, h.fromHash);
  dv.setBigUint64(12, h.toHash);
  writeServiceName(out, 20, h.fromService, fs);
  writeServiceName(out, 28, h.toService, ts);
  out.set(payload, DATA_HEADER_LEN);
  return out;
}

function parseBody(body: Uint8Array, raw: ReadonlySet<string>, what: string) {
  try {
    return { ok: true as const, value: parseJsonLossless(utf8d.decode(body), raw) };
  } catch (e) {
    return {
      ok: false as const,
      error: new MessageDecodeError("bad-json", `${what}: ${errorText(e)}`),
    };
  }
}

type FieldReader = {
  str(key: string): string;
  u64(key: string): bigint;
  bool(key: string): boolean;
  get(key: string): JsonValue | undefined;
};

/** Go-like struct decoding helper: zero values for missing/null, errors for wrong types. */
function reader(obj: { [k: string]: JsonValue }, what: string, errors: string[]): FieldReader {
  const f = foldKeys(obj);
  return {
    get: (k) => f.get(k.toLowerCase()),
    str(k) {
      const v = f.get(k.toLowerCase());
      if (v === undefined || v === null) return "";
      if (typeof v === "string") return v;
      errors.push(`${what}: field ${k} must be a string`);
      return "";
    },
    u64(k) {
      const v = f.get(k.toLowerCase());
      if (v === undefined || v === null) return 0n;
      const n = toUint64(v);
      if (n !== undefined) return n;
      errors.push(`${what}: field ${k} must be an unsigned 64-bit integer`);
      return 0n;
    },
    bool(k) {
      const v = f.get(k.toLowerCase());
      if (v === undefined || v === null) return false;
      if (typeof v === "boolean") return v;
      errors.push(`${what}: field ${k} must be a boolean`);
      return false;
    },
  };
}

/**
 * The last update decoded by the fast path and its body bytes, for {@link encodeReflood}
 * (called for it while its message is handled: one slot, no per-update property).
 */
let lastFast: RoutingUpdate | undefined;
let lastFastBody: Uint8Array | undefined;
const FWD_FIELD = utf8.encode(',"ForwardingNode":"');
const DUP_FIELD = utf8.encode(',"SuspectedDuplicate":');
/** Encoded JSON strings of node IDs that re-flood (bounded: cleared when full). */
const selfJson = new Map<string, Uint8Array>();

function lastIndexOfBytes(b: Uint8Array, pat: Uint8Array, before: number): number {
  outer: for (let k = before - pat.length; k >= 0; k--) {
    for (let x = 0; x < pat.length; x++) if (b[k + x] !== pat[x]) continue outer;
    return k;
  }
  return -1;
}

/**
 * The message to re-flood for a received update `u`: `ForwardingNode` set to `self`. An
 * update that arrived in Go's layout keeps its bytes with only that field replaced (what Go's
 * re-encoding gives, without the cost of it); others are re-encoded. Call it while the
 * received message's bytes are still valid (during `handleMessage`). `alloc` gives the room
 * for the spliced message (a slab of the update store).
 */
export function encodeReflood(
  u: RoutingUpdate,
  self: string,
  alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
): Uint8Array {
  const fast = u instanceof GoUpdate;
  const body = fast ? u.body : u === lastFast ? lastFastBody : undefined;
  if (body !== undefined) {
    // the fast path knows where ForwardingNode's value is (no search)
    const s = fast ? u.jsonStart : 0; // where the JSON starts in body
    const j = fast ? u.fwdEnd + 1 : lastIndexOfBytes(body, DUP_FIELD, body.length);
    const i = fast
      ? u.fwdStart - FWD_FIELD.length
      : j < 0
      ? -1
      : lastIndexOfBytes(body, FWD_FIELD, j);
    if (i > s) {
      let me = selfJson.get(self);
      if (me === undefined) {
        if (selfJson.size >= 4096) selfJson.clear();
        selfJson.set(self, me = utf8.encode(goJsonString(self)));
      }
      const head = i + FWD_FIELD.length - 1; // up to the colon
      const out = alloc(1 + head - s + me.length + body.length - j);
      if (s === 1 && out.length >= body.length) {
        // the whole message (type byte first) at once, its tail moved within `out`, our
        // name over the old one: no subarray view (two per re-flooded update were most of
        // the typed-array objects a convergence allocates)
        out.set(body);
        out.copyWithin(head + me.length, j, body.length);
        out.set(me, head);
        return out;
      }
      out[0] = MSG_ROUTE;
      out.set(body.subarray(s, head), 1);
      out.set(me, 1 + head - s);
      // the tail (SuspectedDuplicate in Go's layout, ~25 bytes) by a loop: no view object
      const at = 1 + head - s + me.length - j;
      if (body.length - j >= 64) out.set(body.subarray(j), at + j);
      else for (let k = j; k < body.length; k++) out[at + k] = body[k];
      return out;
    }
  }
  return encodeRoutingUpdate({
    NodeID: u.NodeID,
    UpdateID: u.UpdateID,
    UpdateEpoch: u.UpdateEpoch,
    UpdateSequence: u.UpdateSequence,
    Connections: u.Connections, // an accessor on a GoUpdate: a spread would not copy it
    ForwardingNode: self,
    SuspectedDuplicate: u.SuspectedDuplicate,
  });
}

/** Decode the JSON body of a routing update (without the type byte). */
export function decodeRoutingUpdate(body: Uint8Array): Decoded<RoutingUpdate> {
  const what = "routing update";
  const fast = decodeGoLayoutUpdate(body);
  if (fast) {
    lastFast = fast;
    lastFastBody = body;
    return { ok: true, value: fast };
  }
  const p = parseBody(body, U64_KEYS, what);
  if (!p.ok) return p;
  const errors: string[] = [];
  const v = p.value;
  const obj = v === null ? {} : v;
  if (!isJsonObject(obj)) return fail("bad-field", `${what}: JSON is not an object`);
  const r = reader(obj, what, errors);
  let conns: Record<string, number> | null = null;
  const c = r.get("Connections");
  if (c !== undefined && c !== null) {
    if (!isJsonObject(c)) errors.push(`${what}: field Connections must be an object`);
    else {
      conns = {};
      for (const [peer, cost] of Object.entries(c)) {
        const n = toFloat64(cost);
        if (n === undefined) {
          errors.push(`${what}: cost of ${JSON.stringify(peer)} is not a number`);
        } else conns[peer] = n;
      }
    }
  }
  const u: RoutingUpdate = {
    NodeID: r.str("NodeID"),
    UpdateID: r.str("UpdateID"),
    UpdateEpoch: r.u64("UpdateEpoch"),
    UpdateSequence: r.u64("UpdateSequence"),
    Connections: conns,
    ForwardingNode: r.str("ForwardingNode"),
    SuspectedDuplicate: r.u64("SuspectedDuplicate"),
  };
  if (errors.length) return fail("bad-field", errors[0]);
  return { ok: true, value: u };
}

/** The JSON text of a routing update, exactly as Go writes it. */
export function routingUpdateJson(u: RoutingUpdate): string {
  const conns: GoJsonValue = u.Connections === null ? null : new Map(Object.entries(u.Connections));
  return encodeGoJson({
    NodeID: u.NodeID,
    UpdateID: u.UpdateID,
    UpdateEpoch: u.UpdateEpoch,
    UpdateSequence: u.UpdateSequence,
    Connections: conns,
    ForwardingNode: u.ForwardingNode,
    SuspectedDuplicate: u.SuspectedDuplicate,
  });
}

function withType(type: number, json: string): Uint8Array {
  // one allocation when the text is ASCII (the usual case): encode straight after the type byte
  const out = new Uint8Array(json.length + 1);
  const r = utf8.encodeInto(json, out.subarray(1));
  if (r.read === json.length && r.written === json.length) {
    out[0] = type;
    return out;
  }
  const body = utf8.encode(json);
  const all = new Uint8Array(body.length + 1);
  all[0] = type;
  all.set(body, 1);
  return all;
}

/** A whole type-1 message for `u`. */
export function encodeRoutingUpdate(u: RoutingUpdate): Uint8Array {
  return withType(MSG_ROUTE, routingUpdateJson(u));
}

/** Decode the JSON body of a service advertisement (without the type byte). */
export function decodeServiceAd(body: Uint8Array): Decoded<ServiceAdvertisement> {
  const what = "service advertisement";
  const p = parseBody(body, NO_RAW, what);
  if (!p.ok) return p;
  const obj = p.value === null ? {} : p.value;
  if (!isJsonObject(obj)) return fail("bad-field", `${what}: JSON is not an object`);
  const errors: string[] = [];
  const r = reader(obj, what, errors);
  let time = ZERO_GO_TIME;
  const t = r.get("Time");
  if (typeof t === "string") {
    const parsed = parseGoTime(t);
    if (parsed) time = parsed;
    else errors.push(`${what}: field Time is not an RFC 3339 timestamp: ${JSON.stringify(t)}`);
  } else if (t !== undefined && t !== null) errors.push(`${what}: field Time must be a string`);
  let connType = 0;
  const ct = r.get("ConnType");
  if (ct !== undefined && ct !== null) {
    const n = ct instanceof RawNumber ? Number(ct.source) : ct;
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 255) connType = n;
    else errors.push(`${what}: field ConnType must be an integer 0-255`);
  }
  let tags: Record<string, string> | null = null;
  const tg = r.get("Tags");
  if (tg !== undefined && tg !== null) {
    if (!isJsonObject(tg)) errors.push(`${what}: field Tags must be an object`);
    else {
      tags = {};
      for (const [k, val] of Object.entries(tg)) {
        if (typeof val === "string") tags[k] = val;
        else if (val === null) tags[k] = "";
        else errors.push(`${what}: tag ${JSON.stringify(k)} must be a string`);
      }
    }
  }
  let wcs: WorkCommand[] | null = null;
  const wc = r.get("WorkCommands");
  if (wc !== undefined && wc !== null) {
    if (!Array.isArray(wc)) errors.push(`${what}: field WorkCommands must be an array`);
    else {
      wcs = [];
      for (const item of wc) {
        if (item === null) {
          wcs.push({ WorkType: "", Secure: false });
          continue;
        }
        if (!isJsonObject(item)) {
          errors.push(`${what}: WorkCommands items must be objects`);
          continue;
        }
        const ir = reader(item, `${what} WorkCommands`, errors);
        wcs.push({ WorkType: ir.str("WorkType"), Secure: ir.bool("Secure") });
      }
    }
  }
  const ad: ServiceAdvertisement = {
    NodeID: r.str("NodeID"),
    Service: r.str("Service"),
    Time: time,
    ConnType: connType,
    Tags: tags,
    WorkCommands: wcs,
    Cancel: r.bool("Cancel"),
  };
  if (errors.length) return fail("bad-field", errors[0]);
  return { ok: true, value: ad };
}

/** The JSON text of a service advertisement, exactly as Go writes it. */
export function serviceAdJson(ad: ServiceAdvertisement): string {
  return encodeGoJson({
    NodeID: ad.NodeID,
    Service: ad.Service,
    Time: formatGoTime(ad.Time),
    ConnType: ad.ConnType,
    Tags: ad.Tags === null ? null : new Map(Object.entries(ad.Tags)),
    WorkCommands: ad.WorkCommands === null
      ? null
      : ad.WorkCommands.map((w) => ({ WorkType: w.WorkType, Secure: w.Secure })),
    Cancel: ad.Cancel,
  });
}

/** A whole type-2 message for `ad`. */
export function encodeServiceAd(ad: ServiceAdvertisement): Uint8Array {
  return withType(MSG_SERVICE_AD, serviceAdJson(ad));
}

/** The JSON payload of an `unreach` message (keys in Go's order). */
export function encodeUnreachable(u: UnreachableMessage): Uint8Array {
  return utf8.encode(encodeGoJson({
    FromNode: u.FromNode,
    ToNode: u.ToNode,
    FromService: u.FromService,
    ToService: u.ToService,
    Problem: u.Problem,
  }));
}

/** Decode an `unreach` payload. */
export function decodeUnreachable(payload: Uint8Array): Decoded<UnreachableMessage> {
  const what = "unreachable message";
  const p = parseBody(payload, NO_RAW, what);
  if (!p.ok) return p;
  const obj = p.value === null ? {} : p.value;
  if (!isJsonObject(obj)) return fail("bad-field", `${what}: JSON is not an object`);
  const errors: string[] = [];
  const r = reader(obj, what, errors);
  const u: UnreachableMessage = {
    FromNode: r.str("FromNode"),
    ToNode: r.str("ToNode"),
    FromService: r.str("FromService"),
    ToService: r.str("ToService"),
    Problem: r.str("Problem"),
  };
  if (errors.length) return fail("bad-field", errors[0]);
  return { ok: true, value: u };
}
