/**
 * A hostile mesh peer for integration tests: a raw TCP client that speaks the netceptor wire
 * (2-byte framed messages, wire.md §2–§6), completes the handshake with a real node like an
 * honest peer would, and then misbehaves on request — floods routing updates with new or
 * oversized node IDs, forges duplicate notices and cheap edges, floods service ads, or writes
 * raw bytes. It also counts what the victim sends it (to see whether traffic is routed through
 * it) and learns every node's epoch from the updates it receives.
 *
 * @example
 * ```ts
 * const h = await HostilePeer.connect(port, "evil");
 * await h.floodUpdates({ durationMs: 5000 });
 * h.close();
 * ```
 * @module
 */
import { FrameDecoder, frameMessage } from "../../src/mesh/backends/framing.ts";
import {
  decodeMessage,
  encodeRoutingUpdate,
  encodeServiceAd,
  MSG_DATA,
  MSG_ROUTE,
  MSG_SERVICE_AD,
  type RoutingUpdate,
  type ServiceAdvertisement,
} from "../../src/mesh/messages.ts";
import { waitFor } from "./net.ts";

const ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A random lower-case alphanumeric string of `n` characters. */
export function randomId(n: number): string {
  const b = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const x of b) s += ALPHA[x % ALPHA.length];
  return s;
}

/** Resident set size of process `pid` in KiB (Linux /proc). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** The smallest of a few RSS samples of `pid` (KiB): one GC-free moment, not a transient peak. */
export async function settledRss(pid: number): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    min = Math.min(min, rssKiB(pid));
    await new Promise((r) => setTimeout(r, 200));
  }
  return min;
}

/** Counts of what flood helpers sent. */
export interface FloodStats {
  messages: number;
  bytes: number;
}

/** A connected, handshaken hostile peer. */
export class HostilePeer {
  /** Node ID of the node we connected to. */
  victimId = "";
  /** Epoch of every node whose routing update reached us. */
  readonly epochs = new Map<string, bigint>();
  /** Messages received by type (0 data, 1 route, 2 ad, 3 reject). */
  readonly received = [0, 0, 0, 0];
  /** Whether the victim closed the connection. */
  closedByPeer = false;
  readonly epoch: bigint;
  #conn: Deno.TcpConn;
  #seq = 1n;
  #established = false;
  #closed = false;
  #keepalive?: ReturnType<typeof setInterval>;
  /** Extra edges our own updates claim (node → cost), besides the victim. */
  #claims: Record<string, number> = {};

  private constructor(conn: Deno.TcpConn, readonly nodeId: string, readonly cost: number) {
    this.#conn = conn;
    this.epoch = BigInt(Math.floor(Date.now() / 1000)) * (1n << 24n) + 12345n;
    this.#readLoop();
  }

