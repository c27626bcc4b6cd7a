/**
 * Control-service counters for the metrics endpoint: sessions by transport, commands by name
 * and outcome, and work results bytes served. The node owns one {@link ControlStats}; the
 * command table is wrapped once ({@link instrumentCommands}), so commands stay unaware of it.
 * @module
 */
import type {
  ControlCommand,
  ControlOutcome,
  ControlRequest,
  ControlSession,
  ControlTransportKind,
} from "./types.ts";

const WORK_SUBCOMMANDS = new Set([
  "list",
  "status",
  "submit",
  "results",
  "cancel",
  "release",
  "force-release",
]);

/** Counters of one node's control services (read at scrape time). */
export class ControlStats {
  /** Sessions accepted, by transport. */
  readonly sessions = new Map<ControlTransportKind, number>();
  /** Commands run, keyed `command\u0000outcome` (outcome `ok` or `error`). */
  readonly commands = new Map<string, number>();
  /** Bytes of work results written to clients. */
  resultsBytes = 0;

  /** Count one accepted session. */
  session(transport: ControlTransportKind): void {
    this.sessions.set(transport, (this.sessions.get(transport) ?? 0) + 1);
  }

  /** Count one command with its outcome. */
  command(name: string, outcome: "ok" | "error"): void {
    const k = `${name}\u0000${outcome}`;
    this.commands.set(k, (this.commands.get(k) ?? 0) + 1);
  }
}

/** The bounded metrics name of a request: `work` gets its subcommand (`work_submit`). */
export function commandLabel(req: ControlRequest): string {
  if (req.command !== "work") return req.command;
  const sub = req.form === "json"
    ? String(req.json.subcommand ?? "")
    : req.params.trim().split(/\s+/, 1)[0];
  const s = sub.toLowerCase();
  return WORK_SUBCOMMANDS.has(s) ? `work_${s.replace("-", "_")}` : "work_other";
}

function counting(session: ControlSession, stats: ControlStats): ControlSession {
  return {
    transport: session.transport,
    remoteNode: session.remoteNode,
    writeLine: (line) => session.writeLine(line),
    write: (bytes) => {
      stats.resultsBytes += bytes.length;
      return session.write(bytes);
    },
    readRest: () => session.readRest(),
    rawWritable: () => session.rawWritable(),
    close: () => session.close(),
  };
}

/** Wrap every command so that runs are counted in `stats`. */
export function instrumentCommands(
  commands: ReadonlyMap<string, ControlCommand>,
  stats: ControlStats,
): Map<string, ControlCommand> {
  const out = new Map<string, ControlCommand>();
  for (const [name, cmd] of commands) {
    out.set(name, {
      name: cmd.name,
      async run(session, req): Promise<ControlOutcome> {
        const label = commandLabel(req);
        const s = label === "work_results" ? counting(session, stats) : session;
        try {
          const o = await cmd.run(s, req);
          stats.command(label, o.kind === "error" ? "error" : "ok");
          return o;
        } catch (e) {
          stats.command(label, "error");
          throw e;
        }
      },
    });
  }
  return out;
}
