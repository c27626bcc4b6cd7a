/**
 * Starts and stops a node's backend sections (tcp-listener, tcp-peer, udp-listener, udp-peer,
 * ws-listener, ws-peer, local-only). Kept separate so `reload` can restart exactly
 * the backends without touching anything else.
 * @module
 */
import type { Section } from "../config/types.ts";
import { type LinkSink, TcpListenerBackend, TcpPeerBackend } from "../mesh/backends/tcp.ts";
import type { StreamWrapper } from "../mesh/backends/tcp.ts";
import { UdpListenerBackend, UdpPeerBackend } from "../mesh/backends/udp.ts";
import type { Logger } from "../log.ts";
import { handshakeTimeoutMs, sectionConfigError } from "../config/validate.ts";
import { errorText } from "../util/error_text.ts";

/** A started backend. */
export interface RunningBackend {
  kind: string;
  /** Stop; a listener's promise resolves once its port is free again. */
  close(): void | Promise<void>;
  /** Bound port for listeners. */
  port?: number;
}

/** Looks up named TLS configs as stream wrappers for backends. */
export interface TlsWrappers {
  server(name: string): StreamWrapper;
  client(name: string): StreamWrapper;
}

/**
 * Start every backend section in order; on failure closes what was started and rethrows.
 * The websocket backends (and their crypto) are loaded only when a ws section is present.
 */
export async function startBackends(
  sections: readonly Section[],
  sink: LinkSink,
  logger: Logger,
  tls: TlsWrappers | null,
): Promise<RunningBackend[]> {
  const ws = sections.some((s) => s.kind === "ws-listener" || s.kind === "ws-peer")
    ? await import("../mesh/backends/websocket.ts")
    : null;
  const started: RunningBackend[] = [];
  const wrapper = (name: string, side: "server" | "client") => {
    if (!name) return undefined;
    if (!tls) throw new Error(`unknown TLS config ${name}`);
    return side === "server" ? tls.server(name) : tls.client(name);
  };
  // What every backend takes from its section (listeners also take `nodecost`).
  const link = (s: { cost: number; allowedpeers: string[] | null }) => ({
    cost: s.cost,
    allowedPeers: s.allowedpeers,
    logger,
  });
  let current: Section | undefined;
  try {
    for (const s of sections) {
      current = s;
      switch (s.kind) {
        case "tcp-listener": {
          const b = TcpListenerBackend.start({
            bindaddr: s.bindaddr,
            port: s.port,
            nodeCost: s.nodecost,
            ...link(s),
            wrapper: wrapper(s.tls, "server"),
            maxUnauthenticated: s.maxunauthenticated,
            handshakeTimeoutMs: handshakeTimeoutMs(s),
          }, sink);
          started.push({ kind: s.kind, close: () => b.close(), port: b.port });
          break;
        }
        case "tcp-peer": {
          const b = TcpPeerBackend.start({
            address: s.address,
            redial: s.redial,
            ...link(s),
            wrapper: wrapper(s.tls, "client"),
          }, sink);
          started.push({ kind: s.kind, close: () => b.close() });
          break;
        }
        case "local-only":
          started.push({ kind: s.kind, close: () => {} });
          break;
        case "udp-listener": {
          const b = UdpListenerBackend.start({
            bindaddr: s.bindaddr,
            port: s.port,
            nodeCost: s.nodecost,
            ...link(s),
            maxUnauthenticated: s.maxunauthenticated,
            handshakeTimeoutMs: handshakeTimeoutMs(s),
          }, sink);
          started.push({ kind: s.kind, close: () => b.close(), port: b.port });
          break;
        }
        case "udp-peer": {
          const b = UdpPeerBackend.start({
            address: s.address,
            redial: s.redial,
            ...link(s),
          }, sink);
          started.push({ kind: s.kind, close: () => b.close() });
          break;
        }
        case "ws-listener": {
          const b = ws!.WsListenerBackend.start({
            bindaddr: s.bindaddr,
            port: s.port,
            path: s.path,
            nodeCost: s.nodecost,
            ...link(s),
            wrapper: wrapper(s.tls, "server"),
            maxUnauthenticated: s.maxunauthenticated,
            handshakeTimeoutMs: handshakeTimeoutMs(s),
          }, sink);
          started.push({ kind: s.kind, close: () => b.close(), port: b.port });
          break;
        }
        case "ws-peer": {
          // wss:// without `tls`: a tls-client named "default" if defined, else system roots.
          let w = wrapper(s.tls, "client");
          if (!w && /^wss:/i.test(s.address) && tls) {
            try {
              w = tls.client("default");
            } catch { /* no "default": platform TLS */ }
          }
          const b = ws!.WsPeerBackend.start({
            address: s.address,
            redial: s.redial,
            extraheader: s.extraheader,
            ...link(s),
            wrapper: w,
          }, sink);
          started.push({ kind: s.kind, close: () => b.close() });
          break;
        }
      }
    }
  } catch (e) {
    for (const b of started) b.close();
    throw current ? locateBindError(current, e) : e;
  }
  return started;
}

/** A listener that cannot bind names its file, section and port (`port: 4000`). */
function locateBindError(s: Section, e: unknown): unknown {
  if (s.kind !== "tcp-listener" && s.kind !== "ws-listener" && s.kind !== "udp-listener") return e;
  const proto = s.kind === "udp-listener" ? "udp" : "tcp";
  const what = e instanceof Deno.errors.AddrInUse ? "bind: address already in use" : errorText(e);
  return sectionConfigError(s, `listen ${proto} ${s.bindaddr}:${s.port}: ${what}`, "port", s.port);
}
