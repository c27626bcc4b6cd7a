/**
 * The byte-stream shape shared by every transport above the mesh: a mesh stream, a Unix or TCP
 * connection, a TLS session. Control sessions, service proxies and remote work all take one.
 * @module
 */

/** A bidirectional byte stream (Deno.Conn adapter, TLS socket adapter, or a mesh stream). */
export interface DuplexConn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Direct reads (one chunk, `null` at EOF), when the transport has them: a Unix or TCP
   * connection. A reader that uses them never touches `readable`, so a control session can
   * answer without the runtime's web streams (loaded on their first use: ~5-10 ms of a node's
   * first `status` reply).
   */
  read?(): Promise<Uint8Array | null>;
  /** Direct writes, serialised with each other (companion of {@link DuplexConn.read}). */
  write?(bytes: Uint8Array): Promise<void>;
  /** Half-close our sending side, if supported. */
  closeWrite?(): Promise<void>;
  close(): void;
}