  /**
   * Connect to a node's tcp-listener at 127.0.0.1:`port` as `nodeId` and complete the mesh
   * handshake (the victim lists us in its own update). Keeps the link alive until closed.
   */
  static async connect(port: number, nodeId: string, cost = 1): Promise<HostilePeer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const h = new HostilePeer(conn, nodeId, cost);
    try {
      // speak first, as every mesh dialer does (a listener waits for the peer's first bytes)
      await h.sendUpdate({ Connections: {} });
      await waitFor(`initial update from the node on ${port}`, () => h.victimId !== "", 15000, 20);
      await h.announce();
      await waitFor(
        `${h.victimId} to accept ${nodeId}`,
        () => {
          if (h.closedByPeer) throw new Error(`${h.victimId} closed the connection`);
          return h.#established;
        },
        15000,
        20,
      );
      await h.announce(); // now processed as an update: the victim learns our connections
    } catch (e) {
      h.close();
      throw e;
    }
    h.#keepalive = setInterval(() => h.announce().catch(() => {}), 3000);
    return h;
  }

  /** Whether the handshake completed and the connection is still open. */
  get alive(): boolean {
    return this.#established && !this.closedByPeer && !this.#closed;
  }

  async #readLoop(): Promise<void> {
    const dec = new FrameDecoder();
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        for (const m of dec.push(buf.subarray(0, n))) this.#onMessage(m);
      }
    } catch { /* reset */ }
    this.closedByPeer = !this.#closed;
  }

  #onMessage(m: Uint8Array): void {
    if (m[0] <= 3) this.received[m[0]]++;
    if (m[0] !== MSG_ROUTE) return;
    const d = decodeMessage(m);
    if (!d.ok || d.value.type !== MSG_ROUTE) return;
    const u = d.value.update;
    if (this.victimId === "") this.victimId = u.ForwardingNode;
    if (u.SuspectedDuplicate === 0n) this.epochs.set(u.NodeID, u.UpdateEpoch);
    if (u.NodeID === this.victimId && u.Connections && Object.hasOwn(u.Connections, this.nodeId)) {
      this.#established = true;
    }
  }

  /** Write one whole netceptor message (framed here). */
  async sendMessage(message: Uint8Array): Promise<void> {
    await this.sendBytes(frameMessage(message));
  }

  /** Write raw bytes, no framing added. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Send a routing update; missing fields are ours (ForwardingNode is always us). */
  sendUpdate(u: Partial<RoutingUpdate>): Promise<void> {
    return this.sendMessage(encodeRoutingUpdate({
      NodeID: this.nodeId,
      UpdateID: randomId(8),
      UpdateEpoch: this.epoch,
      UpdateSequence: this.#seq++,
      Connections: {},
      SuspectedDuplicate: 0n,
      ...u,
      ForwardingNode: this.nodeId,
    }));
  }

  /** Our own routing update: the victim at our cost, plus any claimed edges. */
  announce(): Promise<void> {
    return this.sendUpdate({ Connections: { [this.victimId]: this.cost, ...this.#claims } });
  }

  /** From now on our own updates also claim these edges (a lie if the other end disagrees). */
  claimEdges(edges: Record<string, number>): Promise<void> {
    this.#claims = { ...edges };
    return this.announce();
  }

  /** Send a service advertisement (NodeID defaults to ours). */
  sendAd(ad: Partial<ServiceAdvertisement>): Promise<void> {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    return this.sendMessage(encodeServiceAd({
      NodeID: this.nodeId,
      Service: "svc",
      Time: { unixNs: nowNs, offsetSec: 0 },
      ConnType: 1,
      Tags: null,
      WorkCommands: null,
      Cancel: false,
      ...ad,
    }));
  }

  /**
   * For `durationMs`, send well-formed routing updates from made-up nodes: new node IDs of
   * `idLength` characters with `UpdateID`s of `updateIdLength`, each claiming `fanout` made-up
   * connections. Writes apply back-pressure, so the rate is what the victim accepts.
   */
  async floodUpdates(opts: {
    durationMs: number;
    idLength?: number;
    updateIdLength?: number;
    fanout?: number;
    maxMessages?: number;
  }): Promise<FloodStats> {
    const idLen = opts.idLength ?? 16, uidLen = opts.updateIdLength ?? 8;
    const stats = { messages: 0, bytes: 0 };
    const end = Date.now() + opts.durationMs;
    while (Date.now() < end && this.alive && stats.messages < (opts.maxMessages ?? Infinity)) {
      const conns: Record<string, number> = {};
      for (let i = 0; i < (opts.fanout ?? 2); i++) conns[randomId(idLen)] = 1;
      const m = encodeRoutingUpdate({
        NodeID: randomId(idLen),
        UpdateID: randomId(uidLen),
        UpdateEpoch: this.epoch,
        UpdateSequence: 1n,
        Connections: conns,
        ForwardingNode: this.nodeId,
        SuspectedDuplicate: 0n,
      });
      if (m.length > 65535) throw new Error(`flood message of ${m.length} bytes cannot be framed`);
      await this.sendMessage(m).catch(() => {});
      stats.messages++;
      stats.bytes += m.length + 2;
    }
    return stats;
  }

  /** For `durationMs`, send service ads from made-up nodes and services (far-future times too). */
  async floodAds(opts: { durationMs: number; maxMessages?: number }): Promise<FloodStats> {
    const stats = { messages: 0, bytes: 0 };
    const end = Date.now() + opts.durationMs;
    const future = BigInt(Date.now() + 10 * 365 * 86400_000) * 1_000_000n;
    while (Date.now() < end && this.alive && stats.messages < (opts.maxMessages ?? Infinity)) {
      const ad: ServiceAdvertisement = {
        NodeID: randomId(16),
        Service: randomId(8),
        Time: {
          unixNs: stats.messages % 2 ? future : BigInt(Date.now()) * 1_000_000n,
          offsetSec: 0,
        },
        ConnType: 1,
        Tags: { junk: randomId(512) },
        WorkCommands: null,
        Cancel: false,
      };
      const m = encodeServiceAd(ad);
      await this.sendMessage(m).catch(() => {});
      stats.messages++;
      stats.bytes += m.length + 2;
    }
    return stats;
  }

  /** Stop keepalives and close the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepalive);
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

/** Message type constants re-exported for tests. */
export { MSG_DATA, MSG_ROUTE, MSG_SERVICE_AD };
