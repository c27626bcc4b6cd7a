/**
 * The byte-stream shape shared by every transport above the mesh: a mesh stream, a Unix or TCP
 * connection, a TLS session. Control sessions, service proxies and remote work all take one.
 * @module
 */

/** A bidirectional byte stream (Deno.Conn adapter, TLS socket adapter, or a mesh stream). */
export interface DuplexConn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Half-close our sending side, if supported. */
  closeWrite?(): Promise<void>;
  close(): void;
}
