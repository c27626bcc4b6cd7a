/**
 * `receptor ctl work ...` (control.md §3.2): submit, list, status, results, cancel and
 * release with receptorctl's options, output lines and exit codes (`Result:`/`Unit ID:`,
 * `ERROR: Remote unit failed: <Detail>` exit 1, `(id, cancelled)` lines, exit 101 when a
 * submit fails), plus `--json` for machine-readable output.
 *
 * `--signwork` only matters for remote work (`--node` another node): the submitting node then
 * signs its requests to the executor with its `work-signing` key. The CLI never signs.
 * @module
 */
import { type ArgSpec, parseArgs } from "./args.ts";
import type { ReceptorClient } from "./client.ts";
import { type CtlIo, reportFailure } from "./cli_io.ts";
import { metered, ProgressMeter, type ProgressSink } from "./progress.ts";
import {
  connectRemoteControl,
  submitWork,
  workList,
  type WorkPayload,
  workRelease,
  workResults,
  workStatus,
} from "./work_client.ts";
import { errorText } from "../util/error_text.ts";
import { DurationError, parseGoDuration } from "../gocompat/duration.ts";
import { OWNER_PARAM, selectOwned } from "../work/owner.ts";

/** Help text of `receptor ctl work`. */
export const WORK_HELP = `Usage: receptor ctl [--socket ADDR] work COMMAND [ARGS]

Commands:
  submit TYPE [CMDPARAMS...]  submit a unit of work; exactly one of
      -p/--payload FILE|-   -l/--payload-literal TEXT   -n/--no-payload
      --node N  -a/--param k=v (repeatable)  --tls-client T  --ttl D
      --signwork (remote work: the node signs it)  -f/--follow  --rm
      --owner X (label the unit: sent as parameter receptor-owner=X)
  list [-q] [--node N] [--unit_id ID] [--tls-client T]
  status ID
  results ID
  cancel ID...
  release [--force] [--all] ID...
  release --owner X [--older-than D] [--force]
      units labelled X that finished at least D ago (a Go duration: 2h30m); --force
      force-releases and also takes units still running (D then counts from creation)

Add --json for machine-readable output.
`;

/** Output sinks of the work CLI (injectable for tests). */
export interface WorkCliIo extends CtlIo {
  /** Raw result bytes (default: stdout). */
  write?(bytes: Uint8Array): Promise<void>;
  /** Whether stderr is a terminal (progress output); default Deno.stderr.isTerminal(). */
  stderrIsTerminal?: () => boolean;
  /**
   * Whether results go to a terminal (default Deno.stdout.isTerminal() unless `write` is
   * given): then the output shows its own progress and no meter is drawn over it.
   */
  stdoutIsTerminal?: () => boolean;
  /** The payload for `-p -` (default Deno.stdin.readable). */
  stdin?: () => ReadableStream<Uint8Array>;
}

/** What the work CLI needs from `receptor ctl`. */
export interface WorkCliContext {
  /** Open a fresh connection to the control socket. */
  connect(): Promise<ReceptorClient>;
  io: WorkCliIo;
  /** `--json` given before `work`. */
  json?: boolean;
}

/** Options of `receptor ctl` that take a value (needed to find the `work` command). */
const GLOBAL_VALUES = new Set([
  "--socket",
  "-s",
  "--rootcas",
  "--cert",
  "--key",
  "--count",
  "--delay",
  "--tls-client",
]);

/**
 * Split `receptor ctl` arguments at a `work` command: global options before it, work
 * arguments after it. Null when the command is not `work`.
 */
export function splitAtWork(args: string[]): { global: string[]; work: string[] } | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return null;
    if (a.startsWith("-") && a !== "-") {
      if (!a.includes("=") && GLOBAL_VALUES.has(a)) i++;
      continue;
    }
    return a === "work" ? { global: args.slice(0, i), work: args.slice(i + 1) } : null;
  }
  return null;
}

class UsageError extends Error {}

function firstPair(r: Record<string, string>): string {
  const [k, v] = Object.entries(r)[0] ?? ["", ""];
  return `(${v}, ${k})`;
}

