/**
 * An in-memory {@link Link} pair for tests and in-process meshes: what one end sends the other
 * receives on a later microtask; closing either end closes both.
 * @module
 */

import type { Link, LinkOptions } from "./link.ts";

class MemoryLink implements Link {
  peer?: MemoryLink;
  #closed = false;
  onMessage: (message: Uint8Array) => void = () => {};
  onClose: (reason: string) => void = () => {};
  constructor(readonly options: LinkOptions) {}

  send(message: Uint8Array): void {
    if (this.#closed || message.length === 0) return;
    const copy = message.slice();
    const peer = this.peer;
    queueMicrotask(() => {
      if (peer && !peer.#closed) peer.onMessage(copy);
    });
  }

  close(): void {
    this.#end("closed locally");
    const peer = this.peer;
    if (peer) queueMicrotask(() => peer.#end("peer closed"));
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose(reason);
  }
}

/**
 * Two connected in-memory links.
 *
 * @example
 * ```ts
 * const [a, b] = memoryLinkPair();
 * nodeA.attachLink(a);
 * nodeB.attachLink(b);
 * ```
 */
export function memoryLinkPair(
  optionsA: Partial<LinkOptions> = {},
  optionsB: Partial<LinkOptions> = {},
): [Link, Link] {
  const a = new MemoryLink({ cost: 1, description: "memory link A", ...optionsA });
  const b = new MemoryLink({ cost: 1, description: "memory link B", ...optionsB });
  a.peer = b;
  b.peer = a;
  return [a, b];
}
