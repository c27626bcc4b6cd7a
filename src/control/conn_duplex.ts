/**
 * Adapts a Deno.Conn to a {@link DuplexConn} whose readable side can end (peer half-close)
 * while the writable side keeps working. Deno's own `conn.readable` closes the whole socket at
 * EOF, which would lose the reply to a `work submit` whose client half-closed after its payload.
 * @module
 */
import type { DuplexConn } from "./session.ts";
import { isEofLike } from "../util/line_reader.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** Wrap `conn` so reading to EOF does not close it; `close()` closes it once. */
export function duplexFromConn(conn: Deno.Conn): DuplexConn {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeQuietly(conn);
  };
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(64 * 1024);
      try {
        const n = await conn.read(buf);
        if (n === null) controller.close();
        else controller.enqueue(buf.subarray(0, n));
      } catch (e) {
        if (closed || isEofLike(e) || e instanceof Deno.errors.BadResource) controller.close();
        else controller.error(e);
      }
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    },
    async close() {
      await (conn as Deno.TcpConn).closeWrite?.().catch(() => {});
    },
  });
  return {
    readable,
    writable,
    closeWrite: async () => {
      try {
        await (conn as Deno.TcpConn).closeWrite?.();
      } catch { /* closed */ }
    },
    close,
  };
}