/** Progress goes to stderr when it is a terminal; for results, only when stdout is not one. */
function progressSink(io: WorkCliIo, forResults: boolean): ProgressSink {
  const errTty = () => io.stderrIsTerminal ? io.stderrIsTerminal() : Deno.stderr.isTerminal();
  const outTty = () =>
    io.stdoutIsTerminal ? io.stdoutIsTerminal() : !io.write && Deno.stdout.isTerminal();
  return {
    err: (t) => io.err(t),
    isTerminal: () => errTty() && !(forResults && outTty()),
  };
}

async function writeBytes(io: WorkCliIo, b: Uint8Array): Promise<void> {
  if (io.write) return await io.write(b);
  let off = 0;
  while (off < b.length) off += await Deno.stdout.write(b.subarray(off));
}

/** Options and flags of `receptorctl work`. */
const WORK_ARGS: ArgSpec = {
  values: [
    "node",
    "payload",
    "payload-literal",
    "tls-client",
    "ttl",
    "unit_id",
    "owner",
    "older-than",
  ],
  flags: [
    "no-payload",
    "signwork",
    "follow",
    "rm",
    "quiet",
    "force",
    "all",
    "json",
    "help",
  ],
  repeat: ["param"],
  aliases: {
    p: "payload",
    l: "payload-literal",
    n: "no-payload",
    a: "param",
    f: "follow",
    q: "quiet",
    h: "help",
    "unit-id": "unit_id",
  },
};

/**
 * Run `receptor ctl work <args>`, starting on `first` (an open connection, or null to
 * connect on demand); returns the exit code.
 */
export async function runWorkCli(
  args: string[],
  first: ReceptorClient | null,
  ctx: WorkCliContext,
): Promise<number> {
  const io = ctx.io;
  let parsed;
  try {
    parsed = parseArgs(args, WORK_ARGS);
  } catch (e) {
    io.err(`ERROR: ${errorText(e)}\n`);
    return 1;
  }
  const { opts, positionals } = parsed;
  const json = !!ctx.json || !!opts.json;
  const [sub, ...rest] = positionals;
  if (opts.help || !sub) {
    io.out(WORK_HELP);
    return opts.help ? 0 : 1;
  }
  // Each results/submit takes its connection over; later commands reconnect.
  let current: ReceptorClient | null = first;
  const conn = async (): Promise<ReceptorClient> => {
    if (current) return current;
    current = await ctx.connect();
    return current;
  };
  const consume = async (): Promise<ReceptorClient> => {
    const c = await conn();
    current = null;
    return c;
  };

  const results = (unitId: string) => streamResults(unitId, conn, consume, io);
  const ops = (op: string, ids: string[]) => runOps(op, ids, conn, io, json);

  try {
    switch (sub) {
      case "submit":
        return await submitCmd(rest, opts, json, io, consume, results, ops);
      case "list":
        return await listCmd(await conn(), opts, io);
      case "status": {
        if (rest.length !== 1) throw new UsageError("work status needs exactly one unit ID");
        const st = await workStatus(await conn(), rest[0]);
        io.out(JSON.stringify(sortKeys(st), null, 4) + "\n");
        return 0;
      }
      case "results":
        if (rest.length !== 1) throw new UsageError("work results needs exactly one unit ID");
        return await results(rest[0]);
      case "cancel":
        if (rest.length === 0) {
          io.err("Warning: No unit IDs supplied: Not doing anything\n");
          return 0;
        }
        if (!json) io.out("Cancelled:\n");
        return await ops("cancel", rest);
      case "release":
        return await releaseCmd(rest, opts, json, io, conn, ops);
      default:
        io.err(`ERROR: unknown work command ${sub}\n${WORK_HELP}`);
        return 1;
    }
  } catch (e) {
    return reportFailure(io, e);
  } finally {
    if (current && current !== first) (current as ReceptorClient).close();
  }
}

