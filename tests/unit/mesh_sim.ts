/**
 * A deterministic in-process mesh for router tests: several sans-IO Routers on one FakeClock,
 * connected by in-memory link pairs with zero latency. Not a test file itself.
 * @module
 */

import { FakeClock } from "../../src/clock.ts";
import { Logger } from "../../src/log.ts";
import type { LinkOptions } from "../../src/mesh/link.ts";
import { Router, type RouterOptions, type UnreachableNotice } from "../../src/mesh/router.ts";
import { seededRandom } from "../../src/mesh/random.ts";

/** One end of a simulated link. */
interface End {
  node: string;
  /** Small number of the node (groups a round's deliveries by receiver). */
  rank: number;
  linkId: number;
  peer?: End;
  open: boolean;
  /** Messages sent by this end are lost (a silent peer). */
  mute: boolean;
  /** Raw ends (no router) collect what the router sends them. */
  captured?: Uint8Array[];
  /** The record of `node` as of sim generation `recGen` (a Map lookup per message otherwise). */
  rec?: NodeRecord;
  recGen: number;
}

/** A received datagram. */
export interface Delivered {
  service: string;
  fromNode: string;
  fromService: string;
  payload: Uint8Array;
  at: number;
}

/** Per-node records of what the router emitted. */
export interface NodeRecord {
  router: Router;
  datagrams: Delivered[];
  unreachables: (UnreachableNotice & { service: string; at: number })[];
  shutdown?: string;
  /** Nodes this router saw restart (nodeRestarted outputs). */
  restarts: string[];
  logs: string[];
}

/** The simulated network. */
export class Sim {
  readonly clock = new FakeClock(0);
  readonly nodes = new Map<string, NodeRecord>();
  readonly #ends = new Map<number, End>();
  /** The same ends by link ID (sequential): no Map lookup per message sent. */
  readonly #endById: End[] = [];
  #nextLink = 1;
  readonly #ranks = new Map<string, number>();
  #order = new Int32Array(0);
  #counts = new Int32Array(0);
  #seed = 1;
  /** Bumped when a node is added or removed: the ends' cached records are then looked up again. */
  #gen = 0;
  /**
   * In flight, in order: the receiving end and the message (undefined: the far end closed),
   * the first `#qn` of each array: a count, not the length (setting a length to 0 per round
   * dropped the arrays' room, regrown every round: ~110 MB of garbage per 1,000-node
   * convergence); the room is let go when the network is quiet.
   */
  #qEnds: End[] = [];
  #qBytes: (Uint8Array | undefined)[] = [];
  #qn = 0;
  /** The other pair of arrays (swapped with the above while delivering). */
  #dEnds: End[] = [];
  #dBytes: (Uint8Array | undefined)[] = [];
  /** Log level of nodes added from now on (big meshes: "warning"). */
  logLevel: "debug" | "info" | "warning" | "error" = "debug";
  /** Optional observer/filter for every message in flight; return false to drop it. */
  tap?: (from: string, to: string, bytes: Uint8Array) => boolean;

