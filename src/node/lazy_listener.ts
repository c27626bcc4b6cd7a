/**
 * A mesh stream listener whose QUIC/TLS layer loads only when the first datagram for it
 * arrives. Until then the service is bound and advertised like any listener, and nothing of
 * src/streams or src/quic (nor Node's crypto layer, ≈6 MiB RSS on an idle node) is loaded.
 * Datagrams that arrive while the layer loads are held (bounded: {@link PENDING_LIMITS}, one
 * log line when the bound drops some; QUIC retransmits what was dropped) and handed to the
 * real listener, in order, once it is up.
 * @module
 */
import type { Datagram, DatagramEndpoint, MeshNode } from "../mesh/mesh_node.ts";
import type { MeshStreamConn, StreamListener } from "../streams/stream_service.ts";
import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";

/**
 * Most datagrams / bytes held for one listener while its stream layer loads (tens of ms). A
 * QUIC client's first flight is one or two datagrams; 64 covers many clients dialing at
 * once, and 1 MiB bounds what a flood can pin.
 */
export const PENDING_LIMITS = { datagrams: 64, bytes: 1024 * 1024 };

/** What the lazy listener needs loaded: the real listener for a bound endpoint. */
export type ListenerFactory = (endpoint: DatagramEndpoint) => Promise<StreamListener>;

/** A bound, advertised stream service whose QUIC listener starts on the first datagram. */
export class LazyStreamListener {
  readonly service: string;
  #mesh: MeshNode;
  #endpoint: DatagramEndpoint;
  #logger: Logger;
  #factory: ListenerFactory;
  #onConnection: (conn: MeshStreamConn) => void;
  #pending: Datagram[] = [];
  #pendingBytes = 0;
  #dropped = 0;
  #inner: StreamListener | null = null;
  #loading = false;
  #closed = false;

  /**
   * Bind `service` and advertise it with `connType` and `tags`; `factory` builds the real
   * listener (loading QUIC) on the first datagram; each accepted connection goes to
   * `onConnection`. Throws if the name is taken or reserved.
   */
  constructor(
    mesh: MeshNode,
    service: string,
    opts: {
      logger: Logger;
      connType: 1 | 2;
      tags: Record<string, string> | null;
      factory: ListenerFactory;
      onConnection: (conn: MeshStreamConn) => void;
    },
  ) {
    this.#mesh = mesh;
    this.#logger = opts.logger;
    this.#factory = opts.factory;
    this.#onConnection = opts.onConnection;
    this.#endpoint = mesh.listen(service);
    this.service = this.#endpoint.service;
    this.#endpoint.onDatagram = (d) => this.#hold(d);
    mesh.advertise(this.service, opts.connType, opts.tags);
  }

  /** Whether the real (QUIC) listener is up. */
  get loaded(): boolean {
    return this.#inner !== null;
  }

  #hold(d: Datagram): void {
    const n = d.payload.byteLength;
    if (
      this.#pending.length >= PENDING_LIMITS.datagrams ||
      this.#pendingBytes + n > PENDING_LIMITS.bytes
    ) {
      if (this.#dropped++ === 0) {
        this.#logger.warning(
          `stream listener ${this.service}: ${PENDING_LIMITS.datagrams} datagrams or ` +
            `${PENDING_LIMITS.bytes} bytes held while QUIC loads; dropping more (peers retransmit)`,
        );
      }
      return;
    }
    // a payload relayed without a copy is a view of a link's read buffer: do not pin it
    const p = d.payload;
    this.#pending.push(p.byteLength === p.buffer.byteLength ? d : { ...d, payload: p.slice() });
    this.#pendingBytes += n;
    if (!this.#loading) {
      this.#loading = true;
      void this.#load();
    }
  }

  async #load(): Promise<void> {
    let inner: StreamListener;
    try {
      inner = await this.#factory(this.#endpoint);
    } catch (e) {
      this.#logger.error(`stream listener ${this.service}: cannot start: ${errorText(e)}`);
      this.close();
      return;
    }
    if (this.#closed) return inner.close();
    this.#inner = inner;
    // the transport replaced onDatagram: replay what was held, in arrival order
    const held = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const d of held) this.#endpoint.onDatagram?.(d);
    this.#logger.debug(
      `stream listener ${this.service}: QUIC up, ${held.length} held datagrams handed over` +
        (this.#dropped ? `, ${this.#dropped} dropped` : ""),
    );
    void this.#acceptLoop(inner);
  }

  async #acceptLoop(inner: StreamListener): Promise<void> {
    while (true) {
      const c = await inner.accept();
      if (!c) return;
      this.#onConnection(c);
    }
  }

  /** Stop listening: withdraw the advertisement and unbind (closing the QUIC listener if up). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    if (this.#inner) return this.#inner.close();
    try {
      this.#mesh.unadvertise(this.service);
    } catch { /* not advertised */ }
    this.#endpoint.close();
  }
}
