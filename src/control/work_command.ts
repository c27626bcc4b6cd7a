/**
 * The `work` control command (control.md §2.5): text and JSON forms of submit, list,
 * status, results, cancel, release and force-release, with upstream's exact replies and
 * error strings. The work engine owns units and files; this file only parses and replies.
 * A submit to another node allocates a local unit of the remote work type (the submit protocol,
 * src/work/submit_protocol.ts), which must be registered on the engine.
 * @module
 */

import type { ControlCommand, ControlOutcome, ControlRequest, ControlSession } from "./types.ts";
import type { WorkEngine } from "../work/engine.ts";
import { WorkError } from "../work/engine.ts";
import {
  REMOTE_WORK_TYPE,
  remoteAllocParams,
  SUBMIT_RESERVED_KEYS,
  submitResultText,
  type WorkUnitStatus,
} from "../work/submit_protocol.ts";
import { errorText } from "../util/error_text.ts";

/** What a signature check gets (control.md §7.4). */
export interface SignatureCheck {
  /** Requested work type (submit) or the unit's WorkType (results/cancel/release). */
  workType: string;
  /** The `signature` field, or "" when absent. */
  signature: string;
  /** The session (its transport decides the Unix-socket exemption). */
  session: ControlSession;
}

/** Options of {@link makeWorkCommand}. */
export interface WorkCommandOptions {
  /** This node's ID (`node` equal to it means local work). */
  nodeId: string;
  /**
   * Verify a JWT for a work type that requires one, over a non-Unix transport. Throw an
   * Error with the upstream text (`could not verify signature: …`) to refuse. Without this
   * hook such requests are refused with `could not verify signature: verifying key not
   * specified`.
   */
  verifySignature?: (check: SignatureCheck) => Promise<void> | void;
}

type Params = Record<string, unknown>;

const err = (message: string): ControlOutcome => ({ kind: "error", message });
const reply = (value: unknown): ControlOutcome => ({ kind: "reply", value });

/** Go's strFromMap. */
function strField(p: Params, name: string): string {
  if (!(name in p)) throw new WorkError(`field ${name} missing`);
  const v = p[name];
  if (typeof v !== "string") throw new WorkError(`field ${name} must be a string`);
  return v;
}

function optStr(p: Params, name: string): string {
  const v = p[name];
  return typeof v === "string" ? v : "";
}

function goValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "%!s(<nil>)";
  return JSON.stringify(v);
}

/** Go's intFromMap, also accepting numeric strings (harmless extension). */
function intField(p: Params, name: string): number {
  if (!(name in p)) throw new WorkError(`field ${name} missing`);
  const v = p[name];
  if (typeof v === "number" && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === "string" && /^[+-]?\d+$/.test(v)) return parseDecimal(v);
  throw new WorkError(`field ${name} value ${goValue(v)} is not convertible to an int`);
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function parseDecimal(s: string): number {
  const b = BigInt(s);
  if (b > INT64_MAX || b < INT64_MIN) {
    throw new WorkError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  }
  return Number(b);
}

/** Go's strconv.ParseInt(s, 10, 64) with its error text. */
function parseStartPos(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) {
    throw new WorkError(
      `error converting start position to integer: strconv.ParseInt: parsing ${
        JSON.stringify(s)
      }: invalid syntax`,
    );
  }
  try {
    return parseDecimal(s);
  } catch (e) {
    throw new WorkError(`error converting start position to integer: ${errorText(e)}`);
  }
}

