/**
 * A {@link DatagramTransport} over a Deno UDP socket (`Deno.listenDatagram`). Remote addresses
 * are `host:port` strings (`[v6]:port` for IPv6).
 * @module
 */
import type { DatagramTransport } from "./driver.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** Splits `host:port` / `[v6]:port`. */
export function parseHostPort(remote: string): { hostname: string; port: number } {
  const m = remote.match(/^\[(.*)\]:(\d+)$/) ?? remote.match(/^(.*):(\d+)$/);
  if (!m) throw new Error(`bad remote address "${remote}" (want host:port)`);
  return { hostname: m[1], port: Number(m[2]) };
}

/** Formats a Deno net address as `host:port`. */
export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** UDP socket transport. */
export class UdpTransport implements DatagramTransport {
  readonly #conn: Deno.DatagramConn;
  #closed = false;
  /** Local address the socket is bound to. */
  readonly addr: { hostname: string; port: number };

  private constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
    const a = conn.addr as Deno.NetAddr;
    this.addr = { hostname: a.hostname, port: a.port };
  }

  /** Binds a UDP socket (default 127.0.0.1, ephemeral port). */
  static listen(opts: { hostname?: string; port?: number } = {}): UdpTransport {
    return new UdpTransport(
      Deno.listenDatagram({
        transport: "udp",
        hostname: opts.hostname ?? "127.0.0.1",
        port: opts.port ?? 0,
      }),
    );
  }

  /** Local address as `host:port`. */
  get local(): string {
    return formatHostPort(this.addr.hostname, this.addr.port);
  }

  send(remote: string, data: Uint8Array): void {
    if (this.#closed) return;
    const { hostname, port } = parseHostPort(remote);
    this.#conn.send(data, { transport: "udp", hostname, port }).catch(() => {});
  }

  async receive(): Promise<{ remote: string; data: Uint8Array } | null> {
    if (this.#closed) return null;
    try {
      // QUIC datagrams are at most 1452 bytes here; a fresh buffer per datagram (kept by QUIC).
      const [data, addr] = await this.#conn.receive(new Uint8Array(2048));
      const a = addr as Deno.NetAddr;
      return { remote: formatHostPort(a.hostname, a.port), data };
    } catch {
      // the socket was closed (or failed): receiving ends
      return null;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}
