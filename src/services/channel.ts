/**
 * Byte channels: one small duplex interface ({@link ByteChannel}) over the different things a
 * service proxy bridges — a plain `Deno.Conn` (TCP or Unix), a node:tls session on top of one,
 * and a mesh stream connection — so {@link bridge} can copy bytes and half-closes uniformly.
 * @module
 */
import type { MeshStreamConn } from "../streams/stream_service.ts";
import type { TlsHandshakeResult } from "../certs/tls_stream.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** A duplex byte stream as the bridge sees it. */
export interface ByteChannel {
  /** Name used in log messages (e.g. `TCP 127.0.0.1:5000`). */
  readonly name: string;
  /** The next chunk (a fresh buffer the caller may keep), or null at end of stream. */
  read(): Promise<Uint8Array | null>;
  /** Write all of `bytes` (resolves once accepted by the transport). */
  write(bytes: Uint8Array): Promise<void>;
  /** Half-close: no more writes; the peer reads end of stream once queued data is delivered. */
  closeWrite(): Promise<void>;
  /**
   * Close both directions. `graceful` is set after a clean exchange (both directions reached
   * end of stream), so a transport may let queued data drain first; otherwise close at once.
   */
  close(graceful: boolean): void;
}

const READ_SIZE = 64 * 1024;

/** A channel over a connected `Deno.Conn` (TCP or Unix; both support `closeWrite`). */
export function connChannel(conn: Deno.Conn, name: string): ByteChannel {
  let closed = false;
  return {
    name,
    async read() {
      const buf = new Uint8Array(READ_SIZE);
      const n = await conn.read(buf);
      return n === null ? null : buf.subarray(0, n);
    },
    async write(bytes) {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    },
    async closeWrite() {
      await (conn as Deno.TcpConn).closeWrite();
    },
    close() {
      if (closed) return;
      closed = true;
      closeQuietly(conn);
    },
  };
}

/**
 * A channel over a finished node:tls handshake. Half-close sends close_notify and FIN. Known
 * limit: Deno's node:tls cannot write after the peer's close_notify, so when the peer of a
 * TLS leg half-closes first, replies sent after that fail and the connection is closed.
 */
export function tlsChannel(tls: TlsHandshakeResult, name: string): ByteChannel {
  let closed = false;
  return {
    name,
    async read() {
      const buf = new Uint8Array(READ_SIZE);
      const n = await tls.stream.read(buf);
      return n === null ? null : buf.subarray(0, n);
    },
    async write(bytes) {
      await tls.stream.write(bytes);
    },
    closeWrite() {
      return new Promise<void>((resolve) => {
        if (tls.socket.writableEnded || tls.socket.destroyed) return resolve();
        tls.socket.end(() => resolve());
      });
    },
    close() {
      if (closed) return;
      closed = true;
      tls.stream.close();
    },
  };
}

/**
 * A channel over a mesh stream connection. A graceful close keeps the QUIC connection open
 * for `graceMs` so our last bytes and FIN can still be retransmitted and acknowledged (closing
 * a QUIC connection discards unsent stream data); the peer usually closes it first.
 */
export function meshChannel(conn: MeshStreamConn, name: string, graceMs: number): ByteChannel {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closeNow = () => {
    clearTimeout(timer);
    closeQuietly(conn);
  };
  return {
    name,
    async read() {
      for (;;) {
        const r = await reader.read();
        if (r.done) return null;
        if (r.value.length) return r.value;
      }
    },
    async write(bytes) {
      await writer.write(bytes);
    },
    async closeWrite() {
      await writer.close();
    },
    close(graceful) {
      if (closed) {
        if (!graceful) closeNow();
        return;
      }
      closed = true;
      reader.cancel().catch(() => {});
      if (graceful && graceMs > 0) {
        timer = setTimeout(closeNow, graceMs);
        // A pending grace timer must not keep the process alive on its own.
        Deno.unrefTimer(timer as unknown as number);
      } else {
        writer.abort().catch(() => {});
        closeNow();
      }
    },
  };
}
