/**
 * Shared state of the client and server handshake state machines: the event queue, the
 * transcript, the negotiated suite and helpers for certificate handling common to both roles.
 * @module
 */
import { randomBytes, timingSafeEqual, X509Certificate } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { Alert, fail } from "./errors.ts";
import { Transcript } from "./key_schedule.ts";
import { decodeCertificateVerify, frame, HandshakeType as HT } from "./messages.ts";
import { certificateVerifyContent, verifyContent } from "./signatures.ts";
import {
  CIPHER_SUITES,
  type CipherSuiteInfo,
  type EncryptionLevel,
  type KeyShareGroup,
  type TlsClientOptions,
  type TlsEvent,
  type TlsServerOptions,
} from "./types.ts";
import { DEFAULT_GROUPS } from "./key_exchange.ts";

/** Base of ClientMachine and ServerMachine; TlsHandshake drives it with whole messages. */
export abstract class Machine {
  /** Pending events for the caller. */
  readonly events: TlsEvent[] = [];
  /** Handshake transcript. */
  protected readonly transcript = new Transcript();
  /** Negotiated cipher suite once known. */
  suite?: CipherSuiteInfo;
  /** Negotiated ALPN protocol once known. */
  alpn?: string;
  /** Peer transport parameters once received. */
  peerTransportParameters?: Uint8Array;
  /** Peer certificate chain (DER, leaf first) once received. */
  peerCertificates: Uint8Array[] = [];
  /** True once the handshake completed. */
  complete = false;
  private peerKey?: KeyObject;
  /** Current handshake state; each side declares its own set, sharing the peer-auth states. */
  protected abstract state: string;
  /** This side is the client, so the peer authenticates as a server. */
  protected abstract readonly peerIsServer: boolean;

  /** Creates the machine for the given options. */
  constructor(protected readonly opts: TlsClientOptions | TlsServerOptions) {}

  /** The encryption level at which the next peer message is expected. */
  abstract get readLevel(): EncryptionLevel;

  /** Called once by TlsHandshake.start(). */
  abstract start(): void;

  /** Processes one whole handshake message (`raw` includes the 4-byte header). */
  abstract handleMessage(
    level: EncryptionLevel,
    type: number,
    body: Uint8Array,
    raw: Uint8Array,
  ): void;

  /** Random bytes from the injected source or node:crypto. */
  protected random(n: number): Uint8Array {
    const r = this.opts.random ? this.opts.random(n) : new Uint8Array(randomBytes(n));
    if (r.length !== n) throw new Error(`random(${n}) returned ${r.length} bytes`);
    return r;
  }

  /** Configured key-exchange groups. */
  protected groups(): KeyShareGroup[] {
    return this.opts.keyShareGroups?.length ? this.opts.keyShareGroups : DEFAULT_GROUPS;
  }

  /** Configured cipher suites (known ones only), in preference order. */
  protected suites(): number[] {
    const list = (this.opts.cipherSuites ?? [0x1301, 0x1302, 0x1303]).filter((c) =>
      CIPHER_SUITES.has(c)
    );
    return list.length ? list : [0x1301, 0x1302, 0x1303];
  }

  /** Frames a message, appends it to the transcript and returns the bytes. */
  protected message(type: number, body: Uint8Array): Uint8Array {
    const m = frame(type, body);
    this.transcript.add(m);
    return m;
  }

  /** Queues a "send" event. */
  protected send(level: EncryptionLevel, data: Uint8Array): void {
    this.events.push({ kind: "send", level, data });
  }

  /** Queues a "secret" event with the negotiated suite. */
  protected secret(
    level: "handshake" | "application",
    direction: "read" | "write",
    secret: Uint8Array,
  ): void {
    this.events.push({ kind: "secret", level, direction, suite: this.suite!, secret });
  }

  /** Queues the "complete" event. */
  protected finish(): void {
    this.complete = true;
    this.events.push({
      kind: "complete",
      alpn: this.alpn ?? "",
      peerTransportParameters: this.peerTransportParameters ?? new Uint8Array(0),
      peerCertificates: this.peerCertificates,
    });
  }

  /**
   * Accepts a non-empty peer chain: parses the leaf (bad_certificate if it is not X.509) and runs
   * the caller's verifyPeer (bad_certificate with its reason on rejection).
   */
  protected acceptPeerChain(chain: Uint8Array[], where: string): void {
    try {
      this.peerKey = new X509Certificate(chain[0]).publicKey;
    } catch (e) {
      fail(Alert.badCertificate, `${where}: leaf certificate does not parse: ${String(e)}`);
    }
    if (this.opts.verifyPeer) {
      let verdict: string | null;
      try {
        verdict = this.opts.verifyPeer(chain);
      } catch (e) {
        verdict = `verifyPeer threw: ${String(e)}`;
      }
      if (verdict !== null) fail(Alert.badCertificate, `${where}: peer rejected: ${verdict}`);
    }
    this.peerCertificates = chain;
  }

  /** Public key of the peer's leaf certificate (after acceptPeerChain). */
  protected get peerPublicKey(): KeyObject {
    if (!this.peerKey) throw new Error("peer public key requested before its certificate");
    return this.peerKey;
  }

  /**
   * The peer's Certificate (state `wait_cert`, handed to {@link onCertificate}) and its
   * CertificateVerify (state `wait_cv`), which both sides receive alike. CertificateVerify is
   * checked over the transcript so far (RFC 8446 §4.4.3) with the key of the chain accepted by
   * {@link acceptPeerChain}, then added to the transcript; next comes `wait_finished`.
   */
  protected receivePeerAuth(
    level: EncryptionLevel,
    type: number,
    body: Uint8Array,
    raw: Uint8Array,
  ): void {
    if (this.state === "wait_cert") {
      if (type !== HT.certificate) return unexpected(type, this.state, level);
      this.transcript.add(raw);
      return this.onCertificate(body);
    }
    if (type !== HT.certificateVerify) return unexpected(type, this.state, level);
    const cv = decodeCertificateVerify(body);
    const hash = this.transcript.hash(this.suite!.hash);
    const content = certificateVerifyContent(this.peerIsServer, hash);
    verifyContent(cv.scheme, this.peerPublicKey, content, cv.signature);
    this.transcript.add(raw);
    this.state = "wait_finished";
  }

  /** Handles the peer's Certificate message (already in the transcript). */
  protected abstract onCertificate(body: Uint8Array): void;

  /** Checks a Finished verify_data; wrong length is decode_error, mismatch decrypt_error. */
  protected checkFinished(body: Uint8Array, expected: Uint8Array, where: string): void {
    if (body.length !== expected.length) {
      fail(Alert.decodeError, `${where}: verify_data of ${body.length} bytes`);
    }
    if (!timingSafeEqual(body, expected)) {
      fail(Alert.decryptError, `${where}: verify_data mismatch`);
    }
  }
}

/** Raises unexpected_message for a message that is not valid in the current state. */
export function unexpected(type: number, state: string, level: EncryptionLevel): never {
  fail(
    Alert.unexpectedMessage,
    `unexpected handshake message type ${type} at ${level} level in state ${state}`,
  );
}
