/**
 * Sanity rules for service advertisements received from the network (issue 10), on top of
 * Go's strictly-newer-Time rule (wire.md §6.3): size and count limits, Time clamped to a
 * little in the future, and no node may speak for us (ads or cancels carrying our NodeID are
 * dropped, so our own ads cannot be replaced or withdrawn by others).
 * @module
 */

import type { Logger } from "../log.ts";
import { type LimitLog, type MeshLimits, utf8Length } from "./limits.ts";
import { encodeServiceAd, type ServiceAdvertisement } from "./messages.ts";
import type { AdTable } from "./service_ads.ts";

/** What {@link acceptRemoteAd} works on. */
export interface AdGuardContext {
  self: string;
  limits: MeshLimits;
  limitLog: LimitLog;
  logger: Logger;
  table: AdTable;
  /** Bytes of stored remote ads by queue key (handed to new neighbours). */
  stored: Map<string, Uint8Array>;
  /** Wall clock now (ms). */
  wallMs: number;
}

/** Queue and storage key of the ad of (`node`, `service`). */
export function adKey(node: string, service: string): string {
  return `a${node}\u0000${service}`;
}

/**
 * Decide on an ad received from `fromPeer`: stored (or its ad removed, for a Cancel) and
 * returned with the key and bytes to re-flood, or undefined when it must be dropped.
 */
export function acceptRemoteAd(
  ad: ServiceAdvertisement,
  bytes: Uint8Array,
  fromPeer: string,
  c: AdGuardContext,
): { key: string; bytes: Uint8Array } | undefined {
  if (ad.NodeID === c.self) {
    c.limitLog.hit(
      "forgedOwnAd",
      `dropped an ad naming this node (${ad.Service}) from ${fromPeer}`,
    );
    return undefined;
  }
  if (utf8Length(ad.NodeID) > c.limits.maxNodeIdBytes) {
    c.limitLog.hit("maxNodeIdBytes", `dropped an ad from ${fromPeer}: NodeID too long`);
    return undefined;
  }
  if (bytes.length > c.limits.maxAdBytes) {
    c.limitLog.hit("maxAdBytes", `dropped an ad of ${bytes.length} bytes from ${fromPeer}`);
    return undefined;
  }
  const latest = BigInt(Math.floor(c.wallMs + c.limits.maxAdFutureMs)) * 1_000_000n;
  if (ad.Time.unixNs > latest) {
    c.limitLog.hit("maxAdFutureMs", `clamped the time of ${ad.NodeID}'s ad ${ad.Service}`);
    ad = { ...ad, Time: { ...ad.Time, unixNs: latest } };
    bytes = encodeServiceAd(ad);
  }
  const isNew = !ad.Cancel && c.table.get(ad.NodeID, ad.Service) === undefined;
  if (isNew && c.table.countFor(ad.NodeID) >= c.limits.maxAdsPerNode) {
    c.limitLog.hit("maxAdsPerNode", `dropped ad ${ad.Service} of ${ad.NodeID}`);
    return undefined;
  }
  if (isNew && c.table.size >= c.limits.maxAds) {
    c.limitLog.hit("maxAds", `dropped ad ${ad.Service} of ${ad.NodeID}`);
    return undefined;
  }
  if (!c.table.offer(ad)) return undefined;
  const key = adKey(ad.NodeID, ad.Service);
  if (ad.Cancel) c.stored.delete(key);
  else c.stored.set(key, bytes);
  return { key, bytes };
}
