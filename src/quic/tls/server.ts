/**
 * TLS 1.3 server state machine for QUIC (RFC 8446 §4, RFC 9001 §4): ClientHello negotiation
 * (HelloRetryRequest when no usable key share was sent), the server flight, optional client
 * certificate verification and the client Finished.
 * @module
 */
import { Alert, fail } from "./errors.ts";
import {
  checkServerName,
  decodeAlpn,
  decodeClientShares,
  decodeClientVersions,
  decodeU16List,
  encodeAlpn,
  encodeServerShare,
  encodeU16,
  encodeU16List,
  Ext,
  type KeyShareEntry,
  TLS13,
} from "./extensions.ts";
import { generateKeyPair, GROUP_CODES } from "./key_exchange.ts";
import { finishedVerifyData, KeySchedule } from "./key_schedule.ts";
import { Machine, unexpected } from "./machine.ts";
import {
  type ClientHello,
  decodeCertificate,
  decodeClientHello,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeServerHello,
  HandshakeType as HT,
  HRR_RANDOM,
} from "./messages.ts";
import {
  certificateVerifyContent,
  chooseScheme,
  signContent,
  SUPPORTED_SCHEMES,
} from "./signatures.ts";
import {
  CIPHER_SUITES,
  type CipherSuiteInfo,
  type EncryptionLevel,
  type KeyShareGroup,
  type TlsServerOptions,
} from "./types.ts";
import type { KeyObject } from "node:crypto";
import { concatBytes } from "../../util/bytes.ts";

type ServerState =
  | "wait_ch"
  | "wait_ch_after_hrr"
  | "wait_cert"
  | "wait_cv"
  | "wait_finished"
  | "done";

/** What {@link ServerMachine} took from a ClientHello it accepted. */
interface HelloOffer {
  suiteCode: number;
  scheme: number;
  clientGroups: number[];
  shares: KeyShareEntry[];
  alpn: string;
  tp: Uint8Array;
}

/** The server side of the handshake. */
export class ServerMachine extends Machine {
  protected state: ServerState = "wait_ch";
  protected readonly peerIsServer = false;
  private hrr?: { suite: number; group: number };
  private clientHs: Uint8Array = new Uint8Array(0);
  private clientAppSecret: Uint8Array = new Uint8Array(0);

  /** Creates a server machine. */
  constructor(private readonly sopts: TlsServerOptions) {
    super(sopts);
  }

  /** Level of the next expected client message. */
  get readLevel(): EncryptionLevel {
    if (this.state === "done") return "application";
    return (["wait_ch", "wait_ch_after_hrr"] as string[]).includes(this.state)
      ? "initial"
      : "handshake";
  }

  /** Servers wait for the ClientHello; nothing to do. */
  start(): void {}

  private get wantsClientCert(): boolean {
    return !!(this.sopts.requestClientCertificate || this.sopts.requireClientCertificate);
  }

  /** Processes one client message. */
  handleMessage(level: EncryptionLevel, type: number, body: Uint8Array, raw: Uint8Array): void {
    switch (this.state) {
      case "wait_ch":
      case "wait_ch_after_hrr":
        if (type !== HT.clientHello) return unexpected(type, this.state, level);
        return this.onClientHello(decodeClientHello(body), raw);
      case "wait_cert":
      case "wait_cv":
        return this.receivePeerAuth(level, type, body, raw);
      case "wait_finished":
        if (type !== HT.finished) return unexpected(type, this.state, level);
        return this.onFinished(body);
      default:
        return unexpected(type, this.state, level);
    }
  }

