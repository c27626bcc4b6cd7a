/**
 * Adapts a Deno.Conn to a {@link DuplexConn} whose readable side can end (peer half-close)
 * while the writable side keeps working. Deno's own `conn.readable` closes the whole socket at
 * EOF, which would lose the reply to a `work submit` whose client half-closed after its payload.
 *
 * The adapter reads and writes the connection directly (`read`/`write`); its `readable` and
 * `writable` streams are built on first use only, because the runtime loads its web streams
 * implementation on the first stream created (measured ~5-10 ms of CPU, paid by a node's first
 * `status` reply otherwise). Both paths share one read position and one write queue.
 * @module
 */
import type { DuplexConn } from "./session.ts";
import { isEofLike } from "../util/line_reader.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** Bytes asked of the socket per read. */
const READ_CHUNK = 64 * 1024;

/** Wrap `conn` so reading to EOF does not close it; `close()` closes it once. */
export function duplexFromConn(conn: Deno.Conn): DuplexConn {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeQuietly(conn);
  };
  const read = async (): Promise<Uint8Array | null> => {
    const buf = new Uint8Array(READ_CHUNK);
    try {
      const n = await conn.read(buf);
      return n === null ? null : buf.subarray(0, n);
    } catch (e) {
      if (closed || isEofLike(e) || e instanceof Deno.errors.BadResource) return null;
      throw e;
    }
  };
  let tail: Promise<void> = Promise.resolve();
  const write = (chunk: Uint8Array): Promise<void> => {
    const next = tail.then(async () => {
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    });
    tail = next.catch(() => {}); // a failed write fails its caller; later writes still run
    return next;
  };
  const closeWrite = async () => {
    await tail;
    try {
      await (conn as Deno.TcpConn).closeWrite?.();
    } catch { /* closed */ }
  };
  let readable: ReadableStream<Uint8Array> | undefined;
  let writable: WritableStream<Uint8Array> | undefined;
  return {
    get readable() {
      readable ??= new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const chunk = await read();
            if (chunk === null) controller.close();
            else controller.enqueue(chunk);
          } catch (e) {
            controller.error(e);
          }
        },
      }, { highWaterMark: 0 });
      return readable;
    },
    get writable() {
      writable ??= new WritableStream<Uint8Array>({ write, close: closeWrite });
      return writable;
    },
    read,
    write,
    closeWrite,
    close,
  };
}
