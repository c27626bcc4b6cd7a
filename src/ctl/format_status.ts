/**
 * Human-readable rendering of a `status` reply, laid out like receptorctl's, each table within
 * 80 columns (long cells wrap).
 * @module
 */

import { table } from "./table.ts";

const CONN_TYPES = ["Datagram", "Stream", "StreamTLS"];

/** Format a full status object for a terminal. */
export function formatStatus(s: Record<string, unknown>): string {
  let out = "";
  out += `Node ID: ${s.NodeID}\nVersion: ${s.Version}\n`;
  out += `System CPU Count: ${s.SystemCPUCount}\nSystem Memory MiB: ${s.SystemMemoryMiB}\n`;
  const conns = (s.Connections ?? []) as { NodeID: string; Cost: number }[];
  if (conns.length) {
    out += "\n" + table([["Connection", "Cost"], ...conns.map((c) => [c.NodeID, String(c.Cost)])]);
  }
  const known = (s.KnownConnectionCosts ?? {}) as Record<string, Record<string, number>>;
  const knownRows = Object.keys(known).sort().map((n) => [
    n,
    Object.entries(known[n]).map(([p, c]) => `${p}: ${c}`).join(", "),
  ]);
  if (knownRows.length) out += "\n" + table([["Known Node", "Known Connections"], ...knownRows]);
  const routes = (s.RoutingTable ?? {}) as Record<string, string>;
  const routeRows = Object.keys(routes).sort().map((n) => [n, routes[n]]);
  if (routeRows.length) out += "\n" + table([["Route", "Via"], ...routeRows]);
  const ads = (s.Advertisements ?? []) as {
    NodeID: string;
    Service: string;
    ConnType: number;
    Time: string;
    Tags: Record<string, string> | null;
    WorkCommands: { WorkType: string; Secure: boolean }[] | null;
  }[];
  if (ads.length) {
    out += "\n" + table([
      ["Node", "Service", "Type", "Last Seen", "Tags"],
      ...ads.map((a) => [
        a.NodeID,
        a.Service,
        CONN_TYPES[a.ConnType] ?? String(a.ConnType),
        a.Time,
        a.Tags ? JSON.stringify(a.Tags) : "",
      ]),
    ]);
    const work = ads.filter((a) => a.WorkCommands && a.WorkCommands.length);
    if (work.length) {
      out += "\n" + table([
        ["Node", "Work Types"],
        ...work.map((a) => [a.NodeID, a.WorkCommands!.map((w) => w.WorkType).join(", ")]),
      ]);
    }
  }
  return out;
}
