/**
 * `receptor ctl ...`: the command-line client (status, ping, traceroute, connect, reload,
 * version), human output by default, `--json` for machines.
 * @module
 */
import { type ArgSpec, parseArgs, type ParsedArgs } from "./args.ts";
import { type ClientTlsOptions, ReceptorClient } from "./client.ts";
import { type CtlIo, reportFailure } from "./cli_io.ts";
import { formatStatus } from "./format_status.ts";
import { watchStatus } from "./watch.ts";
import { runWorkCli, splitAtWork } from "./work_cli.ts";
import { errorText } from "../util/error_text.ts";

const HELP = `Usage: receptor ctl [--socket ADDR] [--json] COMMAND [ARGS]

ADDR is a Unix socket path, tcp://host:port or tls://host:port
(default: $RECEPTORCTL_SOCKET).

Commands:
  status [--watch [--interval SECONDS] [--count N]]
                              show the node's status and the mesh it sees;
                              --watch redraws it every 2 s (or --interval) until Ctrl-C
  ping NODE [--count N] [--delay SECONDS]
  traceroute NODE
  connect NODE SERVICE [--tls-client NAME]   bridge stdin/stdout to a mesh service
  reload                      reload backends from the node's config file
  version                     show the node's version
  work COMMAND ...            submit/list/status/results/cancel/release units of work
                              (receptor ctl work --help)

TLS options: --rootcas FILE --cert FILE --key FILE --insecureskipverify
`;

export type { CtlIo };

/** The global options and flags of receptorctl. */
const CTL_ARGS: ArgSpec = {
  values: [
    "socket",
    "rootcas",
    "cert",
    "key",
    "count",
    "delay",
    "tls-client",
    "interval",
  ],
  flags: ["json", "help", "insecureskipverify", "watch"],
  aliases: { s: "socket", h: "help" },
};

const defaultIo: CtlIo = {
  out: (t) => writeAll(Deno.stdout, t),
  err: (t) => writeAll(Deno.stderr, t),
};

/** writeSync may write part of a large buffer (a pipe); loop until all of it is out. */
function writeAll(f: { writeSync(p: Uint8Array): number }, text: string): void {
  const b = new TextEncoder().encode(text);
  let off = 0;
  while (off < b.length) off += f.writeSync(b.subarray(off));
}

/** Run `receptor ctl` with `args` (after `ctl`); returns the exit code. */
export async function runCtlCli(args: string[], io: CtlIo = defaultIo): Promise<number> {
  const inv = await parseInvocation(args, io);
  if (typeof inv === "number") return inv;
  let client: ReceptorClient;
  try {
    client = await ReceptorClient.connect(inv.socket, inv.tls);
  } catch (e) {
    io.err(`Error: ${errorText(e)}\n`);
    return 1;
  }
  try {
    return await runCommand(client, inv, io);
  } catch (e) {
    return reportFailure(io, e);
  } finally {
    client.close();
  }
}

/** A parsed command line, ready to connect and run. */
interface CtlInvocation {
  /** Where the node's control socket is. */
  socket: string;
  tls: ClientTlsOptions;
  opts: ParsedArgs["opts"];
  json: boolean;
  /** The command and its arguments. */
  cmd: string;
  rest: string[];
  /** The arguments after `work`, when the command is `work`. */
  work?: string[];
}

/**
 * Parses the global options and reads the TLS files. Returns the exit code instead when
 * there is nothing to connect for: help was printed, or an error was reported on `io`.
 */
async function parseInvocation(args: string[], io: CtlIo): Promise<CtlInvocation | number> {
  let parsed;
  const workSplit = splitAtWork(args);
  if (workSplit) args = [...workSplit.global, "work"];
  try {
    parsed = parseArgs(args, CTL_ARGS);
  } catch (e) {
    io.err(`Error: ${errorText(e)}\n`);
    return 1;
  }
  const { opts, positionals } = parsed;
  if (workSplit && workSplit.work.some((a) => a === "--help" || a === "-h")) {
    return await runWorkCli(workSplit.work, null, {
      connect: () => Promise.reject(new Error("not connected")),
      io,
    });
  }
  if (opts.help || positionals.length === 0) {
    io.out(HELP);
    return opts.help ? 0 : 1;
  }
  const socket = (opts.socket as string) ?? Deno.env.get("RECEPTORCTL_SOCKET");
  if (!socket) {
    io.err("Error: --socket is required (or set RECEPTORCTL_SOCKET)\n");
    return 1;
  }
  let tls: ClientTlsOptions;
  try {
    tls = await clientTls(opts);
  } catch (e) {
    io.err(`Error: ${errorText(e)}\n`);
    return 1;
  }
  const [cmd, ...rest] = positionals;
  return { socket, tls, opts, json: !!opts.json, cmd, rest, work: workSplit?.work };
}