  /** Add a node with a seeded RNG and a capturing logger; `key` names it in the sim. */
  addNode(id: string, opts: Partial<RouterOptions> = {}, key = id): Router {
    const logs: string[] = [];
    const logger = new Logger({ level: this.logLevel, sink: (l) => logs.push(l) });
    const router = new Router({
      nodeId: id,
      now: this.clock.now(),
      wallMs: () => this.clock.wallNow().getTime(),
      logger,
      random: seededRandom(this.#seed++ * 7919),
      send: (linkId, bytes) => this.#send(id, linkId, bytes),
      ...opts,
    });
    this.nodes.set(key, { router, datagrams: [], unreachables: [], restarts: [], logs });
    this.#gen++;
    return router;
  }

  /** Record of node `key`. */
  rec(key: string): NodeRecord {
    return this.nodes.get(key)!;
  }

  /** Router of node `id`. */
  r(id: string): Router {
    return this.nodes.get(id)!.router;
  }

  /** Connect two routers; returns [linkId at a, linkId at b]. */
  connect(
    a: string,
    b: string,
    optsA: Partial<LinkOptions> = {},
    optsB: Partial<LinkOptions> = {},
  ) {
    const ids = this.link(a, b, optsA, optsB);
    this.drain();
    return ids;
  }

  /** Like {@link Sim.connect} without carrying out the outputs (to build big meshes fast). */
  link(
    a: string,
    b: string,
    optsA: Partial<LinkOptions> = {},
    optsB: Partial<LinkOptions> = {},
  ) {
    const ea = this.#newEnd(a), eb = this.#newEnd(b);
    ea.peer = eb;
    eb.peer = ea;
    this.r(a).addLink(this.clock.now(), ea.linkId, {
      cost: 1,
      description: `sim ${a}->${b}`,
      ...optsA,
    });
    this.r(b).addLink(this.clock.now(), eb.linkId, {
      cost: 1,
      description: `sim ${b}->${a}`,
      ...optsB,
    });
    return [ea.linkId, eb.linkId] as const;
  }

  /** Connect router `a` to a raw end driven by the test; returns [linkId at a, raw end]. */
  connectRaw(a: string, opts: Partial<LinkOptions> = {}) {
    const ea = this.#newEnd(a);
    const raw: End = {
      node: "<raw>",
      rank: -1,
      linkId: -1,
      open: true,
      mute: false,
      captured: [],
      recGen: -1,
    };
    ea.peer = raw;
    raw.peer = ea;
    this.r(a).addLink(this.clock.now(), ea.linkId, {
      cost: 1,
      description: `sim ${a}->raw`,
      ...opts,
    });
    this.drain();
    return { linkId: ea.linkId, captured: raw.captured!, end: ea };
  }

  #newEnd(node: string): End {
    let rank = this.#ranks.get(node);
    if (rank === undefined) this.#ranks.set(node, rank = this.#ranks.size);
    const e: End = { node, rank, linkId: this.#nextLink++, open: true, mute: false, recGen: -1 };
    this.#ends.set(e.linkId, e);
    this.#endById[e.linkId] = e;
    return e;
  }

  /** Make the far side of link `linkId` (at its node) silent: nothing it sends arrives. */
  muteFarSide(linkId: number): void {
    const e = this.#ends.get(linkId)!;
    if (e.peer) e.peer.mute = true;
  }

  /** Deliver raw bytes to `node` as if received on `linkId`. */
  inject(linkId: number, bytes: Uint8Array): void {
    const e = this.#ends.get(linkId)!;
    this.r(e.node).handleMessage(this.clock.now(), e.linkId, bytes);
    this.drain();
  }

  /** Is link end `linkId` still open? */
  isOpen(linkId: number): boolean {
    return this.#ends.get(linkId)?.open ?? false;
  }

  /** Transport failure on a link: both routers are told. */
  cut(linkId: number): void {
    const e = this.#ends.get(linkId)!;
    this.#close(e, "cut");
    this.drain();
  }

  /** Cut the link between nodes `a` and `b` (both are told), without carrying out outputs. */
  cutBetween(a: string, b: string): void {
    for (const e of this.#ends.values()) {
      if (e.node === a && e.open && e.peer?.node === b) return this.#close(e, "cut");
    }
    throw new Error(`no open link between ${a} and ${b}`);
  }

  #close(e: End, reason: string): void {
    if (!e.open) return;
    e.open = false;
    const rec = this.nodes.get(e.node);
    rec?.router.linkClosed(this.clock.now(), e.linkId, reason);
    if (e.peer && e.peer.open) this.#close(e.peer, "peer closed");
  }

  /** Remove a node: all its links close (its neighbours see transport EOF). */
  removeNode(id: string): void {
    for (const e of this.#ends.values()) {
      if (e.node === id && e.open) this.#close(e, "node removed");
    }
    this.nodes.delete(id);
    this.#gen++;
    this.drain();
  }

