/**
 * Control commands that ask the mesh: `status`, `ping`, `traceroute` (control.md §2.1–2.2).
 * @module
 */
import type { ControlCommand, ControlRequest } from "./types.ts";
import { ControlError } from "./types.ts";
import { formatGoDuration } from "../gocompat/duration.ts";
import type { AdvertisementStatus } from "../mesh/service_ads.ts";

/** What the mesh tells the control service. */
export interface MeshStatus {
  nodeId: string;
  connections: { NodeID: string; Cost: number }[];
  routingTable: Record<string, string>;
  knownConnectionCosts: Record<string, Record<string, number>>;
  advertisements: AdvertisementStatus[];
}

/** Result of one ping. */
export type PingResult = { from: string; timeNs: bigint } | { error: string; from?: string };

/** The mesh operations the control commands need. */
export interface MeshControlApi {
  status(): MeshStatus;
  ping(node: string, opts?: { htl?: number; timeoutMs?: number }): Promise<PingResult>;
  traceroute(node: string): Promise<Array<{ from: string; timeNs: bigint; error?: string }>>;
}

/** Facts about this machine and build for `status`. */
export interface NodeFacts {
  version: string;
  cpuCount: number;
  memoryMiB: number;
}

/** Read CPU count and memory of this machine. */
export function systemFacts(version: string): NodeFacts {
  let memoryMiB = 0;
  try {
    memoryMiB = Math.floor(Deno.systemMemoryInfo().total / 1048576);
  } catch { /* not permitted */ }
  return { version, cpuCount: navigator.hardwareConcurrency ?? 1, memoryMiB };
}

/** `status`: the 8 keys, or only `requested_fields` in the JSON form. */
export function statusCommand(mesh: MeshControlApi, facts: NodeFacts): ControlCommand {
  return {
    name: "status",
    run(_session, req) {
      if (req.form === "text" && req.params !== "") {
        throw new ControlError("status command does not take parameters");
      }
      const s = mesh.status();
      const full: Record<string, unknown> = {
        Advertisements: s.advertisements,
        Connections: s.connections,
        KnownConnectionCosts: s.knownConnectionCosts,
        NodeID: s.nodeId,
        RoutingTable: s.routingTable,
        SystemCPUCount: facts.cpuCount,
        SystemMemoryMiB: facts.memoryMiB,
        Version: facts.version,
      };
      if (req.form === "json" && req.json.requested_fields !== undefined) {
        const rf = req.json.requested_fields;
        if (!Array.isArray(rf)) throw new ControlError("requested_fields must be a list");
        const out: Record<string, unknown> = {};
        for (const f of rf) if (typeof f === "string" && f in full) out[f] = full[f];
        return Promise.resolve({ kind: "reply", value: out });
      }
      return Promise.resolve({ kind: "reply", value: full });
    },
  };
}

function target(req: ControlRequest, name: string): string {
  if (req.form === "text") {
    if (req.params === "") throw new ControlError(`no ${name} target`);
    return req.params;
  }
  const t = req.json.target;
  if (t === undefined) throw new ControlError(`no ${name} target`);
  if (typeof t !== "string") throw new ControlError(`${name} target must be string`);
  return t;
}

/** `ping <node>`: JSON reply both on success and on failure. */
export function pingCommand(mesh: MeshControlApi): ControlCommand {
  return {
    name: "ping",
    async run(_session, req) {
      const node = target(req, "ping");
      const r = await mesh.ping(node);
      if ("error" in r) return { kind: "reply", value: { Error: r.error, Success: false } };
      return {
        kind: "reply",
        value: {
          From: r.from,
          Success: true,
          Time: Number(r.timeNs),
          TimeStr: formatGoDuration(r.timeNs),
        },
      };
    },
  };
}

/** `traceroute <node>`: `{"0": {...}, "1": {...}}`. */
export function tracerouteCommand(mesh: MeshControlApi): ControlCommand {
  return {
    name: "traceroute",
    async run(_session, req) {
      const node = target(req, "traceroute");
      const hops = await mesh.traceroute(node);
      const out: Record<string, unknown> = {};
      hops.forEach((h, i) => {
        const v: Record<string, unknown> = {
          From: h.from,
          Time: Number(h.timeNs),
          TimeStr: formatGoDuration(h.timeNs),
        };
        if (h.error) v.Error = h.error;
        out[String(i)] = v;
      });
      return { kind: "reply", value: out };
    },
  };
}

/** `reload`: delegates to the node; reply `{"Success":true}` or `{"Success":false,"Error":...}`. */
export function reloadCommand(
  reload: (() => Promise<{ ok: true } | { ok: false; error: string }>) | null,
): ControlCommand {
  return {
    name: "reload",
    async run() {
      if (!reload) {
        return {
          kind: "reply",
          value: {
            Error: "no configuration file was provided, reload function not set ERRORCODE 4",
            Success: false,
          },
        };
      }
      const r = await reload();
      return {
        kind: "reply",
        value: r.ok ? { Success: true } : { Error: r.error, Success: false },
      };
    },
  };
}
