/**
 * `receptor ctl ...`: the command-line client (status, ping, traceroute, connect, reload,
 * version), human output by default, `--json` for machines.
 * @module
 */
import { parseArgs } from "./args.ts";
import { type ClientTlsOptions, ControlReplyError, ReceptorClient } from "./client.ts";
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

/** Where the CLI writes; injectable for tests. */
export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
}

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
  let parsed;
  const workSplit = splitAtWork(args);
  if (workSplit) args = [...workSplit.global, "work"];
  try {
    parsed = parseArgs(args, {
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
    });
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
  const tls: ClientTlsOptions = {};
  try {
    if (opts.rootcas) tls.caCerts = [await Deno.readTextFile(opts.rootcas as string)];
    if (opts.cert) tls.cert = await Deno.readTextFile(opts.cert as string);
    if (opts.key) tls.key = await Deno.readTextFile(opts.key as string);
  } catch (e) {
    io.err(`Error: ${errorText(e)}\n`);
    return 1;
  }
  tls.insecureSkipVerify = !!opts.insecureskipverify;
  const json = !!opts.json;
  const [cmd, ...rest] = positionals;
  let client: ReceptorClient;
  try {
    client = await ReceptorClient.connect(socket, tls);
  } catch (e) {
    io.err(`Error: ${errorText(e)}\n`);
    return 1;
  }
  try {
    switch (cmd) {
      case "status": {
        if (opts.watch) {
          return await watchStatus(client, () => ReceptorClient.connect(socket, tls), {
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
      case "version": {
        const s = await client.status(["Version"]);
        io.out(json ? JSON.stringify(s) + "\n" : `receptor ${s.Version}\n`);
        return 0;
      }
      case "ping": {
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
      case "traceroute": {
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
      case "reload": {
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
      case "connect": {
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
      case "work":
        return await runWorkCli(workSplit?.work ?? rest, client, {
          connect: () => ReceptorClient.connect(socket, tls),
          io,
          json,
        });
      default:
        io.err(`Error: unknown command ${cmd}\n${HELP}`);
        return 1;
    }
  } catch (e) {
    const msg = e instanceof ControlReplyError ? e.message : errorText(e);
    io.err(`ERROR: ${msg}\n`);
    return 1;
  } finally {
    client.close();
  }
}
