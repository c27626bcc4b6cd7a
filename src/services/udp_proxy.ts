/**
 * UDP proxies over mesh datagrams (config.md §3.9, wire.md §11): `udp-server` binds a local
 * UDP port and, per UDP source address, an ephemeral mesh endpoint that sends to
 * `remotenode`/`remoteservice` and relays replies back; `udp-client` binds mesh service
 * `service` (ConnType 0 ad, type `UDP Proxy`) and, per mesh source, a local UDP socket that
 * talks to `address`. Datagrams are relayed one for one, never merged or split.
 * @module
 */
import type { UdpClientSection, UdpServerSection } from "../config/types.ts";
import type { DatagramEndpoint } from "../mesh/mesh_node.ts";
import {
  checkRemoteService,
  resolveNode,
  type RunningService,
  type ServiceDeps,
  ServiceStartError,
} from "./common.ts";
import { splitHostPort } from "./tcp_proxy.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";
import type { Logger } from "../log.ts";

/** Relay state for one peer: closed when the service stops or the peer is idle too long. */
interface Relay {
  close(): void;
  lastUsed: number;
}

/** Relays idle this long are dropped (Go keeps them forever; we bound the table). */
const RELAY_IDLE_MS = 10 * 60_000;

function sweepIdle(relays: Map<string, Relay>): ReturnType<typeof setInterval> {
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [k, r] of relays) {
      if (now - r.lastUsed > RELAY_IDLE_MS) {
        r.close();
        relays.delete(k);
      }
    }
  }, 60_000);
  Deno.unrefTimer(timer as unknown as number);
  return timer;
}

function listenUdp(hostname: string, port: number): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname, port });
}

/** Start a `udp-server`: local UDP `bindaddr:port` ⇄ `remotenode`/`remoteservice`. */
export function startUdpServer(s: UdpServerSection, deps: ServiceDeps): RunningService {
  const { logger, mesh } = deps;
  checkRemoteService(s.remoteservice);
  const hostname = s.bindaddr || "0.0.0.0";
  let udp: Deno.DatagramConn;
  try {
    udp = listenUdp(hostname, s.port);
  } catch (e) {
    throw new ServiceStartError(`error listening on UDP: ${errorText(e)}`);
  }
  const target = resolveNode(mesh, s.remotenode);
  const relays = new Map<string, Relay & { ep: DatagramEndpoint }>();
  const sweeper = sweepIdle(relays);
  let closed = false;

  const relayFor = (addr: Deno.NetAddr): Relay & { ep: DatagramEndpoint } => {
    const key = `${addr.hostname}:${addr.port}`;
    let r = relays.get(key);
    if (r) return r;
    const ep = mesh.listen();
    const relay = { ep, lastUsed: Date.now(), close: () => ep.close() };
    relays.set(key, relay);
    logger.debug(`Received new UDP connection from ${key}`);
    (async () => {
      for (;;) {
        const d = await ep.receive();
        if (!d) return;
        if (d.fromNode !== target || d.fromService !== s.remoteservice) {
          logger.debug(`Received packet from unexpected source ${d.fromNode}:${d.fromService}`);
          continue;
        }
        relay.lastUsed = Date.now();
        try {
          await udp.send(d.payload, addr);
        } catch (e) {
          if (closed) return;
          logger.error(`Error sending packet via UDP: ${errorText(e)}`);
        }
      }
    })();
    r = relay;
    return r;
  };

  receiveAll(udp, logger, () => !closed, (data, addr) => {
    const relay = relayFor(addr);
    relay.lastUsed = Date.now();
    try {
      relay.ep.send(target, s.remoteservice, data);
    } catch (e) {
      logger.error(`Error sending packet on Receptor network: ${errorText(e)}`);
    }
  });
  const port = (udp.addr as Deno.NetAddr).port;
  logger.debug(`udp-server listening on ${hostname}:${port} for ${target}:${s.remoteservice}`);
  return {
    description: `udp-server ${hostname}:${port} → ${s.remotenode}/${s.remoteservice}`,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      closeQuietly(udp);
      for (const r of relays.values()) r.close();
      relays.clear();
    },
  };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A udp-client's local UDP socket for one mesh sender. */
type ClientRelay = Relay & { udp: Deno.DatagramConn };

/** What a running udp-client's relays share. */
interface UdpClientState {
  /** The `address` the client sends to (for log lines). */
  address: string;
  ep: DatagramEndpoint;
  /** One relay per mesh sender, keyed `node:service`. */
  relays: Map<string, ClientRelay>;
  logger: Logger;
  /** Wildcard address of the target's family, where relay sockets bind. */
  bindHost: string;
  /** Whether a reply comes from the target. */
  fromTarget: (a: Deno.NetAddr) => boolean;
  closed: boolean;
}

