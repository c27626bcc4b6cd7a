/**
 * Bidirectional byte copying between two {@link ByteChannel}s with half-close propagation:
 * end of stream on one side becomes a half-close (FIN) on the other, and the pair is closed
 * once both directions are done. A read or write error in either direction is logged and
 * closes both sides at once.
 * @module
 */
import type { ByteChannel } from "./channel.ts";
import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";

/** A running bridge. */
export interface Bridge {
  /** Resolves when `a`→`b` reached end of stream cleanly (never rejects). */
  readonly aToB: Promise<boolean>;
  /** Resolves when `b`→`a` reached end of stream cleanly (never rejects). */
  readonly bToA: Promise<boolean>;
  /** Resolves once both sides are closed. */
  readonly done: Promise<void>;
  /** Close both sides now (not graceful). */
  abort(): void;
}

/**
 * How loudly to log a failed read/write: "debug" for our own closing racing a pending call,
 * "warning" for a peer that reset or went away, "error" for anything else.
 */
function severity(e: unknown): "debug" | "warning" | "error" {
  const m = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  if (/BadResource|Interrupted|use of closed|normal close/i.test(m)) return "debug";
  if (/ConnectionReset|BrokenPipe|reset|stopped by peer|connection closed|aborted/i.test(m)) {
    return "warning";
  }
  return "error";
}

/** Copy `a` ⇄ `b` until both directions end (or one fails). */
export function bridge(a: ByteChannel, b: ByteChannel, logger: Logger): Bridge {
  let aborted = false;
  let resolveAbort!: () => void;
  const abortedP = new Promise<void>((r) => (resolveAbort = r));
  const abort = () => {
    if (aborted) return;
    aborted = true;
    a.close(false);
    b.close(false);
    resolveAbort();
  };
  const half = async (src: ByteChannel, dst: ByteChannel): Promise<boolean> => {
    logger.debug(`Bridging ${src.name} to ${dst.name}`);
    let stage = "read";
    try {
      for (;;) {
        stage = "read";
        const chunk = await Promise.race([src.read(), abortedP.then(() => null)]);
        if (aborted) return false;
        if (chunk === null) break;
        stage = "write";
        await dst.write(chunk);
      }
      stage = "half-close";
      await dst.closeWrite();
      return true;
    } catch (e) {
      if (!aborted) {
        const msg = `Connection ${stage} error (${src.name} to ${dst.name}): ${errorText(e)}`;
        logger.log(severity(e), msg);
      }
      abort();
      return false;
    }
  };
  const aToB = half(a, b);
  const bToA = half(b, a);
  const done = Promise.all([aToB, bToA]).then(([x, y]) => {
    if (x && y && !aborted) {
      a.close(true);
      b.close(true);
    } else abort();
  });
  return { aToB, bToA, done, abort };
}

/** A set of live bridges that can all be aborted when the service stops. */
export class BridgeSet {
  #live = new Set<Bridge>();
  /** Track `b` until it is done. */
  add(b: Bridge): void {
    this.#live.add(b);
    b.done.finally(() => this.#live.delete(b));
  }
  /** Abort every live bridge. */
  abortAll(): void {
    for (const b of [...this.#live]) b.abort();
  }
  /** Number of live bridges. */
  get size(): number {
    return this.#live.size;
  }
}
