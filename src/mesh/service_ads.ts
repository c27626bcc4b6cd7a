/**
 * Service advertisements (wire.md §6): the table of known ads keyed by (NodeID, Service) with
 * the strictly-newer-Time acceptance rule, and the local node's own ads with a strictly
 * increasing nanosecond clock.
 * @module
 */

import { formatGoTime, type GoTime, localGoTime } from "../gocompat/time.ts";
import { msToNs } from "../clock.ts";
import { encodeServiceAd, type ServiceAdvertisement, type WorkCommand } from "./messages.ts";

/** One advertisement as shown in status output (control.md §2.1): exactly six keys. */
export interface AdvertisementStatus {
  NodeID: string;
  Service: string;
  /** RFC 3339 with nanoseconds (trailing zeros trimmed) and zone. */
  Time: string;
  ConnType: number;
  Tags: Record<string, string> | null;
  WorkCommands: WorkCommand[] | null;
}

/** Ads known to this node, own ones included. */
export class AdTable {
  #ads = new Map<string, Map<string, ServiceAdvertisement>>();
  #size = 0;

  /** Ads stored, all nodes together. */
  get size(): number {
    return this.#size;
  }

  /** Ads stored for `node`. */
  countFor(node: string): number {
    return this.#ads.get(node)?.size ?? 0;
  }

  /**
   * Offer an ad received from the network (or produced locally). Returns true when it is newer
   * than the stored one (or none is stored) — it was then stored, or deleted for a Cancel, and
   * must be re-flooded — and false when it must be dropped.
   */
  offer(ad: ServiceAdvertisement): boolean {
    let n = this.#ads.get(ad.NodeID);
    const cur = n?.get(ad.Service);
    if (cur && ad.Time.unixNs <= cur.Time.unixNs) return false;
    if (ad.Cancel) {
      if (n) this.delete(ad.NodeID, ad.Service);
    } else {
      if (!n) {
        n = new Map();
        this.#ads.set(ad.NodeID, n);
      }
      if (!cur) this.#size++;
      n.set(ad.Service, ad);
    }
    return true;
  }

  /** Forget the stored ad of (`node`, `service`). */
  delete(node: string, service: string): void {
    const n = this.#ads.get(node);
    if (n?.delete(service)) this.#size--;
    if (n && n.size === 0) this.#ads.delete(node);
  }

  /** The stored ad of (`node`, `service`), if any. */
  get(node: string, service: string): ServiceAdvertisement | undefined {
    return this.#ads.get(node)?.get(service);
  }

  /** All stored ads. */
  all(): ServiceAdvertisement[] {
    const out: ServiceAdvertisement[] = [];
    for (const n of this.#ads.values()) out.push(...n.values());
    return out;
  }
}

/** A clock for own-ad `Time` values that never repeats or goes back, even within one ms. */
export class AdClock {
  #last = 0n;
  /** The next Time for wall-clock `wallMs`: max(wall in ns, previous + 1 ns), local zone. */
  next(wallMs: number): GoTime {
    let ns = msToNs(wallMs);
    if (ns <= this.#last) ns = this.#last + 1n;
    this.#last = ns;
    return localGoTime(ns);
  }
  /** The current wall time as a GoTime, without reserving it. */
  peek(wallMs: number): GoTime {
    return localGoTime(msToNs(wallMs));
  }
}

/** Status view of an ad; `time` overrides its Time (own ads show the current time). */
export function adStatus(
  ad: ServiceAdvertisement,
  time?: GoTime,
  workCommands?: WorkCommand[] | null,
): AdvertisementStatus {
  return {
    NodeID: ad.NodeID,
    Service: ad.Service,
    Time: formatGoTime(time ?? ad.Time),
    ConnType: ad.ConnType,
    Tags: ad.Tags === null ? null : { ...ad.Tags },
    WorkCommands: workCommands !== undefined
      ? workCommands
      : ad.WorkCommands === null
      ? null
      : ad.WorkCommands.map((w) => ({ ...w })),
  };
}

interface OwnAd {
  connType: number;
  tags: Record<string, string> | null;
  workCommands?: WorkCommand[];
  /** The last message built for this ad (resent to new neighbours). */
  lastBytes?: Uint8Array;
}

/** The local node's advertised services and the messages that announce them. */
export class OwnAds {
  #ads = new Map<string, OwnAd>();
  #clock = new AdClock();
  #workCommands: WorkCommand[] = [];

  /** Own ads are also stored in `table` (as Go does), so echoes are recognised. */
  constructor(readonly nodeId: string, readonly table: AdTable) {}

  /** Number of advertised services. */
  get size(): number {
    return this.#ads.size;
  }

  /** Advertised service names. */
  services(): string[] {
    return [...this.#ads.keys()];
  }

  /** The node-wide work types (see {@link OwnAds.setWorkCommands}). */
  get workCommands(): WorkCommand[] {
    return this.#workCommands;
  }

  /** Set the node's work types; used for control-service ads without explicit ones. */
  setWorkCommands(list: WorkCommand[]): void {
    this.#workCommands = list.map((w) => ({ ...w }));
  }

  /** Start (or replace) advertising `service`. */
  set(
    service: string,
    connType: number,
    tags: Record<string, string> | null,
    workCommands?: WorkCommand[],
  ): void {
    this.#ads.set(service, {
      connType,
      tags: tags ? { ...tags } : null,
      workCommands: workCommands?.map((w) => ({ ...w })),
    });
  }

  /** Build a fresh ad message for `service` with a new, strictly later Time. */
  build(service: string, wallMs: number): Uint8Array {
    const own = this.#ads.get(service)!;
    const wc = own.workCommands ??
      (own.tags?.["type"] === "Control Service" ? this.#workCommands : null);
    const ad: ServiceAdvertisement = {
      NodeID: this.nodeId,
      Service: service,
      Time: this.#clock.next(wallMs),
      ConnType: own.connType,
      Tags: own.tags,
      WorkCommands: wc && wc.length ? wc : null,
      Cancel: false,
    };
    this.table.offer(ad);
    own.lastBytes = encodeServiceAd(ad);
    return own.lastBytes;
  }

  /** The last message built for `service` (building one if none yet). */
  current(service: string, wallMs: number): Uint8Array {
    return this.#ads.get(service)?.lastBytes ?? this.build(service, wallMs);
  }

  /** Stop advertising `service`; returns the Cancel message to flood, if it was advertised. */
  cancel(service: string, wallMs: number): Uint8Array | undefined {
    const own = this.#ads.get(service);
    if (!own) return undefined;
    this.#ads.delete(service);
    this.table.delete(this.nodeId, service);
    return encodeServiceAd({
      NodeID: this.nodeId,
      Service: service,
      Time: this.#clock.next(wallMs),
      ConnType: own.connType,
      Tags: null,
      WorkCommands: null,
      Cancel: true,
    });
  }

  /** Current wall time as a GoTime (own ads show "now" in status, as in Go). */
  now(wallMs: number): GoTime {
    return this.#clock.peek(wallMs);
  }
}
