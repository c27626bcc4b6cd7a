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
  const ctx: BackendContext = { sink, logger, tls, ws };
  const started: RunningBackend[] = [];
  let current: Section | undefined;
  try {
    for (const s of sections) {
      current = s;
      const b = startListener(s, ctx) ?? startPeer(s, ctx);
      if (b) started.push(b);
    }
  } catch (e) {
    for (const b of started) b.close();
    throw current ? locateBindError(current, e) : e;
  }
  return started;
}

/** What starting one backend section needs. */
interface BackendContext {
  sink: LinkSink;
  logger: Logger;
  tls: TlsWrappers | null;
  /** The websocket backends, loaded only when a ws section is present. */
  ws: typeof import("../mesh/backends/websocket.ts") | null;
}

function wrapper(ctx: BackendContext, name: string, side: "server" | "client") {
  if (!name) return undefined;
  if (!ctx.tls) throw new Error(`unknown TLS config ${name}`);
  return side === "server" ? ctx.tls.server(name) : ctx.tls.client(name);
}

/** What every backend takes from its section (listeners also take `nodecost`). */
function link(ctx: BackendContext, s: { cost: number; allowedpeers: string[] | null }) {
  return { cost: s.cost, allowedPeers: s.allowedpeers, logger: ctx.logger };
}

/** Starts a listener section (tcp, udp, ws) or `local-only`; undefined for any other kind. */
/** The options every listener kind shares: address, cost, link policy, pre-handshake limits. */
function listening(
  ctx: BackendContext,
  s: Extract<Section, { kind: "tcp-listener" | "udp-listener" | "ws-listener" }>,
) {
  return {
    bindaddr: s.bindaddr,
    port: s.port,
    nodeCost: s.nodecost,
    ...link(ctx, s),
    maxUnauthenticated: s.maxunauthenticated,
    handshakeTimeoutMs: handshakeTimeoutMs(s),
  };
}

function startListener(s: Section, ctx: BackendContext): RunningBackend | undefined {
  const { sink } = ctx;
  switch (s.kind) {
    case "tcp-listener": {
      const b = TcpListenerBackend.start({
        ...listening(ctx, s),
        wrapper: wrapper(ctx, s.tls, "server"),
      }, sink);
      return { kind: s.kind, close: () => b.close(), port: b.port };
    }
    case "local-only":
      return { kind: s.kind, close: () => {} };
    case "udp-listener": {
      const b = UdpListenerBackend.start(listening(ctx, s), sink);
      return { kind: s.kind, close: () => b.close(), port: b.port };
    }
    case "ws-listener": {
      const b = ctx.ws!.WsListenerBackend.start({
        ...listening(ctx, s),
        path: s.path,
        wrapper: wrapper(ctx, s.tls, "server"),
      }, sink);
      return { kind: s.kind, close: () => b.close(), port: b.port };
    }
  }
  return undefined;
}

/** Starts a peer section (tcp, udp, ws); undefined for any other kind. */
function startPeer(s: Section, ctx: BackendContext): RunningBackend | undefined {
  const { sink, tls } = ctx;
  switch (s.kind) {
    case "tcp-peer": {
      const b = TcpPeerBackend.start({
        address: s.address,
        redial: s.redial,
        ...link(ctx, s),
        wrapper: wrapper(ctx, s.tls, "client"),
      }, sink);
      return { kind: s.kind, close: () => b.close() };
    }
    case "udp-peer": {
      const b = UdpPeerBackend.start(
        { address: s.address, redial: s.redial, ...link(ctx, s) },
        sink,
      );
      return { kind: s.kind, close: () => b.close() };
    }
    case "ws-peer": {
      // wss:// without `tls`: a tls-client named "default" if defined, else system roots.
      let w = wrapper(ctx, s.tls, "client");
      if (!w && /^wss:/i.test(s.address) && tls) {
        try {
          w = tls.client("default");
        } catch { /* no "default": platform TLS */ }
      }
      const b = ctx.ws!.WsPeerBackend.start({
        address: s.address,
        redial: s.redial,
        extraheader: s.extraheader,
        ...link(ctx, s),
        wrapper: w,
      }, sink);
      return { kind: s.kind, close: () => b.close() };
    }
  }
  return undefined;
}

/** A listener that cannot bind names its file, section and port (`port: 4000`). */
function locateBindError(s: Section, e: unknown): unknown {
  if (s.kind !== "tcp-listener" && s.kind !== "ws-listener" && s.kind !== "udp-listener") return e;
  const proto = s.kind === "udp-listener" ? "udp" : "tcp";
  const what = e instanceof Deno.errors.AddrInUse ? "bind: address already in use" : errorText(e);
  return sectionConfigError(s, `listen ${proto} ${s.bindaddr}:${s.port}: ${what}`, "port", s.port);
}