/** Runs one command over `client`; returns the exit code (failures throw). */
async function runCommand(client: ReceptorClient, inv: CtlInvocation, io: CtlIo): Promise<number> {
  const { socket, tls, opts, json, rest } = inv;
  switch (inv.cmd) {
    case "status":
      return await status(client, () => ReceptorClient.connect(socket, tls), opts, io, json);
    case "version": {
      const s = await client.status(["Version"]);
      io.out(json ? JSON.stringify(s) + "\n" : `receptor ${s.Version}\n`);
      return 0;
    }
    case "ping":
      return await ping(client, rest, opts, io, json);
    case "traceroute":
      return await traceroute(client, rest, io, json);
    case "reload":
      return await reload(client, io, json);
    case "connect":
      return await connect(client, rest, opts);
    case "work":
      return await runWorkCli(inv.work ?? rest, client, {
        connect: () => ReceptorClient.connect(socket, tls),
        io,
        json,
      });
    default:
      io.err(`Error: unknown command ${inv.cmd}\n${HELP}`);
      return 1;
  }
}

/** `connect NODE SERVICE`: bridges stdin/stdout to the service until the mesh side ends. */
async function connect(
  client: ReceptorClient,
  rest: string[],
  opts: ParsedArgs["opts"],
): Promise<number> {
  if (rest.length !== 2) throw new Error("connect needs NODE and SERVICE");
  const bridge = await client.connectService(
    rest[0],
    rest[1],
    (opts["tls-client"] as string) ?? "",
  );
  const up = Deno.stdin.readable.pipeTo(bridge.writable).catch(() => {});
  await bridge.readable.pipeTo(Deno.stdout.writable, { preventClose: true }).catch(() => {});
  void up;
  return 0;
}

/** `ping NODE`: `--count` pings `--delay` seconds apart; exit 2 when any failed. */
async function ping(
  client: ReceptorClient,
  rest: string[],
  opts: ParsedArgs["opts"],
  io: CtlIo,
  json: boolean,
): Promise<number> {
  if (rest.length !== 1) throw new Error("ping needs exactly one NODE");
  const count = Number(opts.count ?? 4);
  const delay = Number(opts.delay ?? 1) * 1000;
  let failed = false;
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, delay));
    const r = await client.ping(rest[0]);
    if (json) io.out(JSON.stringify(r) + "\n");
    else if (r.Success) io.out(`Reply from ${r.From} in ${r.TimeStr}\n`);
    else io.out(`${r.Error}\n`);
    if (!r.Success) failed = true;
  }
  return failed ? 2 : 0;
}

/** `traceroute NODE`: one line per hop; exit 2 when a hop failed other than by expiry. */
async function traceroute(
  client: ReceptorClient,
  rest: string[],
  io: CtlIo,
  json: boolean,
): Promise<number> {
  if (rest.length !== 1) throw new Error("traceroute needs exactly one NODE");
  const r = await client.traceroute(rest[0]);
  if (json) io.out(JSON.stringify(r, null, 4) + "\n");
  else {
    for (const k of Object.keys(r).sort((a, b) => Number(a) - Number(b))) {
      const h = r[k];
      io.out(`${k}: ${h.From} in ${h.TimeStr}${h.Error ? ` (${h.Error})` : ""}\n`);
    }
  }
  return Object.values(r).some((h) => h.Error && h.Error !== "message expired") ? 2 : 0;
}

/** `reload`: exit 0 on success, else the reply's ERRORCODE (5 without one). */
async function reload(client: ReceptorClient, io: CtlIo, json: boolean): Promise<number> {
  const r = await client.reload();
  if (json) io.out(JSON.stringify(r) + "\n");
  if (r.Success) {
    if (!json) io.out("Reload successful\n");
    return 0;
  }
  if (!json) io.err(`Error: ${r.Error}\n`);
  const code = /ERRORCODE (\d+)/.exec(r.Error ?? "");
  return code ? Number(code[1]) : 5;
}

/** The TLS options `--rootcas`, `--cert`, `--key` and `--insecureskipverify` give. */
async function clientTls(opts: ParsedArgs["opts"]): Promise<ClientTlsOptions> {
  const tls: ClientTlsOptions = {};
  if (opts.rootcas) tls.caCerts = [await Deno.readTextFile(opts.rootcas as string)];
  if (opts.cert) tls.cert = await Deno.readTextFile(opts.cert as string);
  if (opts.key) tls.key = await Deno.readTextFile(opts.key as string);
  tls.insecureSkipVerify = !!opts.insecureskipverify;
  return tls;
}

/** `status`: once, or with `--watch` every `--interval` seconds (`--count` times). */
async function status(
  client: ReceptorClient,
  reconnect: () => Promise<ReceptorClient>,
  opts: ParsedArgs["opts"],
  io: CtlIo,
  json: boolean,
): Promise<number> {
  if (opts.watch) {
    return await watchStatus(client, reconnect, {
      io,
      json,
      intervalMs: Number(opts.interval ?? 2) * 1000,
      count: opts.count === undefined ? Infinity : Number(opts.count),
    });
  }
  const s = await client.status();
  io.out(json ? JSON.stringify(s, null, 4) + "\n" : formatStatus(s));
  return 0;
}
