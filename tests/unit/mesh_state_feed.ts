/**
 * One router fed the routing updates of a big mesh (a ring of `n` nodes, each also linked to
 * its 2nd neighbour: degree 4), as its neighbour would flood them. For the 10,000-node memory
 * test and the per-update benchmark. Not a test file itself.
 * @module
 */

import { FakeClock } from "../../src/clock.ts";
import { Logger } from "../../src/log.ts";
import { encodeRoutingUpdate } from "../../src/mesh/messages.ts";
import { Router } from "../../src/mesh/router.ts";
import type { MeshLimits } from "../../src/mesh/limits.ts";

/** Name of ring node `i`. */
export const ringName = (i: number, n: number) => `ring-node-${((i % n) + n) % n}`;

/**
 * The update of ring node `i` (sequence `seq`), as forwarded by `via`; `variant` adds an edge
 * to `i + 3` (changed connections, for benchmarks).
 */
export function ringUpdate(
  i: number,
  n: number,
  seq: bigint,
  via: string,
  id: string,
  variant = false,
) {
  const conns: Record<string, number> = {};
  for (const d of variant ? [-2, -1, 1, 2, 3] : [-2, -1, 1, 2]) conns[ringName(i + d, n)] = 1;
  if (i === 0) conns[via] = 1;
  return encodeRoutingUpdate({
    NodeID: ringName(i, n),
    UpdateID: id,
    UpdateEpoch: 7n << 24n,
    UpdateSequence: seq,
    Connections: conns,
    ForwardingNode: via,
    SuspectedDuplicate: 0n,
  });
}

/** A router "v" with established peers "feeder" (link 1) and "w" (link 2). */
export function fedRouter(ringSize: number, limits: Partial<MeshLimits> = {}) {
  const clock = new FakeClock(0);
  const r = new Router({
    nodeId: "v",
    now: clock.now(),
    wallMs: () => clock.wallNow().getTime(),
    logger: new Logger({ level: "error" }),
    limits,
  });
  let uid = 0;
  const id = () => `u${(uid++).toString(36)}`;
  const drain = () => {
    while (r.pollOutput(clock.now()));
  };
  const conns = (peer: string) =>
    peer === "feeder" ? { v: 1, [ringName(0, ringSize)]: 1 } : { v: 1 };
  for (const [link, peer] of [[1, "feeder"], [2, "w"]] as const) {
    r.addLink(clock.now(), link, { cost: 1, description: peer });
    const hello = { NodeID: peer, UpdateID: id(), UpdateEpoch: 1n, UpdateSequence: 1n };
    const base = { ...hello, ForwardingNode: peer, SuspectedDuplicate: 0n };
    r.handleMessage(clock.now(), link, encodeRoutingUpdate({ ...base, Connections: {} }));
    r.handleMessage(
      clock.now(),
      link,
      encodeRoutingUpdate({
        ...base,
        UpdateID: id(),
        UpdateSequence: 2n,
        Connections: conns(peer),
      }),
    );
  }
  drain();
  return {
    router: r,
    clock,
    drain,
    /** Feed the update of ring node `i` with sequence `seq` (a fresh UpdateID). */
    feed(i: number, seq: bigint, variant = false): void {
      r.handleMessage(clock.now(), 1, ringUpdate(i, ringSize, seq, "feeder", id(), variant));
    },
  };
}

/**
 * Feed a router the `n`-node ring and measure its memory (heap and buffers) per known node (run with
 * `--v8-flags=--expose-gc` so garbage is collected before measuring).
 */
export function measureFedRouter(n: number) {
  // deno-lint-ignore no-explicit-any
  const gc: (() => void) | undefined = (globalThis as any).gc;
  gc?.();
  // heap plus buffers outside it (stored updates, typed-array tables)
  const used = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const h0 = used();
  const f = fedRouter(n);
  for (let i = 0; i < n; i++) {
    f.feed(i, 1n);
    if (i % 256 === 0) f.drain();
  }
  f.clock.advance(200);
  f.router.handleTimeout(f.clock.now());
  f.drain();
  const routes = f.router.routeCount();
  gc?.();
  const bytesPerNode = (used() - h0) / n;
  return { routes, stats: f.router.stats(), bytesPerNode, gc: gc !== undefined, keep: f };
}

if (import.meta.main) {
  const { keep: _, ...r } = measureFedRouter(Number(Deno.args[0] ?? 10_000));
  console.log(JSON.stringify(r));
}
