/**
 * The service-advertisement side of the {@link Router} (wire.md §6): our own ads and their
 * rounds, ads received from the network (checked by {@link acceptRemoteAd}) and re-flooded, and
 * the stored ads handed to a new neighbour. Sans-IO like the router it serves: time comes from
 * the router (`now`, `wallMs`), messages leave through the host's narrow callbacks.
 * @module
 */

import type { Logger } from "../log.ts";
import type { LimitLog, MeshLimits } from "./limits.ts";
import { type ServiceAdvertisement, serviceNameBytes, type WorkCommand } from "./messages.ts";
import { acceptRemoteAd } from "./ad_guard.ts";
import { adStatus, AdTable, type AdvertisementStatus, OwnAds } from "./service_ads.ts";

/**
 * An ad round runs this long after a service is added (Go's tickrunner request delay), so a
 * node that joined behind a Go relay in the meantime gets the ad within ~5 s, not a minute.
 */
export const AD_REQUEST_DELAY_MS = 5_000;

/**
 * An ad round runs this soon after a node becomes reachable (beyond upstream), so a node that
 * joins behind a Go relay later than the first round still gets every ad within seconds.
 */
export const NEW_NODE_AD_DELAY_MS = 1_000;

/** What {@link Advertising} needs from its router. */
export interface AdvertisingHost {
  readonly nodeId: string;
  /** The router's current time (ms, monotonic). */
  now(): number;
  /** Wall-clock ms for own ads' Time and the future clamp of received ones. */
  wallMs(): number;
  readonly logger: Logger;
  readonly limits: MeshLimits;
  readonly limitLog: LimitLog;
  /** Interval of our ad rounds (ms). */
  readonly serviceAdMs: number;
  /** True once the router has shut down: nothing more is flooded. */
  isShutdown(): boolean;
  /** Send our own message to every established peer at once. */
  flood(bytes: Uint8Array): void;
  /** Queue `bytes` under `key` for every established peer but `exceptPeer`. */
  floodKeyed(key: string, bytes: Uint8Array, exceptPeer: string): void;
  /** Send `bytes` on one link now. */
  send(linkId: number, bytes: Uint8Array): void;
  /** Queue `bytes` under `key` on one link's paced flood queue. */
  enqueue(linkId: number, key: string, bytes: Uint8Array): void;
}

/** Own and received service advertisements of one router. */
export class Advertising {
  readonly #host: AdvertisingHost;
  readonly #ads = new AdTable();
  /** Raw bytes of the other nodes' current ads, to hand to a new neighbour. */
  readonly #adBytes = new Map<string, Uint8Array>();
  readonly #own: OwnAds;
  /** When the next round of our own ads is due, if we advertise anything. */
  #roundAt?: number;

  constructor(host: AdvertisingHost) {
    this.#host = host;
    this.#own = new OwnAds(host.nodeId, this.#ads);
  }

  /** The deadline of the next ad round, if any. */
  get roundAt(): number | undefined {
    return this.#roundAt;
  }

  /** Run the ad round if it is due. */
  handleTimeout(now: number): void {
    if (this.#roundAt === undefined || now < this.#roundAt) return;
    this.#roundAt = now + this.#host.serviceAdMs;
    for (const service of this.#own.services()) {
      this.#host.flood(this.#own.build(service, this.#wallMs()));
    }
  }

  /** Stop the rounds (shutdown). */
  stop(): void {
    this.#roundAt = undefined;
  }

  /** Run the next ad round within `delayMs` (rounds are coalesced, as Go's tickrunner). */
  requestRound(delayMs: number): void {
    if (this.#own.size === 0) return;
    const soon = this.#host.now() + delayMs;
    if (this.#roundAt === undefined || this.#roundAt > soon) this.#roundAt = soon;
  }

  /**
   * A new neighbour on `linkId`: our current ads at once (Go waits for the 60 s round), the
   * other nodes' ads byte for byte through its paced queue (a receiver keeps newer ones).
   */
  greet(linkId: number): void {
    for (const service of this.#own.services()) {
      this.#host.send(linkId, this.#own.current(service, this.#wallMs()));
    }
    for (const [key, bytes] of this.#adBytes) this.#host.enqueue(linkId, key, bytes);
  }

  /** An ad received from the established peer `fromPeer`. */
  receive(ad: ServiceAdvertisement, bytes: Uint8Array, fromPeer: string): void {
    const h = this.#host;
    h.logger.debug(`Received service advertisement from ${ad.NodeID} via ${fromPeer}`);
    const ok = acceptRemoteAd(ad, bytes, fromPeer, {
      self: h.nodeId,
      limits: h.limits,
      limitLog: h.limitLog,
      logger: h.logger,
      table: this.#ads,
      stored: this.#adBytes,
      wallMs: this.#wallMs(),
    });
    if (ok) h.floodKeyed(ok.key, ok.bytes, fromPeer);
  }

  #wallMs(): number {
    return this.#host.wallMs();
  }

  /** See {@link Router.addAdvertisement}. */
  add(
    service: string,
    connType: 0 | 1 | 2,
    tags: Record<string, string> | null,
    workCommands?: WorkCommand[],
  ): void {
    if (!serviceNameBytes(service)) throw new Error(`service name ${service} too long`);
    this.#own.set(service, connType, tags, workCommands);
    this.requestRound(AD_REQUEST_DELAY_MS);
    if (!this.#host.isShutdown()) this.#host.flood(this.#own.build(service, this.#wallMs()));
  }

  /** Withdraw a local advertisement: a Cancel ad is flooded at once. */
  remove(service: string): void {
    const cancel = this.#own.cancel(service, this.#wallMs());
    if (this.#own.size === 0) this.#roundAt = undefined;
    if (cancel && !this.#host.isShutdown()) this.#host.flood(cancel);
  }

  /** The node's work types (see {@link OwnAds.setWorkCommands}). */
  setWorkCommands(list: WorkCommand[]): void {
    this.#own.setWorkCommands(list);
  }

  /** Every known ad in status shape; our own show "now" and the node's work types. */
  status(): AdvertisementStatus[] {
    const now = this.#own.now(this.#wallMs());
    const own = this.#own.workCommands;
    const wc = own.length ? own.map((w) => ({ ...w })) : undefined;
    return this.#ads.all().map((ad) =>
      ad.NodeID === this.#host.nodeId ? adStatus(ad, now, wc) : adStatus(ad)
    );
  }

  /** Stored remote ads (diagnostics). */
  get stored(): number {
    return this.#adBytes.size;
  }
}
