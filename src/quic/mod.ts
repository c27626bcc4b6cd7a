/**
 * Public surface of the QUIC v1 implementation: the sans-IO endpoint and connection, the async
 * driver with its datagram-transport seam, the UDP transport, configuration and errors.
 *
 * @example
 * ```ts
 * import { QuicDriver, QuicEndpoint, UdpTransport } from "./mod.ts";
 * const ep = new QuicEndpoint({ role: "client", tls: () => ({ role: "client", alpn: ["netceptor"] }) });
 * const driver = new QuicDriver(ep, UdpTransport.listen());
 * const conn = await driver.connect("127.0.0.1:4433");
 * const stream = await conn.openStream();
 * ```
 * @module
 */
export { type ConnectionOptions, type ConnectionState, QuicConnection } from "./connection.ts";
export type { ConnectionEvent } from "./connection_events.ts";
export {
  type EndpointEvent,
  type EndpointOptions,
  type EndpointTlsOptions,
  QuicEndpoint,
} from "./endpoint.ts";
export {
  type DatagramTransport,
  type QuicConnHandle,
  QuicDriver,
  type QuicStream,
} from "./driver.ts";
export { formatHostPort, parseHostPort, UdpTransport } from "./udp_transport.ts";
export {
  DEFAULT_TRANSPORT,
  type TlsFactory,
  type TlsSession,
  type TransportConfig,
} from "./config.ts";
export { cryptoError, QuicError, TransportError } from "./errors.ts";