/** Parse the text form into (subcommand, params) like upstream's InitFromString. */
function fromText(line: string): { sub: string; p: Params } {
  const tokens = line.split(" ");
  const sub = tokens[0].toLowerCase();
  const p: Params = {};
  switch (sub) {
    case "submit":
      if (tokens.length < 3) {
        throw new WorkError("work submit requires a target node and work type");
      }
      p.node = tokens[1];
      p.worktype = tokens[2];
      if (tokens.length > 3) p.params = tokens.slice(3).join(" ");
      break;
    case "list":
      if (tokens.length > 1) p.unitid = tokens[1];
      break;
    case "status":
    case "cancel":
    case "release":
    case "force-release":
      if (tokens.length < 2) throw new WorkError(`work ${sub} requires a unit ID`);
      if (tokens.length > 2) {
        throw new WorkError(`work ${sub} does not take parameters after the unit ID`);
      }
      p.unitid = tokens[1];
      break;
    case "results":
      if (tokens.length < 2) throw new WorkError("work results requires a unit ID");
      if (tokens.length > 3) {
        throw new WorkError("work results only takes a unit ID and optional start position");
      }
      p.unitid = tokens[1];
      p.startpos = tokens.length > 2 ? parseStartPos(tokens[2]) : 0;
      break;
  }
  return { sub, p };
}

/** Parse the JSON form like upstream's InitFromJSON. */
function fromJson(json: Record<string, unknown>): { sub: string; p: Params } {
  const sub = strField(json, "subcommand").toLowerCase();
  const p: Params = {};
  switch (sub) {
    case "submit":
      for (const [k, v] of Object.entries(json)) {
        if (typeof v !== "string") {
          throw new WorkError(`submit parameters must all be strings and ${k} is not`);
        }
        p[k] = v;
      }
      strField(p, "node");
      strField(p, "worktype");
      break;
    case "status":
    case "cancel":
    case "release":
    case "force-release":
      p.unitid = strField(json, "unitid");
      if (typeof json.signature === "string") p.signature = json.signature;
      break;
    case "list":
      if (typeof json.unitid === "string") p.unitid = json.unitid;
      break;
    case "results":
      p.unitid = strField(json, "unitid");
      p.startpos = intField(json, "startpos");
      if (typeof json.signature === "string") p.signature = json.signature;
      break;
  }
  return { sub, p };
}

/** Go marshals the status map with sorted keys. */
function statusObject(s: WorkUnitStatus): Record<string, unknown> {
  const o: Record<string, unknown> = {
    Detail: s.Detail,
    ExtraData: s.ExtraData,
    State: s.State,
    StateName: s.StateName,
    StdoutSize: s.StdoutSize,
    WorkType: s.WorkType,
  };
  // Not upstream: labelled units (receptor-owner) show their label and times in `work list`.
  if (s.Owner !== undefined) {
    o.Owner = s.Owner;
    o.Created = s.Created;
    o.Finished = s.Finished ?? null;
  }
  return o;
}

/** One `work` request: the engine, the command's options and the session it came on. */
interface WorkCall {
  engine: WorkEngine;
  opts: WorkCommandOptions;
  session: ControlSession;
}

/** `verify`: whether this request must carry a verified signature. */
async function processSignature(
  { opts, session }: WorkCall,
  workType: string,
  signature: string,
  verify: boolean,
): Promise<void> {
  if (!verify && signature !== "") throw new WorkError("work type did not expect a signature");
  if (!verify || session.transport === "unix") return;
  if (!opts.verifySignature) {
    throw new WorkError("could not verify signature: verifying key not specified");
  }
  try {
    await opts.verifySignature({ workType, signature, session });
  } catch (e) {
    throw new WorkError(errorText(e));
  }
}

