/**
 * The data-message pipeline of one node (wire.md §7.4–§7.6, §8, §9.3): firewall, local
 * delivery to services and the reserved `ping`/`unreach` handlers, unreachable generation,
 * and forwarding with the hops-to-live rule (applied by the originator too).
 * @module
 */

import type { Logger } from "../log.ts";
import type { CompiledRules } from "./firewall.ts";
import {
  DATA_HEADER_LEN,
  type DataMessage,
  decodeUnreachable,
  encodeData,
  encodeUnreachable,
  serviceNameFits,
} from "./messages.ts";
import type { NameTable } from "./name_table.ts";
import type { RouterOutput, SendError } from "./router_types.ts";

/** Unreachable `Problem` texts (Go's constants). */
export const PROBLEM_SERVICE_UNKNOWN = "service unknown";
/** HTL ran out at a node that would have to forward the message. */
export const PROBLEM_EXPIRED = "message expired";
/** A `reject` firewall rule matched. */
export const PROBLEM_REJECTED = "blocked by firewall";

/** A data message with node names resolved. */
export interface ResolvedMessage {
  fromNode: string;
  toNode: string;
  fromService: string;
  toService: string;
  hopsToLive: number;
  payload: Uint8Array;
  /**
   * The whole message as received from a link, owned by the pipeline (`payload` is a view of
   * it): delivered without a copy, and forwarded as is with only the HTL byte rewritten.
   */
  raw?: Uint8Array;
}

/** What the pipeline needs from its router. */
export interface DataPathHost {
  readonly nodeId: string;
  readonly names: NameTable;
  readonly logger: Logger;
  readonly firewall?: CompiledRules;
  readonly maxHops: number;
  readonly maxMessageBytes: number;
  /** Send originated/re-encoded data as a header plus `tail` (see RouterOptions.send). */
  readonly splitSends?: boolean;
  /** Is a local (non-reserved) service bound under this name? */
  isBound(service: string): boolean;
  /** The link to the next hop towards `node`, or the Go error text. */
  nextHopLink(node: string): number | "no route to node" | "no connection to next hop";
  /** Send a message on a link (the router's send callback: ownership as in RouterOptions.send). */
  send(linkId: number, bytes: Uint8Array, tail?: Uint8Array): void;
  /** Queue any other output. */
  emit(out: RouterOutput): void;
}

const EMPTY = new Uint8Array(0);

function hex(h: bigint): string {
  return h.toString(16).padStart(16, "0");
}

/** The per-node data pipeline. */
export class DataPath {
  /** `host` gives access to routing state and the output queue. */
  constructor(readonly host: DataPathHost) {}

  /**
   * Originate a message from a local service (Go's SendMessageWithHopsToLive): `localhost`
   * becomes the local node ID. Returns an error text for problems the local sender must see.
   */
  originate(
    fromService: string,
    toNode: string,
    toService: string,
    payload: Uint8Array,
    hopsToLive: number = this.host.maxHops,
  ): SendError | undefined {
    if (!serviceNameFits(fromService) || !serviceNameFits(toService)) {
      return "service name too long";
    }
    if (DATA_HEADER_LEN + payload.length > this.host.maxMessageBytes) return "message too large";
    if (toNode.toLowerCase() === "localhost") toNode = this.host.nodeId;
    const htl = Math.max(0, Math.min(255, Math.floor(hopsToLive)));
    return this.handle({
      fromNode: this.host.nodeId,
      toNode,
      fromService,
      toService,
      hopsToLive: htl,
      payload,
    });
  }