/** Start a `udp-client`: mesh datagram service `service` ⇄ UDP `address`. */
export function startUdpClient(s: UdpClientSection, deps: ServiceDeps): RunningService {
  const { logger, mesh } = deps;
  const { hostname, port } = splitHostPort(s.address);
  const dest: Deno.NetAddr = { transport: "udp", hostname, port };
  let ep: DatagramEndpoint;
  try {
    ep = mesh.listen(s.service);
  } catch (e) {
    throw new ServiceStartError(
      `error listening on service ${s.service}: ${errorText(e)}`,
    );
  }
  mesh.advertise(s.service, 0, { type: "UDP Proxy", address: s.address });
  const st: UdpClientState = {
    address: s.address,
    ep,
    relays: new Map(),
    logger,
    bindHost: hostname.includes(":") ? "::" : "0.0.0.0",
    fromTarget: replyFilter(hostname, port),
    closed: false,
  };
  const sweeper = sweepIdle(st.relays);
  forwardMeshToUdp(st, dest);
  logger.debug(`udp-client: mesh service ${s.service} → UDP ${s.address}`);
  return {
    description: `udp-client ${s.service} → ${s.address}`,
    close() {
      if (st.closed) return;
      st.closed = true;
      clearInterval(sweeper);
      try {
        mesh.unadvertise(s.service);
      } catch { /* not advertised */ }
      ep.close();
      for (const r of st.relays.values()) r.close();
      st.relays.clear();
    },
  };
}

/**
 * Replies are accepted only from the target (as from Go's connected UDP socket); a DNS name
 * cannot be compared with the source address, so then only the port is checked.
 */
function replyFilter(hostname: string, port: number): (a: Deno.NetAddr) => boolean {
  const literal = IPV4.test(hostname) || hostname.includes(":");
  return (a) => a.port === port && (!literal || a.hostname === hostname);
}

/** Sends each datagram the mesh service receives to `dest` from its sender's relay socket. */
function forwardMeshToUdp(st: UdpClientState, dest: Deno.NetAddr): void {
  const logger = st.logger;
  (async () => {
    for (;;) {
      const d = await st.ep.receive();
      if (!d) return;
      let relay;
      try {
        relay = clientRelayFor(st, d.fromNode, d.fromService);
      } catch (e) {
        logger.error(`Error connecting via UDP: ${errorText(e)}`);
        continue;
      }
      relay.lastUsed = Date.now();
      try {
        await relay.udp.send(d.payload, dest);
      } catch (e) {
        logger.error(`Error writing to UDP: ${errorText(e)}`);
      }
    }
  })();
}

/**
 * The relay socket for mesh sender `node`/`service`, opened on first use; what the target
 * sends back to it goes to that sender.
 */
function clientRelayFor(st: UdpClientState, node: string, service: string): ClientRelay {
  const key = `${node}:${service}`;
  const known = st.relays.get(key);
  if (known) return known;
  const udp = listenUdp(st.bindHost, 0);
  const relay = {
    udp,
    lastUsed: Date.now(),
    close: () => {
      closeQuietly(udp);
    },
  };
  st.relays.set(key, relay);
  st.logger.debug(`Opened new UDP connection to ${st.address} for ${key}`);
  receiveAll(udp, st.logger, () => !st.closed && st.relays.get(key) === relay, (data, from) => {
    if (!st.fromTarget(from)) return;
    relay.lastUsed = Date.now();
    try {
      st.ep.send(node, service, data);
    } catch (e) {
      st.logger.error(`Error writing to the Receptor network: ${errorText(e)}`);
    }
  });
  return relay;
}

/**
 * Hands each datagram received on `udp` to `onDatagram` until receiving fails (the socket was
 * closed); the failure is logged only while `live()` says the socket is still wanted.
 */
function receiveAll(
  udp: Deno.DatagramConn,
  logger: Logger,
  live: () => boolean,
  onDatagram: (data: Uint8Array, from: Deno.NetAddr) => void,
): void {
  (async () => {
    for (;;) {
      let msg: [Uint8Array, Deno.Addr];
      try {
        msg = await udp.receive();
      } catch (e) {
        if (live()) logger.error(`Error reading from UDP: ${errorText(e)}`);
        return;
      }
      onDatagram(msg[0], msg[1] as Deno.NetAddr);
    }
  })();
}
