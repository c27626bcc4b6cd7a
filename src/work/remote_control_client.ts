/**
 * A control-protocol client over any {@link DuplexConn} (a mesh stream to a remote node's
 * `control` service, or a Unix socket in tests): banner check, one line out, one line in,
 * then raw mode for `work submit` payloads and `work results` streams (control.md §6.2–§6.5).
 * Every read can be bounded by an AbortSignal; aborting closes the connection.
 * @module
 */
import type { DuplexConn } from "../streams/duplex.ts";
import { LineReader } from "../util/line_reader.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";

const encoder = new TextEncoder();

/** How long the remote banner may take (upstream: 5 s). */
export const BANNER_TIMEOUT_MS = 5000;

/** A failure to reach the remote control service (dial or banner): retried by callers. */
export class RemoteConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemoteConnectError";
  }
}

/** One connection to a remote control service, after its banner was read. */
export class RemoteControlClient {
  readonly #conn: DuplexConn;
  readonly #reader: LineReader;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;
  /** The banner line the remote sent. */
  readonly banner: string;

  private constructor(conn: DuplexConn, reader: LineReader, banner: string) {
    this.#conn = conn;
    this.#reader = reader;
    this.banner = banner;
    this.#writer = conn.writable.getWriter();
  }

  /**
   * Read the banner within `timeoutMs`; it must contain `nodeId` (upstream checks
   * `strings.Contains`). Throws {@link RemoteConnectError} and closes `conn` otherwise.
   */
  static async open(
    conn: DuplexConn,
    nodeId: string,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<RemoteControlClient> {
    const reader = new LineReader(conn.readable);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? BANNER_TIMEOUT_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let banner: string | null;
    try {
      banner = await abortable(reader.readLine(), signal, () => closeQuietly(conn));
    } catch (e) {
      closeQuietly(conn);
      if (timeout.aborted) throw new RemoteConnectError("timed out reading the banner");
      throw new RemoteConnectError(errorText(e));
    }
    if (banner === null) {
      closeQuietly(conn);
      throw new RemoteConnectError("connection closed before the banner");
    }
    if (!banner.includes(nodeId)) {
      closeQuietly(conn);
      throw new RemoteConnectError(
        `while expecting node ID ${nodeId}, got message: ${banner}`,
      );
    }
    return new RemoteControlClient(conn, reader, banner);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Send one line (`\n` appended). */
  async writeLine(line: string): Promise<void> {
    await this.#writer.write(encoder.encode(line + "\n"));
  }

  /** Send raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.#writer.write(bytes);
  }

  /** Read one line (without `\n`); null at EOF. Aborting `signal` closes the connection. */
  readLine(signal?: AbortSignal): Promise<string | null> {
    return abortable(this.#reader.readLine(), signal, () => this.close());
  }

  /** Everything after the last line read, until EOF (results streams). */
  rest(): ReadableStream<Uint8Array> {
    return this.#reader.rest();
  }

  /** Half-close our side (end of a submit payload); reading keeps working. */
  async closeWrite(): Promise<void> {
    try {
      this.#writer.releaseLock();
    } catch { /* released */ }
    if (this.#conn.closeWrite) await this.#conn.closeWrite();
    else await this.#conn.writable.close().catch(() => {});
  }

  /** Tear the connection down. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#writer.releaseLock();
    } catch { /* released */ }
    this.#reader.cancel();
    closeQuietly(this.#conn);
  }
}

/** Race `p` against `signal`; on abort call `onAbort` (e.g. close the socket) and reject. */
export function abortable<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => void,
): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    onAbort();
    p.catch(() => {});
    return Promise.reject(new Error("aborted"));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(new Error("aborted"));
    };
    signal.addEventListener("abort", abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", abort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", abort);
        reject(e);
      },
    );
  });
}