/** `work list [--node N] [--unit-id ID] [--quiet]`: the units as JSON, or their IDs. */
async function listCmd(
  c: ReceptorClient,
  opts: Record<string, string | boolean | string[]>,
  io: WorkCliIo,
): Promise<number> {
  if (opts.node) {
    await connectRemoteControl(c, opts.node as string, (opts["tls-client"] as string) ?? "");
  }
  const units = await workList(c, (opts.unit_id as string) || undefined);
  if (opts.quiet) { for (const k of Object.keys(units)) io.out(`${k}\n`); }
  else io.out(JSON.stringify(sortKeys(units), null, 4) + "\n");
  return 0;
}

/** `work release IDs... | --all [--force]`, or by owner (see {@link releaseOwned}). */
async function releaseCmd(
  rest: string[],
  opts: Record<string, string | boolean | string[]>,
  json: boolean,
  io: WorkCliIo,
  conn: () => Promise<ReceptorClient>,
  ops: (op: string, ids: string[]) => Promise<number>,
): Promise<number> {
  if (opts.owner !== undefined || opts["older-than"] !== undefined) {
    return await releaseOwned(rest, opts, json, io, conn, ops);
  }
  if (rest.length === 0 && !opts.all) {
    io.err("Warning: No unit IDs supplied: Not doing anything\n");
    return 0;
  }
  const op = opts.force ? "force-release" : "release";
  if (!json) io.out("Released:\n");
  const ids = opts.all ? Object.keys(await workList(await conn())) : rest;
  return await ops(op, ids);
}

/** `work results`: streams a unit's output, then exits 1 when the unit failed. */
async function streamResults(
  unitId: string,
  conn: () => Promise<ReceptorClient>,
  consume: () => Promise<ReceptorClient>,
  io: WorkCliIo,
): Promise<number> {
  const c = await consume();
  const stream = await workResults(c, unitId);
  // receptorctl writes lines of at most 256 bytes; we forward chunks as they come.
  const meter = new ProgressMeter("Results", progressSink(io, true));
  for await (const chunk of stream) {
    await writeBytes(io, chunk);
    meter.add(chunk.length);
  }
  meter.done();
  const st = await workStatus(await conn(), unitId);
  if (st.State === 3) {
    io.err(`ERROR: Remote unit failed: ${st.Detail}\n\n`);
    return 1;
  }
  return 0;
}