  private onClientHello(ch: ClientHello, raw: Uint8Array): void {
    const chain = this.opts.certificateChain ?? [];
    const key = this.opts.privateKey;
    if (!chain.length || !key) fail(Alert.internalError, "server has no certificate or key");

    const offer = this.checkClientHello(ch, key);
    const { suiteCode, shares } = offer;
    // Key share: use a share the client sent for a group we support (our preference among
    // those); otherwise ask for our most preferred group the client supports (HRR).
    const ours = this.groups().map((g) => ({ name: g, code: GROUP_CODES[g] }));
    let share: KeyShareEntry | undefined;
    let shareName: (typeof ours)[number]["name"] | undefined;
    for (const g of ours) {
      const s = shares.find((e) => e.group === g.code);
      if (s) {
        share = s;
        shareName = g.name;
        break;
      }
    }
    if (this.hrr) {
      if (suiteCode !== this.hrr.suite) {
        fail(Alert.illegalParameter, "ClientHello after HRR: cipher suite choice changed");
      }
      if (!share || share.group !== this.hrr.group || shares.length !== 1) {
        fail(Alert.illegalParameter, "ClientHello after HRR: no single key share for the group");
      }
      if (ch.extensions.has(Ext.earlyData)) {
        fail(Alert.illegalParameter, "ClientHello after HRR: early_data present");
      }
    }
    const suite = CIPHER_SUITES.get(suiteCode)!;
    if (!share || !shareName) {
      const want = ours.find((g) => offer.clientGroups.includes(g.code));
      if (!want) fail(Alert.handshakeFailure, "ClientHello: no common key exchange group");
      return this.sendHelloRetry(ch, raw, suite, want.code);
    }

    this.sendServerFlight(ch, raw, suite, offer, { share, group: shareName }, chain, key);
  }

  /**
   * Checks a ClientHello (RFC 8446 §4.1.2, RFC 9001 §8) and picks what we can: cipher suite,
   * signature scheme for `key`, ALPN; returns those with the client's groups, key shares and
   * transport parameters. Fails with the alert that names the first problem.
   */
  private checkClientHello(ch: ClientHello, key: KeyObject): HelloOffer {
    // RFC 9001 §8.4: no middlebox compatibility mode in QUIC.
    if (ch.sessionId.length !== 0) {
      fail(
        Alert.illegalParameter,
        "ClientHello: non-empty legacy_session_id (not allowed in QUIC)",
      );
    }
    if (ch.compression.length !== 1 || ch.compression[0] !== 0) {
      fail(Alert.illegalParameter, "ClientHello: compression methods must be exactly [null]");
    }
    const sv = ch.extensions.get(Ext.supportedVersions);
    if (!sv || !decodeClientVersions(sv).includes(TLS13)) {
      fail(Alert.protocolVersion, "ClientHello: TLS 1.3 not offered in supported_versions");
    }
    const suiteCode = this.suites().find((s) => ch.cipherSuites.includes(s));
    if (suiteCode === undefined) {
      fail(Alert.handshakeFailure, "ClientHello: no common cipher suite");
    }
    const sa = ch.extensions.get(Ext.signatureAlgorithms);
    if (!sa) fail(Alert.missingExtension, "ClientHello: no signature_algorithms");
    const scheme = chooseScheme(key, decodeU16List(sa, "signature_algorithms"));
    if (scheme === undefined) {
      fail(Alert.handshakeFailure, "ClientHello: no signature scheme usable with our key");
    }
    const sgRaw = ch.extensions.get(Ext.supportedGroups);
    const ksRaw = ch.extensions.get(Ext.keyShare);
    if (!sgRaw) fail(Alert.missingExtension, "ClientHello: no supported_groups");
    if (!ksRaw) fail(Alert.missingExtension, "ClientHello: no key_share");
    const clientGroups = decodeU16List(sgRaw, "supported_groups");
    const shares = decodeClientShares(ksRaw);
    const sn = ch.extensions.get(Ext.serverName);
    if (sn) checkServerName(sn);
    const alpnRaw = ch.extensions.get(Ext.alpn);
    if (!alpnRaw) fail(Alert.noApplicationProtocol, "ClientHello: no ALPN extension");
    const offered = decodeAlpn(alpnRaw);
    const alpn = this.opts.alpn.find((p) => offered.includes(p));
    if (alpn === undefined) {
      fail(
        Alert.noApplicationProtocol,
        `ClientHello: none of ALPN ${offered.join(",")} is acceptable`,
      );
    }
    const tp = ch.extensions.get(Ext.quicTransportParameters);
    if (!tp) fail(Alert.missingExtension, "ClientHello: no quic_transport_parameters");

    return { suiteCode, scheme, clientGroups, shares, alpn, tp };
  }

