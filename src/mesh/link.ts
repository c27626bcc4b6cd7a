/**
 * The seam between link transports (backends) and the mesh: a link moves whole netceptor
 * messages (type byte + body) between two adjacent nodes. Framing lives in the backend.
 * @module
 */

/** Static facts a backend knows about a link when it hands it to the mesh. */
export interface LinkOptions {
  /** Connection cost for this backend (default 1.0). */
  cost: number;
  /** Per-peer cost overrides (listeners only). */
  nodeCost?: Record<string, number>;
  /** If non-null, only these node IDs may connect over this link (empty list = nobody). */
  allowedPeers?: string[] | null;
  /** Human description for logs, e.g. `tcp 127.0.0.1:4444`. */
  description: string;
  /**
   * Node ID proven by the transport (e.g. node-ID SAN of a verified TLS certificate).
   * When set, the peer must announce one of these IDs or the link is rejected.
   */
  verifiedNodeIds?: string[];
}

/** One backend session: a bidirectional carrier of netceptor messages. */
export interface Link {
  readonly options: LinkOptions;
  /** Send one message (never empty). Errors close the link; never throws. */
  send(message: Uint8Array): void;
  /**
   * Optional: send `head` followed by `tail` as one message, copying both before returning
   * (so `tail` may be a buffer the caller reuses at once).
   */
  sendParts?(head: Uint8Array, tail: Uint8Array): void;
  /**
   * Optional: bytes handed to `send` but not yet written. The mesh holds flooded messages
   * back while it is high, so they queue (coalesced) in the mesh instead of in the link.
   */
  backlog?(): number;
  /** Close the transport; `onClose` then fires once. */
  close(): void;
  /** Set by the mesh: called for every received message. */
  onMessage: (message: Uint8Array) => void;
  /**
   * True if every message given to `onMessage` is a fresh array the link never touches again,
   * so the mesh may keep it and modify it (relaying then needs no copy).
   */
  readonly freshMessages?: boolean;
  /** Set by the mesh: called once when the transport ends for any reason. */
  onClose: (reason: string) => void;
  /**
   * Optional: called by the mesh once, when the peer has completed the handshake (the router
   * accepted its node ID). Until then a backend keeps the session cheap and may time it out.
   */
  established?(): void;
}
