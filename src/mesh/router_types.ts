/**
 * Types at the edge of the sans-IO {@link Router}: construction options, outputs the shell
 * must carry out, unreachable notices and the status snapshot.
 * @module
 */

import type { Logger } from "../log.ts";
import type { CompiledRules } from "./firewall.ts";
import type { RandomSource } from "./random.ts";
import type { AdvertisementStatus } from "./service_ads.ts";
import type { UnreachableMessage } from "./messages.ts";
import type { MeshLimits } from "./limits.ts";
import type { DuplicateNoticePolicy } from "./duplicate_notice.ts";

/** Options for a {@link Router}. */
export interface RouterOptions {
  /** This node's ID (must not be empty or `localhost`). */
  nodeId: string;
  /** The caller's monotonic time at creation (ms); later times come in on each entry point. */
  now: number;
  /**
   * Wall-clock ms since the Unix epoch, for stamps that go on the wire (the epoch, ad `Time`):
   * the host's clock (the router reads none). Sub-ms detail is kept (Go writes ns).
   */
  wallMs: () => number;
  logger: Logger;
  /** Random bytes (default WebCrypto). */
  random?: RandomSource;
  /** Compiled firewall rules applied to every data message. */
  firewall?: CompiledRules;
  /** Close a connection silent this long (default 21000 ms). */
  maxIdleMs?: number;
  /** Routing update period (default 10000 ms). */
  routeUpdateMs?: number;
  /** Service advertisement period (default 60000 ms). */
  serviceAdMs?: number;
  /** Fixed epoch (default: unix seconds × 2^24 + 24 random bits). */
  epoch?: bigint;
  /** Largest message accepted from or sent to a link (default 65535, the TCP frame limit). */
  maxMessageBytes?: number;
  /**
   * Originated data messages come out as header + `tail` (the caller's payload) instead of one
   * new array, for a shell that hands both to the link before the sender continues.
   */
  splitDataSends?: boolean;
  /** Hops-to-live of locally originated messages (default 30). */
  maxForwardingHops?: number;
  /** Limits on what peers can make this node keep (defaults: `DEFAULT_LIMITS`). */
  limits?: Partial<MeshLimits>;
  /**
   * What a credible duplicate-node notice does: `stay` (default) never shuts the router down,
   * `exit` (Go's behaviour) does (README "Duplicate node IDs (credibility rule)").
   */
  duplicateNotice?: DuplicateNoticePolicy;
  /**
   * Bytes a link has been handed but not yet written (its send backlog); flooded messages are
   * held back while it is high. Default: always 0.
   */
  linkBacklog?: (linkId: number) => number;
  /**
   * Carry out a send at once, instead of a `send` output from `pollOutput()` (no object per
   * message). Called synchronously from inside the router's entry points: it must not call back
   * into the router. Ownership as for the `send` output: `bytes` may be the same array handed to
   * other links and kept by the router (replays), so the host must not modify it, and may keep
   * it; `tail` (only with `splitDataSends`) is valid only during the call.
   */
  send?: SendFn;
}

/** The host's send callback (see {@link RouterOptions.send}). */
export type SendFn = (linkId: number, bytes: Uint8Array, tail?: Uint8Array) => void;

/** An unreachable notice as delivered locally (Go's UnreachableNotification). */
export interface UnreachableNotice extends UnreachableMessage {
  /** Header from-node of the `unreach` message: the node where the problem occurred. */
  ReceivedFromNode: string;
}

/**
 * Something the shell must do, drained with `pollOutput()`. `send` outputs come only when the
 * host gave no {@link RouterOptions.send} callback.
 */
export type RouterOutput =
  | {
    kind: "send";
    linkId: number;
    bytes: Uint8Array;
    /**
     * Only with `splitDataSends`: the message is `bytes` (a data header) followed by `tail`
     * (the sender's payload, valid only until this output is carried out: do it at once).
     */
    tail?: Uint8Array;
  }
  | { kind: "closeLink"; linkId: number; reason: string }
  | {
    kind: "datagram";
    service: string;
    fromNode: string;
    fromService: string;
    payload: Uint8Array;
  }
  | { kind: "unreachable"; service: string; info: UnreachableNotice }
  | { kind: "shutdown"; reason: string }
  /** A known node announced a larger epoch: it restarted, and its old connections are gone. */
  | { kind: "nodeRestarted"; node: string }
  /** A node that had no route now has one (it joined, or came back after a partition). */
  | { kind: "routeAdded"; node: string };

/** A snapshot for the control service's `status` command. */
export interface RouterStatus {
  nodeId: string;
  connections: { NodeID: string; Cost: number }[];
  routingTable: Record<string, string>;
  knownConnectionCosts: Record<string, Record<string, number>>;
  advertisements: AdvertisementStatus[];
}

/** Errors a local sender can get back from `sendDatagram` (Go's texts). */
export type SendError =
  | "service name too long"
  | "no route to node"
  | "no connection to next hop"
  | "service unknown"
  | "message too large"
  | "router is shut down";

/** Router counters for metrics, read at scrape time. */
export interface RouterCounters {
  /** Routing updates received whose origin is the neighbour that sent them. */
  routingUpdatesFromNeighbours: number;
  /** Routing updates received that a neighbour relayed from another node. */
  routingUpdatesFromRemote: number;
  /** Destinations whose next hop appeared, changed or vanished in route recomputations. */
  routeChanges: number;
}