  /**
   * The full handshake's reply: ServerHello at Initial level, then EncryptedExtensions,
   * CertificateRequest (when client certificates are wanted), Certificate, CertificateVerify
   * and Finished at Handshake level, installing the keys as they become known.
   */
  private sendServerFlight(
    ch: ClientHello,
    raw: Uint8Array,
    suite: CipherSuiteInfo,
    offer: HelloOffer,
    chosen: { share: KeyShareEntry; group: KeyShareGroup },
    chain: Uint8Array[],
    key: KeyObject,
  ): void {
    const { alpn, tp, scheme } = offer;
    const shareName = chosen.group;
    const share = chosen.share;
    this.suite = suite;
    this.alpn = alpn;
    this.peerTransportParameters = tp.slice();
    const pair = generateKeyPair(shareName);
    const shared = pair.agree(share.key);
    this.transcript.add(raw);
    const sh = encodeServerHello(this.random(32), ch.sessionId, suite.code, [
      [Ext.supportedVersions, encodeU16(TLS13)],
      [Ext.keyShare, encodeServerShare({ group: pair.group, key: pair.publicKey })],
    ]);
    this.send("initial", this.message(HT.serverHello, sh));
    const schedule = new KeySchedule(suite.hash);
    const hs = schedule.handshake(shared, this.transcript.hash(suite.hash));
    this.clientHs = hs.clientHandshakeTraffic;
    this.secret("handshake", "write", hs.serverHandshakeTraffic);
    this.secret("handshake", "read", hs.clientHandshakeTraffic);

    const flight: Uint8Array[] = [];
    flight.push(this.message(
      HT.encryptedExtensions,
      encodeEncryptedExtensions([
        [Ext.alpn, encodeAlpn([alpn])],
        [Ext.quicTransportParameters, this.opts.transportParameters],
      ]),
    ));
    if (this.wantsClientCert) {
      flight.push(this.message(
        HT.certificateRequest,
        encodeCertificateRequest(new Uint8Array(0), [
          [Ext.signatureAlgorithms, encodeU16List(SUPPORTED_SCHEMES)],
        ]),
      ));
    }
    flight.push(this.message(HT.certificate, encodeCertificate(new Uint8Array(0), chain)));
    const content = certificateVerifyContent(true, this.transcript.hash(suite.hash));
    flight.push(this.message(
      HT.certificateVerify,
      encodeCertificateVerify(scheme, signContent(scheme, key, content)),
    ));
    const verify = finishedVerifyData(
      suite.hash,
      hs.serverHandshakeTraffic,
      this.transcript.hash(suite.hash),
    );
    flight.push(this.message(HT.finished, verify));
    this.send("handshake", concatBytes(...flight));
    const app = schedule.application(this.transcript.hash(suite.hash));
    this.clientAppSecret = app.clientApplicationTraffic;
    this.secret("application", "write", app.serverApplicationTraffic);
    this.state = this.wantsClientCert ? "wait_cert" : "wait_finished";
  }

  private sendHelloRetry(
    ch: ClientHello,
    raw: Uint8Array,
    suite: CipherSuiteInfo,
    group: number,
  ): void {
    if (this.hrr) fail(Alert.illegalParameter, "ClientHello after HRR still lacks a usable share");
    this.hrr = { suite: suite.code, group };
    this.transcript.add(raw);
    this.transcript.replaceWithMessageHash(suite.hash);
    const hrr = encodeServerHello(HRR_RANDOM, ch.sessionId, suite.code, [
      [Ext.supportedVersions, encodeU16(TLS13)],
      [Ext.keyShare, encodeU16(group)],
    ]);
    this.send("initial", this.message(HT.serverHello, hrr));
    this.state = "wait_ch_after_hrr";
  }

  protected onCertificate(body: Uint8Array): void {
    const msg = decodeCertificate(body);
    if (msg.context.length !== 0) {
      fail(Alert.illegalParameter, "client Certificate: context does not match the request");
    }
    if (msg.certificates.length === 0) {
      if (this.sopts.requireClientCertificate) {
        fail(Alert.certificateRequired, "client sent no certificate but one is required");
      }
      this.state = "wait_finished";
      return;
    }
    this.acceptPeerChain(msg.certificates, "client Certificate");
    this.state = "wait_cv";
  }

  private onFinished(body: Uint8Array): void {
    const hash = this.suite!.hash;
    const expected = finishedVerifyData(hash, this.clientHs, this.transcript.hash(hash));
    this.checkFinished(body, expected, "client Finished");
    this.secret("application", "read", this.clientAppSecret);
    this.state = "done";
    this.finish();
  }
}
