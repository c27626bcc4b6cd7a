/**
 * The logger: upstream receptor's text format (`INFO 2024/10/21 14:03:07 message`) on stdout,
 * or one JSON object per line. Passed in to whoever logs; no global instance.
 * @module
 */

/** Log levels, most severe first (upstream names). */
export type LogLevel = "error" | "warning" | "info" | "debug";

const ORDER: Record<LogLevel, number> = { error: 0, warning: 1, info: 2, debug: 3 };

/** Parse a level name case-insensitively; throws with upstream's message if unknown. */
export function parseLogLevel(name: string): LogLevel {
  const l = name.toLowerCase();
  if (l === "error" || l === "warning" || l === "info" || l === "debug") return l;
  throw new Error(`${name} is not a valid log level name`);
}

/** Output format of a {@link Logger}. */
export type LogFormat = "text" | "json";

/** Where log lines go; defaults to stdout. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();
const stdoutSink: LogSink = (line) => {
  try {
    Deno.stdout.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stdout closed: nothing sensible to do.
  }
};

function pad(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** Format a date as upstream does: `YYYY/MM/DD HH:MM:SS` in local time. */
export function formatLogTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A leveled logger writing upstream-format text or JSON lines. */
export class Logger {
  level: LogLevel;
  format: LogFormat;
  #sink: LogSink;
  #fields: Record<string, unknown>;
  #once = new Set<string>();

  constructor(
    opts: {
      level?: LogLevel;
      format?: LogFormat;
      sink?: LogSink;
      fields?: Record<string, unknown>;
    } = {},
  ) {
    this.level = opts.level ?? "info";
    this.format = opts.format ?? "text";
    this.#sink = opts.sink ?? stdoutSink;
    this.#fields = opts.fields ?? {};
  }

  /** True if messages at `level` would be written. */
  enabled(level: LogLevel): boolean {
    return ORDER[level] <= ORDER[this.level];
  }

  /** Write one message at `level`. */
  log(level: LogLevel, msg: string): void {
    if (!this.enabled(level)) return;
    const now = new Date();
    if (this.format === "json") {
      this.#sink(JSON.stringify({ time: now.toISOString(), level, msg, ...this.#fields }));
      return;
    }
    const text = msg.endsWith("\n") ? msg.slice(0, -1) : msg;
    this.#sink(`${level.toUpperCase()} ${formatLogTime(now)} ${text}`);
  }

  /** Log at error level. */
  error(msg: string): void {
    this.log("error", msg);
  }
  /** Log at warning level. */
  warning(msg: string): void {
    this.log("warning", msg);
  }
  /** Log at info level. */
  info(msg: string): void {
    this.log("info", msg);
  }
  /** Log at debug level. */
  debug(msg: string): void {
    this.log("debug", msg);
  }
  /** Log a message at most once per logger (keyed by the message text). */
  once(level: LogLevel, msg: string): void {
    if (this.#once.has(msg)) return;
    this.#once.add(msg);
    this.log(level, msg);
  }
}

/** A logger that discards everything; handy in unit tests. */
export function silentLogger(): Logger {
  return new Logger({ level: "error", sink: () => {} });
}