/** `work cancel` / `release` / `force-release` of each of `ids`; stops at the first error. */
async function runOps(
  op: string,
  ids: string[],
  conn: () => Promise<ReceptorClient>,
  io: WorkCliIo,
  json: boolean,
): Promise<number> {
  for (const id of ids) {
    try {
      const c = await conn();
      const r = op === "cancel"
        ? await c.command<Record<string, string>>(`work cancel ${id}`)
        : await workRelease(c, id, op === "force-release");
      io.out(json ? JSON.stringify(r) + "\n" : `${firstPair(r)}\n`);
    } catch (e) {
      io.err(`ERROR: ${id}: ERROR: ${errorText(e)}\n`);
      return 1;
    }
  }
  return 0;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * `work submit TYPE [PARAMS...]`: submits with the chosen payload, then prints the result or
 * (`--follow`) streams it; `--rm` releases the unit afterwards.
 */
async function submitCmd(
  rest: string[],
  opts: Record<string, string | boolean | string[]>,
  json: boolean,
  io: WorkCliIo,
  consume: () => Promise<ReceptorClient>,
  results: (id: string) => Promise<number>,
  ops: (op: string, ids: string[]) => Promise<number>,
): Promise<number> {
  const [worktype, ...cmdparams] = rest;
  if (!worktype) throw new UsageError("work submit needs a work type");
  const opened = await openPayload(opts, io);
  if (typeof opened === "number") return opened;
  const { payload } = opened;
  let unitid: string | undefined;
  let code = 0;
  try {
    const params = submitParams(opts, cmdparams);
    const c = await consume();
    let r;
    try {
      r = await submitWork(c, worktype, payload, {
        node: (opts.node as string) || undefined,
        tlsclient: (opts["tls-client"] as string) || undefined,
        ttl: (opts.ttl as string) || undefined,
        signwork: !!opts.signwork,
        params,
      });
    } finally {
      c.close();
    }
    unitid = r.unitid;
    if (opts.follow) code = await results(unitid);
    else if (json) io.out(JSON.stringify(r) + "\n");
    else io.out(`Result: ${r.result}\nUnit ID: ${r.unitid}\n`);
  } catch (e) {
    io.err(`ERROR: ${errorText(e)}\n`);
    code = 101;
  } finally {
    if (opts.rm && unitid) {
      const rc = await ops("release", [unitid]);
      if (code === 0) code = rc;
    }
  }
  return code;
}

/**
 * Checks that exactly one of `--payload`, `--no-payload` and `--payload-literal` is given and
 * opens it (a file or `-` for stdin, metered). Returns the exit code after reporting an error.
 */
async function openPayload(
  opts: Record<string, string | boolean | string[]>,
  io: WorkCliIo,
): Promise<{ payload: WorkPayload } | number> {
  const count = [opts.payload, opts["no-payload"], opts["payload-literal"]].filter((x) => !!x)
    .length;
  if (count < 1) {
    io.err("ERROR: Must provide one of --payload, --no-payload or --payload-literal.\n");
    return 1;
  }
  if (count > 1) {
    io.err(
      "ERROR: Cannot provide more than one of --payload, --no-payload and --payload-literal.\n",
    );
    return 1;
  }
  if (opts.rm && !opts.follow) {
    io.err("Warning: using --rm without --follow. Unit results will never be seen.\n");
  }
  if (opts["payload-literal"]) return { payload: `${opts["payload-literal"]}\n` };
  if (opts["no-payload"]) return { payload: null };
  if (opts.payload === "-") {
    return {
      payload: metered(
        io.stdin ? io.stdin() : Deno.stdin.readable,
        new ProgressMeter("Payload", progressSink(io, false)),
      ),
    };
  }
  try {
    const f = await Deno.open(opts.payload as string, { read: true });
    return { payload: metered(f.readable, new ProgressMeter("Payload", progressSink(io, false))) };
  } catch (e) {
    io.err(`ERROR: Failed to load payload file: ${errorText(e)}\n`);
    return 1;
  }
}

/**
 * The submit parameters: each `--param key=value`, `--owner`, and the command-line words
 * after the work type appended to `params`. Throws on a parameter without `=`.
 */
function submitParams(
  opts: Record<string, string | boolean | string[]>,
  cmdparams: string[],
): Record<string, string> {
  const params: Record<string, string> = {};
  for (const kv of (opts.param as string[] | undefined) ?? []) {
    const eq = kv.indexOf("=");
    if (eq < 0) throw new Error(`parameter ${kv} is not in key=value format`);
    params[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (typeof opts.owner === "string") params[OWNER_PARAM] = opts.owner;
  if (cmdparams.length) {
    params.params = [...(params.params !== undefined ? [params.params] : []), ...cmdparams]
      .join(" ");
  }
  return params;
}

/** `work release --owner X [--older-than D] [--force]`: pick units from `work list`, release. */
async function releaseOwned(
  rest: string[],
  opts: Record<string, string | boolean | string[]>,
  json: boolean,
  io: WorkCliIo,
  conn: () => Promise<ReceptorClient>,
  ops: (op: string, ids: string[]) => Promise<number>,
): Promise<number> {
  if (typeof opts.owner !== "string" || opts.owner === "") {
    throw new UsageError("work release --older-than needs --owner");
  }
  if (rest.length > 0 || opts.all) {
    throw new UsageError("work release --owner takes no unit IDs and no --all");
  }
  let olderThanMs = 0;
  if (typeof opts["older-than"] === "string") {
    try {
      olderThanMs = parseGoDuration(opts["older-than"]);
    } catch (e) {
      const why = e instanceof DurationError ? e.message : errorText(e);
      throw new UsageError(`--older-than: ${why} (a Go duration such as 2h30m)`);
    }
  }
  const units = await workList(await conn());
  const ids = selectOwned(units, opts.owner, olderThanMs, Date.now(), !!opts.force);
  if (!json) io.out("Released:\n");
  if (ids.length === 0 && !json) io.err(`No units of owner ${opts.owner} match\n`);
  return await ops(opts.force ? "force-release" : "release", ids);
}