  /** A router's send callback: the message is in flight to the far end. */
  #send(id: string, linkId: number, bytes: Uint8Array): void {
    if (bytes.length === 0) throw new Error(`${id} sent an empty message`);
    const e = this.#endById[linkId];
    if (!e || !e.open || e.mute || !e.peer) return;
    if (e.peer.captured) {
      e.peer.captured.push(bytes);
      return;
    }
    if (this.tap && !this.tap(id, e.peer.node, bytes)) return;
    this.#qEnds[this.#qn] = e.peer;
    this.#qBytes[this.#qn++] = bytes;
  }

  /** Carry out every pending output until the network is quiet. */
  drain(): void {
    for (let guard = 0; guard < 10_000_000; guard++) {
      let progressed = false;
      for (const [id, rec] of this.nodes) {
        for (let o; (o = rec.router.pollOutput(this.clock.now()));) {
          progressed = true;
          switch (o.kind) {
            case "send":
              this.#send(id, o.linkId, o.bytes);
              break;
            case "closeLink": {
              // Our side closes now; the far side notices after what was already sent.
              const e = this.#ends.get(o.linkId);
              if (e && e.open) {
                e.open = false;
                rec.router.linkClosed(this.clock.now(), e.linkId, o.reason);
                if (e.peer) {
                  this.#qEnds[this.#qn] = e.peer;
                  this.#qBytes[this.#qn++] = undefined;
                }
              }
              break;
            }
            case "datagram":
              rec.datagrams.push({ ...o, at: this.clock.now() });
              break;
            case "unreachable":
              rec.unreachables.push({ ...o.info, service: o.service, at: this.clock.now() });
              break;
            case "shutdown":
              rec.shutdown = o.reason;
              break;
            case "nodeRestarted":
              rec.restarts.push(o.node);
              break;
          }
        }
      }
      if (this.#deliver()) progressed = true;
      if (!progressed) {
        this.#qEnds.length =
          this.#qBytes.length =
          this.#dEnds.length =
          this.#dBytes.length =
            0;
        return;
      }
    }
    throw new Error("network never went quiet");
  }

  /** Deliver what is in flight (what that sends waits for the next round); true if any. */
  #deliver(): boolean {
    const ends = this.#qEnds, msgs = this.#qBytes, n = this.#qn;
    if (n === 0) return false;
    this.#qn = 0;
    [this.#qEnds, this.#dEnds, this.#qBytes, this.#dBytes] = [
      this.#dEnds,
      ends,
      this.#dBytes,
      msgs,
    ];
    const order = this.#byReceiver(ends, n);
    for (let o = 0; o < n; o++) {
      const i = order[o];
      const end = ends[i], bytes = msgs[i];
      msgs[i] = undefined; // not kept alive by the harness until overwritten
      if (!end.open) continue;
      if (bytes === undefined) {
        if (end.captured) end.open = false;
        else this.#close(end, "peer closed");
      } else {
        if (end.recGen !== this.#gen) {
          end.rec = this.nodes.get(end.node);
          end.recGen = this.#gen;
        }
        end.rec?.router.handleMessage(this.clock.now(), end.linkId, bytes);
      }
    }
    return true;
  }

  /** Positions 0..n-1 of `ends` ordered by receiving node, in send order within each (stable). */
  #byReceiver(ends: End[], n: number): Int32Array {
    const r = this.#ranks.size + 1;
    if (this.#counts.length < r + 1) this.#counts = new Int32Array(r + 1);
    if (this.#order.length < n) this.#order = new Int32Array(Math.max(n, 2 * this.#order.length));
    const c = this.#counts, order = this.#order;
    c.fill(0);
    for (let i = 0; i < n; i++) c[ends[i].rank + 2]++;
    for (let k = 1; k <= r; k++) c[k] += c[k - 1];
    for (let i = 0; i < n; i++) order[c[ends[i].rank + 1]++] = i;
    return order;
  }

  /** Advance fake time by `ms`, firing every router deadline on the way. */
  run(ms: number): void {
    const end = this.clock.now() + ms;
    this.drain();
    for (let guard = 0;; guard++) {
      if (guard > 1_000_000) throw new Error("timers never settle");
      let next = Infinity;
      for (const rec of this.nodes.values()) {
        const t = rec.router.pollTimeout();
        if (t !== undefined && t < next) next = t;
      }
      if (next > end) break;
      this.clock.set(next);
      for (const rec of this.nodes.values()) {
        const t = rec.router.pollTimeout();
        if (t !== undefined && t <= this.clock.now()) rec.router.handleTimeout(this.clock.now());
      }
      this.drain();
    }
    this.clock.set(end);
    this.drain();
  }
}

/** A sorted copy of a record (for stable comparisons). */
export function sorted<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}
