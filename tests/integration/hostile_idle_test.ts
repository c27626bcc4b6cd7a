/**
 * 2,000 idle TCP connections against a real node's `tcp-listener` (issue 10): connections that
 * never speak cost a few KiB each, at most `maxunauthenticated` (here 256) are held — the rest
 * are closed at once, with a log line — and the held ones are closed when the handshake timeout
 * runs out. Memory comes back: after two rounds of 2,000 the node is within 40 MiB of its
 * baseline (what Deno's own allocator keeps of 4,000 sockets; it was 0.55 MiB per connection).
 *
 * This test raises its own open-file limit with `prlimit` when it is below 4,500 (it holds
 * 2,000 sockets and the node inherits the limit); it fails with one line if it cannot.
 */
import { assert } from "../helpers/assert.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { withNode } from "../helpers/node_process.ts";
import { settledRss } from "../helpers/hostile_peer.ts";
import { ensureOpenFiles, IdleConns } from "../helpers/idle_conns.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const N = 2000;
const CAP = 256;
/** Allowed RSS growth while 256 idle connections are held and 1,744 were refused (KiB). */
const HELD_BOUND_KIB = 16 * 1024;
/**
 * Allowed RSS above the baseline once two rounds have closed (KiB). Deno's runtime itself keeps
 * some of what 4,000 sockets cost (a bare accept-and-close loop grows ~40 MiB over 5 rounds of
 * 2,000, with a constant JS heap); before issue 10 the node kept 0.55 MiB per connection.
 */
const AFTER_BOUND_KIB = 40 * 1024;

/** Config of a node `id` with one listener of `kind` capping unauthenticated connections. */
function idleYaml(id: string, kind: string, port: number, cap: number, handshake: string) {
  return (dir: string, socket: string) =>
    `---
- node:
    id: ${id}
    datadir: ${dir}/data
- ${kind}:
    bindaddr: 127.0.0.1
    port: ${port}
    maxunauthenticated: ${cap}
    handshaketimeout: ${handshake}
- control-service:
    service: control
    filename: ${socket}
`;
}

Deno.test("hostile: 2,000 idle TCP connections — capped, bounded, memory back", opts, async () => {
  await ensureOpenFiles(2 * N + 500);
  const port = freePort();
  let conns: IdleConns | undefined;
  await withNode("idle", idleYaml("idle", "tcp-listener", port, CAP, "8s"), async (node) => {
    await IdleConns.waitListening(port);
    const base = await settledRss(node.pid);
    const round = async () => {
      conns = await IdleConns.open(port, N);
      assert(conns.failed === 0, `connections failed at connect: ${conns.summary()}`);
      // every connection beyond the cap is closed by the node at once
      await waitFor(`${N - CAP} refused connections`, () => conns!.ended >= N - CAP, 30000)
        .catch((e) => {
          throw new Error(`${e.message}: ${conns!.summary()}`);
        });
      const held = N - conns.failed - conns.ended;
      assert(held <= CAP, `node holds ${held} unauthenticated connections, cap ${CAP}`);
      const rss = await settledRss(node.pid);
      console.log(
        `idle: baseline ${base} KiB, with ${held} held + ${conns.ended} refused: ${rss} KiB ` +
          `(+${rss - base} KiB)`,
      );
      // the held ones are closed by the handshake timeout (8 s) or the router's give-up (11 s)
      await waitFor("handshake timeouts", () => conns!.ended + conns!.failed >= N, 30000, 200);
      conns.close();
      return rss;
    };
    const peak1 = await round();
    assert(peak1 - base <= HELD_BOUND_KIB, `held: +${peak1 - base} KiB > ${HELD_BOUND_KIB}`);
    await node.waitForLog(/connections are already waiting for their handshake/);

    const after1 = await settledRss(node.pid);
    const peak2 = await round();
    const after2 = await settledRss(node.pid);
    console.log(`idle: after round 1 ${after1} KiB, round 2 peak ${peak2}, after ${after2} KiB`);
    assert(peak2 - base <= HELD_BOUND_KIB + AFTER_BOUND_KIB / 2, `round 2: +${peak2 - base} KiB`);
    assert(after2 - base <= AFTER_BOUND_KIB, `memory not back: +${after2 - base} KiB after close`);
    assert(!node.exited, "node still running");
  }, { logTail: 4000, beforeStop: () => Promise.resolve(conns?.close()) });
});

Deno.test("hostile: idle connections to a ws-listener are capped too", opts, async () => {
  const n = 600, cap = 100;
  await ensureOpenFiles(2 * n + 500);
  const port = freePort();
  let conns: IdleConns | undefined;
  await withNode("wsidle", idleYaml("wsidle", "ws-listener", port, cap, "30s"), async (node) => {
    // 25 at a time: a burst past the listen backlog leaves connections the kernel completed for
    // the client but the node never accepted, which nobody closes (seen in 2 CI runs).
    // The control socket (what withNode waits for) exists before the backends are bound: a
    // connection made earlier is refused by the kernel and can never count as refused by the
    // node (seen: 95..505 of 600 failed at connect on a loaded host, and the wait below hung).
    await IdleConns.waitListening(port);
    conns = await IdleConns.open(port, n, 25);
    assert(conns.failed === 0, `connections failed at connect: ${conns.summary()}`);
    // 60 s: in the full suite this can run beside the flood test's CPU burners; the node refuses
    // each connection past the cap as it accepts it, so this is about the accept loop's pace.
    await waitFor(`${n - cap} refused connections`, () => conns!.ended >= n - cap, 60000)
      .catch((e) => {
        throw new Error(`${e.message}: ${conns!.summary()}`);
      });
    const held = n - conns.failed - conns.ended;
    assert(held <= cap, `node holds ${held} unauthenticated connections, cap ${cap}`);
    await node.waitForLog(/ws-listener :\d+: 100 connections are already waiting/);
  }, { logTail: 4000, beforeStop: () => Promise.resolve(conns?.close()) });
});
