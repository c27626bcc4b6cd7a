/**
 * TLS 1.3 key schedule (RFC 8446 §7.1) without PSK, the transcript hash (§4.4.1, including the
 * HelloRetryRequest message_hash substitution) and Finished verify_data (§4.4.4).
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { hashLength, type HashName, hkdfExpandLabel, hkdfExtract } from "../hkdf.ts";
import { concatBytes } from "../../util/bytes.ts";

/** Hash of `data` with `hash`. */
export function digest(hash: HashName, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}

/** Derive-Secret(secret, label, transcriptHash) = HKDF-Expand-Label(secret, label, hash, Hash.length). */
export function deriveSecret(
  hash: HashName,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, hashLength(hash));
}

/** finished_key = HKDF-Expand-Label(baseKey, "finished", "", Hash.length). */
export function finishedKey(hash: HashName, baseKey: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, baseKey, "finished", new Uint8Array(0), hashLength(hash));
}

/** Finished verify_data = HMAC(finished_key, transcriptHash). */
export function finishedVerifyData(
  hash: HashName,
  baseKey: Uint8Array,
  transcriptHash: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    createHmac(hash, finishedKey(hash, baseKey)).update(transcriptHash).digest(),
  );
}

/** Handshake-stage secrets. */
export interface HandshakeSecrets {
  /** Handshake Secret. */
  handshakeSecret: Uint8Array;
  /** client_handshake_traffic_secret. */
  clientHandshakeTraffic: Uint8Array;
  /** server_handshake_traffic_secret. */
  serverHandshakeTraffic: Uint8Array;
}

/** Application-stage secrets. */
export interface ApplicationSecrets {
  /** Master Secret. */
  masterSecret: Uint8Array;
  /** client_application_traffic_secret_0. */
  clientApplicationTraffic: Uint8Array;
  /** server_application_traffic_secret_0. */
  serverApplicationTraffic: Uint8Array;
  /** exporter_master_secret. */
  exporterMaster: Uint8Array;
}

/** The non-PSK TLS 1.3 key schedule for one hash function. */
export class KeySchedule {
  /** Early Secret = HKDF-Extract(0, 0). */
  readonly earlySecret: Uint8Array;
  private handshakeSecret?: Uint8Array;

  /** Starts the schedule for `hash`. */
  constructor(readonly hash: HashName) {
    this.earlySecret = hkdfExtract(hash, new Uint8Array(0), new Uint8Array(hashLength(hash)));
  }

  private emptyHash(): Uint8Array {
    return digest(this.hash, new Uint8Array(0));
  }

  /** Mixes in the (EC)DHE shared secret; `helloHash` = Transcript-Hash(ClientHello..ServerHello). */
  handshake(sharedSecret: Uint8Array, helloHash: Uint8Array): HandshakeSecrets {
    const derived = deriveSecret(this.hash, this.earlySecret, "derived", this.emptyHash());
    const hs = hkdfExtract(this.hash, derived, sharedSecret);
    this.handshakeSecret = hs;
    return {
      handshakeSecret: hs,
      clientHandshakeTraffic: deriveSecret(this.hash, hs, "c hs traffic", helloHash),
      serverHandshakeTraffic: deriveSecret(this.hash, hs, "s hs traffic", helloHash),
    };
  }

  /** Derives the application secrets; `serverFinishedHash` = Transcript-Hash(ClientHello..server Finished). */
  application(serverFinishedHash: Uint8Array): ApplicationSecrets {
    if (!this.handshakeSecret) throw new Error("KeySchedule.application before handshake()");
    const derived = deriveSecret(this.hash, this.handshakeSecret, "derived", this.emptyHash());
    const ms = hkdfExtract(this.hash, derived, new Uint8Array(hashLength(this.hash)));
    return {
      masterSecret: ms,
      clientApplicationTraffic: deriveSecret(this.hash, ms, "c ap traffic", serverFinishedHash),
      serverApplicationTraffic: deriveSecret(this.hash, ms, "s ap traffic", serverFinishedHash),
      exporterMaster: deriveSecret(this.hash, ms, "exp master", serverFinishedHash),
    };
  }
}

/**
 * Handshake transcript. Messages are kept raw because the hash is only known once the cipher
 * suite is chosen; `restartAfterHelloRetry` replaces ClientHello1 by the synthetic message_hash.
 */
export class Transcript {
  private messages: Uint8Array[] = [];

  /** Appends one whole handshake message (header included). */
  add(message: Uint8Array): void {
    this.messages.push(message);
  }

  /** Transcript-Hash of everything added so far. */
  hash(hash: HashName): Uint8Array {
    const h = createHash(hash);
    for (const m of this.messages) h.update(m);
    return new Uint8Array(h.digest());
  }

  /**
   * RFC 8446 §4.4.1: when the server answers with HelloRetryRequest, ClientHello1 (the only message
   * so far) is replaced by message_hash(254) || uint24(Hash.length) || Hash(ClientHello1).
   */
  replaceWithMessageHash(hash: HashName): void {
    const h = this.hash(hash);
    this.messages = [concatBytes(new Uint8Array([254, 0, 0, h.length]), h)];
  }
}