/** `work submit`: allocate a local or remote unit, feed it the session's stdin, start it. */
async function submit(call: WorkCall, p: Params): Promise<ControlOutcome> {
  const { engine, opts, session } = call;
  const node = strField(p, "node");
  const workType = strField(p, "worktype");
  const ttl = optStr(p, "ttl");
  const signWork = optStr(p, "signwork") === "true";
  const signature = optStr(p, "signature");
  const workParams: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) {
    if (SUBMIT_RESERVED_KEYS.has(k)) continue;
    if (typeof v !== "string") throw new WorkError(`${k} must be a string`);
    workParams[k] = v;
  }
  const verify = engine.workType(workType)?.verifySignature ?? false;
  await processSignature(call, workType, signature, verify);
  const local = node.toLowerCase() === "localhost" || node === opts.nodeId;
  let id: string;
  if (local) {
    if (ttl !== "") throw new WorkError("ttl option is intended for remote work only");
    id = await engine.allocate(workType, workParams);
  } else {
    // control.md §6.1: a local unit of the remote type carries the submission to `node`.
    if (!engine.workType(REMOTE_WORK_TYPE)) throw new WorkError("remote work is not available");
    const tlsClient = optStr(p, "tlsclient");
    id = await engine.allocate(
      REMOTE_WORK_TYPE,
      remoteAllocParams({ node, workType, tlsClient, ttl, signWork }, workParams),
    );
  }
  try {
    await session.writeLine(`Work unit created with ID ${id}. Send stdin data and EOF.`);
  } catch (e) {
    await engine.writeStdin(id, errorStream(e)).catch(() => {});
    throw e;
  }
  await engine.writeStdin(id, session.readRest());
  // A start that continues in the background (remote work still being delivered) is
  // `Job Submitted`.
  const how = await engine.start(id);
  return reply({ result: submitResultText(how), unitid: id });
}

/** `work results`: stream a unit's output from `startpos` in raw mode. */
async function results(call: WorkCall, p: Params): Promise<ControlOutcome> {
  const { engine, session } = call;
  const unitId = strField(p, "unitid");
  const startpos = p.startpos as number;
  const signature = optStr(p, "signature");
  const { workType, required } = await engine.signatureRequired(unitId);
  await processSignature(call, workType, signature, required);
  const stream = engine.results(unitId, startpos);
  const reader = stream.getReader();
  try {
    await session.writeLine(`Streaming results for work unit ${unitId}`);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await session.write(value);
    }
  } catch {
    // client went away mid-stream: stop quietly
  } finally {
    await reader.cancel().catch(() => {});
  }
  return { kind: "raw", close: true };
}

/** `work cancel`, `work release` and `work force-release`. */
async function cancelOrRelease(call: WorkCall, sub: string, p: Params): Promise<ControlOutcome> {
  const { engine } = call;
  const unitId = strField(p, "unitid");
  const signature = optStr(p, "signature");
  const { workType, required } = await engine.signatureRequired(unitId);
  await processSignature(call, workType, signature, required);
  if (sub === "cancel") {
    const r = await engine.cancel(unitId);
    return reply(r === "pending" ? { "cancel pending": unitId } : { cancelled: unitId });
  }
  const r = await engine.release(unitId, sub === "force-release");
  return reply(r === "pending" ? { "release pending": unitId } : { released: unitId });
}

/** Build the `work` control command over `engine`. */
export function makeWorkCommand(engine: WorkEngine, opts: WorkCommandOptions): ControlCommand {
  return {
    name: "work",
    async run(session: ControlSession, request: ControlRequest): Promise<ControlOutcome> {
      try {
        const { sub, p } = request.form === "text"
          ? fromText(request.params)
          : fromJson(request.json);
        switch (sub) {
          case "submit":
            return await submit({ engine, opts, session }, p);
          case "list": {
            const all = await engine.list(typeof p.unitid === "string" ? p.unitid : undefined);
            const out: Record<string, unknown> = {};
            for (const id of Object.keys(all).sort()) out[id] = statusObject(all[id]);
            return reply(out);
          }
          case "status":
            return reply(statusObject(await engine.status(strField(p, "unitid"))));
          case "results":
            return await results({ engine, opts, session }, p);
          case "cancel":
          case "release":
          case "force-release":
            return await cancelOrRelease({ engine, opts, session }, sub, p);
          default:
            return err("bad command");
        }
      } catch (e) {
        if (e instanceof WorkError) return err(e.message);
        throw e;
      }
    },
  };
}

function errorStream(e: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.error(e);
    },
  });
}
