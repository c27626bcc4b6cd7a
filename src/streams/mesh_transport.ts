/**
 * Carries QUIC datagrams over mesh datagrams (wire.md §12.2): a {@link DatagramTransport}
 * whose remote addresses are `node:service` strings, bound to one mesh endpoint. Local send
 * errors (no route to node, ...) are reported through `onSendError`; the stream layer ends the
 * affected connection, as Go's quic-go does on a write error.
 * @module
 */
import type { DatagramEndpoint, MeshNode } from "../mesh/mesh_node.ts";
import type { UnreachableNotice } from "../mesh/router.ts";
import { errorText } from "../util/error_text.ts";
import type { DatagramTransport } from "../quic/driver.ts";

/** Split `node:service` at the first `:` (as Go does). */
export function splitMeshAddress(remote: string): { node: string; service: string } {
  const i = remote.indexOf(":");
  if (i < 0) throw new Error(`invalid mesh address ${remote}`);
  return { node: remote.slice(0, i), service: remote.slice(i + 1) };
}

/** A QUIC datagram transport over one bound mesh service. */
export class MeshDatagramTransport implements DatagramTransport {
  readonly endpoint: DatagramEndpoint;
  readonly nodeId: string;
  /** The mesh encodes each datagram into a new message before send() returns. */
  readonly copiesOnSend = true;
  #unreachable: ((n: UnreachableNotice) => void) | undefined;
  #sendError: ((remote: string, message: string) => void) | undefined;

  /**
   * Binds `service` (ephemeral if omitted) on `mesh`, or takes `bound`, an endpoint the caller
   * bound already (a listener that held datagrams while the stream layer loaded).
   */
  constructor(mesh: MeshNode, service?: string, bound?: DatagramEndpoint) {
    this.endpoint = bound ?? mesh.listen(service);
    this.nodeId = mesh.nodeId;
    this.endpoint.onUnreachable = (n) => this.#unreachable?.(n);
  }

  /** The bound service name (ephemeral for dialers). */
  get service(): string {
    return this.endpoint.service;
  }

  /** Receive unreachable notices about datagrams we sent. */
  onUnreachable(cb: (n: UnreachableNotice) => void): void {
    this.#unreachable = cb;
  }

  /**
   * Be told when a datagram cannot leave this node (e.g. `no route to node`). Go's quic-go
   * destroys a connection on such a write error (its send queue returns it), so a dial to an
   * unroutable node fails at once and a connection to a node that went away ends at its next
   * send instead of at the idle timeout.
   */
  onSendError(cb: (remote: string, message: string) => void): void {
    this.#sendError = cb;
  }

  send(remote: string, data: Uint8Array): void {
    const { node, service } = splitMeshAddress(remote);
    try {
      this.endpoint.send(node, service, data);
    } catch (e) {
      // A local "service unknown" (target on this node) ends a dial like the remote notice;
      // anything else (no route yet, next hop gone) is a lost packet to QUIC.
      if (e instanceof Error && e.message === "service unknown") {
        this.#unreachable?.({
          FromNode: this.nodeId,
          ToNode: node,
          FromService: this.service,
          ToService: service,
          Problem: "service unknown",
          ReceivedFromNode: this.nodeId,
        });
      } else {
        this.#sendError?.(remote, errorText(e));
      }
    }
  }

  /** Push mode (see the QUIC driver): datagrams go to `cb` as the mesh delivers them. */
  setReceiver(cb: (remote: string, data: Uint8Array) => void): void {
    let lastNode = "", lastService = "", lastRemote = "";
    this.endpoint.onDatagram = (d) => {
      if (d.fromNode !== lastNode || d.fromService !== lastService) {
        lastNode = d.fromNode;
        lastService = d.fromService;
        lastRemote = `${lastNode}:${lastService}`;
      }
      cb(lastRemote, d.payload);
    };
  }

  async receive(): Promise<{ remote: string; data: Uint8Array } | null> {
    const d = await this.endpoint.receive();
    if (!d) return null;
    return { remote: `${d.fromNode}:${d.fromService}`, data: d.payload };
  }

  close(): void {
    this.endpoint.close();
  }
}
