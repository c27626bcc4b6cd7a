/**
 * The control-service client, importable from TypeScript: connect to a node's control socket
 * (Unix path, `tcp://host:port`, or `tls://host:port`), read the banner, send commands and
 * read their one-line replies, or switch to raw streams (results, connect).
 *
 * @example
 * ```ts
 * const c = await ReceptorClient.connect("/tmp/node1.sock");
 * const status = await c.status();
 * c.close();
 * ```
 * @module
 */
import { LineReader } from "../util/line_reader.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** TLS options for `tls://` addresses. */
export interface ClientTlsOptions {
  /** PEM CA bundle text to trust. */
  caCerts?: string[];
  /** PEM client certificate chain and key, for mutual TLS. */
  cert?: string;
  key?: string;
  /** Skip host-name checks (the chain is still verified). */
  insecureSkipVerify?: boolean;
}

/** A reply line that started with `ERROR:`. */
export class ControlReplyError extends Error {
  override name = "ControlReplyError";
}

const encoder = new TextEncoder();

/** Parse a socket address the way receptorctl does. */
export function parseControlAddress(
  address: string,
): { kind: "unix"; path: string } | { kind: "tcp" | "tls"; host: string; port: number } {
  const tcp = /^(tcp|tls):(?:\/\/)?([A-Za-z0-9\-.:\[\]]+):(\d+)$/.exec(address);
  if (tcp) {
    return {
      kind: tcp[1] as "tcp" | "tls",
      host: tcp[2].replace(/^\[|\]$/g, ""),
      port: Number(tcp[3]),
    };
  }
  const unix = /^unix:(?:\/\/)?(.+)$/.exec(address);
  if (unix) return { kind: "unix", path: unix[1] };
  if (!address.includes(":")) {
    const home = Deno.env.get("HOME") ?? "";
    return { kind: "unix", path: address.replace(/^~(?=\/|$)/, home) };
  }
  throw new Error(`invalid control socket address: ${address}`);
}

/** One connection to a control service. */
export class ReceptorClient {
  readonly nodeId: string;
  #conn: Deno.Conn;
  #reader: LineReader;
  #writer: WritableStreamDefaultWriter<Uint8Array>;

  private constructor(conn: Deno.Conn, reader: LineReader, nodeId: string) {
    this.#conn = conn;
    this.#reader = reader;
    this.nodeId = nodeId;
    this.#writer = conn.writable.getWriter();
  }

  /** Connect and read the `Receptor Control, node <id>` banner. */
  static async connect(address: string, tls: ClientTlsOptions = {}): Promise<ReceptorClient> {
    const a = parseControlAddress(address);
    let conn: Deno.Conn;
    if (a.kind === "unix") {
      try {
        await Deno.stat(a.path);
      } catch {
        throw new Error(`control socket ${a.path} does not exist`);
      }
      conn = await Deno.connect({ transport: "unix", path: a.path });
    } else if (a.kind === "tcp") {
      conn = await Deno.connect({ hostname: a.host, port: a.port });
    } else {
      conn = await Deno.connectTls({
        hostname: a.host,
        port: a.port,
        caCerts: tls.caCerts,
        cert: tls.cert,
        key: tls.key,
        unsafelyDisableHostnameVerification: tls.insecureSkipVerify,
      } as Deno.ConnectTlsOptions);
    }
    const reader = new LineReader(conn.readable);
    const banner = await reader.readLine();
    const m = banner && /^Receptor Control, node (.+)$/.exec(banner.trim());
    if (!m) {
      conn.close();
      throw new Error(`unexpected banner from control service: ${JSON.stringify(banner)}`);
    }
    return new ReceptorClient(conn, reader, m[1]);
  }

  /** Send one line. */
  async writeLine(line: string): Promise<void> {
    await this.#writer.write(encoder.encode(line + "\n"));
  }

  /** Read one reply line (null at EOF). */
  readLine(): Promise<string | null> {
    return this.#reader.readLine();
  }

  /** Send a command (text, or an object sent as JSON) and parse its one-line JSON reply. */
  async command<T = Record<string, unknown>>(cmd: string | Record<string, unknown>): Promise<T> {
    await this.writeLine(typeof cmd === "string" ? cmd : JSON.stringify(cmd));
    const line = await this.readLine();
    if (line === null) throw new Error("control connection closed before a reply");
    const t = line.trim();
    if (t.startsWith("ERROR:")) throw new ControlReplyError(t.slice(7));
    return JSON.parse(t) as T;
  }

  /** The node's status (all 8 keys, or only `fields`). */
  status(fields?: string[]): Promise<Record<string, unknown>> {
    return this.command(fields ? { command: "status", requested_fields: fields } : "status");
  }

  /** Ping a node once. */
  ping(
    node: string,
  ): Promise<{ Success: boolean; From?: string; TimeStr?: string; Error?: string }> {
    return this.command(`ping ${node}`);
  }

  /** Trace the route to a node. */
  traceroute(
    node: string,
  ): Promise<Record<string, { From: string; TimeStr: string; Error?: string }>> {
    return this.command(`traceroute ${node}`);
  }

  /** Ask the node to reload its configuration. */
  reload(): Promise<{ Success: boolean; Error?: string }> {
    return this.command("reload");
  }

  /**
   * `connect NODE SERVICE [TLS]`: after `Connecting`, the connection is a raw bridge.
   * Returns the readable/writable pair of the bridge.
   */
  async connectService(
    node: string,
    service: string,
    tlsClient = "",
  ): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }> {
    await this.writeLine(`connect ${node} ${service} ${tlsClient}`);
    const line = await this.readLine();
    if (line === null) throw new Error("control connection closed");
    if (line.startsWith("ERROR:")) throw new ControlReplyError(line.slice(7));
    if (!line.startsWith("Connecting")) throw new Error(`unexpected reply: ${line}`);
    return { readable: this.#reader.rest(), writable: this.rawWritable() };
  }

  /** The rest of the incoming stream after the last line read (results, bridges). */
  rest(): ReadableStream<Uint8Array> {
    return this.#reader.rest();
  }

  /** A writable for raw bytes; closing it half-closes the connection. */
  rawWritable(): WritableStream<Uint8Array> {
    const w = this.#writer;
    const conn = this.#conn;
    return new WritableStream<Uint8Array>({
      write: (chunk) => w.write(chunk),
      close: async () => {
        await (conn as Deno.TcpConn).closeWrite?.();
      },
    });
  }

  /** Half-close the sending side (end of a payload). */
  async closeWrite(): Promise<void> {
    await (this.#conn as Deno.TcpConn).closeWrite?.();
  }

  /** Close the connection. */
  close(): void {
    try {
      this.#writer.releaseLock();
    } catch { /* released */ }
    closeQuietly(this.#conn);
  }
}