  /**
   * A data message arrived from a link: resolve hashes and process it. Never throws. `raw`, if
   * given, is the whole received message, which the pipeline may keep and modify.
   */
  receive(d: DataMessage, via: string, raw?: Uint8Array): void {
    const fromNode = this.host.names.lookup(d.fromHash);
    const toNode = this.host.names.lookup(d.toHash);
    if (fromNode === undefined || toNode === undefined) {
      this.host.logger.error(
        `Error translating data to message struct: hash not found (from ${hex(d.fromHash)}, ` +
          `to ${hex(d.toHash)}, via ${via})`,
      );
      return;
    }
    const err = this.handle({
      fromNode,
      toNode,
      fromService: d.fromService,
      toService: d.toService,
      hopsToLive: d.hopsToLive,
      payload: d.payload,
      raw,
    });
    if (err) this.host.logger.error(`Error handling message data: ${err}`);
  }

  /** Go's handleMessageData: firewall, local delivery, or forwarding. */
  handle(md: ResolvedMessage): SendError | undefined {
    const h = this.host;
    if (h.firewall) {
      const action = h.firewall.evaluate(md);
      if (action === "drop") return undefined;
      if (action === "reject") {
        if (md.fromService !== "unreach") this.#sendUnreachable(md, PROBLEM_REJECTED);
        return undefined;
      }
    }
    if (md.toNode === h.nodeId) {
      if (md.toService === "ping") {
        return this.originate("ping", md.fromNode, md.fromService, EMPTY);
      }
      if (md.toService === "unreach") {
        this.#handleUnreachable(md);
        return undefined;
      }
      if (h.isBound(md.toService)) {
        h.emit({
          kind: "datagram",
          service: md.toService,
          fromNode: md.fromNode,
          fromService: md.fromService,
          payload: md.raw ? md.payload : md.payload.slice(),
        });
        return undefined;
      }
      if (md.fromNode === h.nodeId) return "service unknown";
      this.#sendUnreachable(md, PROBLEM_SERVICE_UNKNOWN);
      return undefined;
    }
    return this.#forward(md);
  }

  #forward(md: ResolvedMessage): SendError | undefined {
    const h = this.host;
    if (md.hopsToLive <= 0) {
      if (md.fromService !== "unreach") this.#sendUnreachable(md, PROBLEM_EXPIRED);
      return undefined;
    }
    const link = h.nextHopLink(md.toNode);
    if (typeof link === "string") return link;
    if (md.raw) {
      // Relay: the received bytes already carry both hashes and the raw service names (as Go
      // re-marshals them); only the hops-to-live byte changes.
      md.raw[1] = md.hopsToLive - 1;
      h.send(link, md.raw);
      return undefined;
    }
    const header = {
      hopsToLive: md.hopsToLive - 1,
      fromHash: h.names.add(md.fromNode),
      toHash: h.names.add(md.toNode),
      fromService: md.fromService,
      toService: md.toService,
    };
    if (h.splitSends && md.payload.length) {
      // no copy of the payload here: the shell frames header + payload straight into the link
      h.send(link, encodeData(header, EMPTY), md.payload);
      return undefined;
    }
    h.send(link, encodeData(header, md.payload));
    return undefined;
  }

  #sendUnreachable(md: ResolvedMessage, problem: string): void {
    const payload = encodeUnreachable({
      FromNode: md.fromNode,
      ToNode: md.toNode,
      FromService: md.fromService,
      ToService: md.toService,
      Problem: problem,
    });
    const err = this.originate("unreach", md.fromNode, "unreach", payload);
    if (err) this.host.logger.debug(`Could not send unreachable to ${md.fromNode}: ${err}`);
  }

  #handleUnreachable(md: ResolvedMessage): void {
    const r = decodeUnreachable(md.payload);
    if (!r.ok) {
      this.host.logger.error(
        `Error handling unreachable message from ${md.fromNode}: ${r.error.message}`,
      );
      return;
    }
    const u = r.value;
    this.host.logger.warning(
      `Received unreachable message from ${md.fromNode} (service ${md.fromService}) to ` +
        `${md.toNode} (service ${md.toService}): ttl ${md.hopsToLive}, data ${u.Problem}`,
    );
    this.host.emit({
      kind: "unreachable",
      service: u.FromService,
      info: { ...u, ReceivedFromNode: md.fromNode },
    });
  }
}
