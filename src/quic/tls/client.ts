/**
 * TLS 1.3 client state machine for QUIC (RFC 8446 §4, RFC 9001 §4): ClientHello (with one
 * HelloRetryRequest round if needed), server flight verification, optional client certificate,
 * Finished, and the traffic secrets in the order QUIC installs them.
 * @module
 */
import { Alert, fail } from "./errors.ts";
import {
  checkServerName,
  decodeAlpn,
  decodeCookie,
  decodeServerShare,
  decodeU16,
  decodeU16List,
  encodeAlpn,
  encodeClientShares,
  encodeClientVersions,
  encodeCookie,
  encodeServerName,
  encodeU16List,
  Ext,
  type ExtensionList,
  TLS13,
} from "./extensions.ts";
import { generateKeyPair, GROUP_CODES, groupName, type KeyPair } from "./key_exchange.ts";
import { finishedVerifyData, KeySchedule } from "./key_schedule.ts";
import { Machine, unexpected } from "./machine.ts";
import {
  decodeCertificate,
  decodeCertificateRequest,
  decodeEncryptedExtensions,
  decodeServerHello,
  encodeCertificate,
  encodeCertificateVerify,
  encodeClientHello,
  HandshakeType as HT,
  type ServerHello,
} from "./messages.ts";
import {
  CERT_SCHEMES,
  certificateVerifyContent,
  chooseScheme,
  signContent,
  SUPPORTED_SCHEMES,
} from "./signatures.ts";
import { CIPHER_SUITES, type EncryptionLevel, type TlsClientOptions } from "./types.ts";
import { concatBytes } from "../../util/bytes.ts";

type ClientState =
  | "start"
  | "wait_sh"
  | "wait_sh_after_hrr"
  | "wait_ee"
  | "wait_cert_cr"
  | "wait_cert"
  | "wait_cv"
  | "wait_finished"
  | "done";

/** Extensions that must never appear in EncryptedExtensions (RFC 8446 §4.2 table). */
const FORBIDDEN_IN_EE: number[] = [
  Ext.signatureAlgorithms,
  Ext.preSharedKey,
  Ext.supportedVersions,
  Ext.cookie,
  Ext.pskKeyExchangeModes,
  Ext.certificateAuthorities,
  Ext.signatureAlgorithmsCert,
  Ext.keyShare,
];

/** The client side of the handshake. */
export class ClientMachine extends Machine {
  protected state: ClientState = "start";
  protected readonly peerIsServer = true;
  private clientRandom: Uint8Array = new Uint8Array(32);
  private keyPairs: KeyPair[] = [];
  private cookie?: Uint8Array;
  private hrrSuite?: number;
  private schedule?: KeySchedule;
  private clientHs: Uint8Array = new Uint8Array(0);
  private serverHs: Uint8Array = new Uint8Array(0);
  private certRequest?: { context: Uint8Array; schemes: number[] };

  /** Creates a client machine. */
  constructor(private readonly copts: TlsClientOptions) {
    super(copts);
  }

  /** Level of the next expected server message. */
  get readLevel(): EncryptionLevel {
    if (this.state === "done") return "application";
    return (["start", "wait_sh", "wait_sh_after_hrr"] as string[]).includes(this.state)
      ? "initial"
      : "handshake";
  }

  /** Sends the first ClientHello at the initial level. */
  start(): void {
    if (this.state !== "start") return;
    this.clientRandom = this.random(32);
    const groups = this.groups();
    const n = Math.max(1, Math.min(groups.length, this.copts.initialKeyShares ?? 2));
    this.keyPairs = groups.slice(0, n).map((g) => generateKeyPair(g));
    this.send("initial", this.message(HT.clientHello, this.helloBody()));
    this.state = "wait_sh";
  }

  private helloBody(): Uint8Array {
    const exts: ExtensionList = [];
    if (this.copts.serverName) exts.push([Ext.serverName, encodeServerName(this.copts.serverName)]);
    exts.push([Ext.supportedGroups, encodeU16List(this.groups().map((g) => GROUP_CODES[g]))]);
    exts.push([Ext.signatureAlgorithms, encodeU16List(SUPPORTED_SCHEMES)]);
    exts.push([Ext.signatureAlgorithmsCert, encodeU16List(CERT_SCHEMES)]);
    if (this.opts.alpn.length) exts.push([Ext.alpn, encodeAlpn(this.opts.alpn)]);
    exts.push([Ext.supportedVersions, encodeClientVersions()]);
    exts.push([
      Ext.keyShare,
      encodeClientShares(this.keyPairs.map((k) => ({ group: k.group, key: k.publicKey }))),
    ]);
    if (this.cookie) exts.push([Ext.cookie, encodeCookie(this.cookie)]);
    exts.push([Ext.quicTransportParameters, this.opts.transportParameters]);
    return encodeClientHello(this.clientRandom, this.suites(), exts);
  }

  /** Processes one server message. */
  handleMessage(level: EncryptionLevel, type: number, body: Uint8Array, raw: Uint8Array): void {
    switch (this.state) {
      case "wait_sh":
      case "wait_sh_after_hrr":
        if (type !== HT.serverHello) return unexpected(type, this.state, level);
        return this.onServerHello(decodeServerHello(body), raw);
      case "wait_ee":
        if (type !== HT.encryptedExtensions) return unexpected(type, this.state, level);
        this.transcript.add(raw);
        return this.onEncryptedExtensions(decodeEncryptedExtensions(body));
      case "wait_cert_cr":
        if (type === HT.certificateRequest) {
          this.transcript.add(raw);
          return this.onCertificateRequest(body);
        }
        if (type !== HT.certificate) return unexpected(type, this.state, level);
        this.transcript.add(raw);
        return this.onCertificate(body);
      case "wait_cert":
      case "wait_cv":
        return this.receivePeerAuth(level, type, body, raw);
      case "wait_finished":
        if (type !== HT.finished) return unexpected(type, this.state, level);
        return this.onFinished(body, raw);
      case "done":
        // Session tickets are not used (no resumption, no 0-RTT): ignore them.
        if (type === HT.newSessionTicket) return;
        return unexpected(type, this.state, level);
      default:
        return unexpected(type, this.state, level);
    }
  }

  private checkCommonHello(sh: ServerHello, what: string): void {
    if (sh.sessionId.length !== 0) {
      fail(
        Alert.illegalParameter,
        `${what}: legacy_session_id_echo does not match (ours is empty)`,
      );
    }
    if (sh.compression !== 0) fail(Alert.illegalParameter, `${what}: compression method not 0`);
    const sv = sh.extensions.get(Ext.supportedVersions);
    if (!sv) fail(Alert.protocolVersion, `${what}: no supported_versions (server is not TLS 1.3)`);
    const version = decodeU16(sv, `${what} supported_versions`);
    if (version !== TLS13) {
      fail(Alert.illegalParameter, `${what}: selected version 0x${version.toString(16)}`);
    }
    if (!this.suites().includes(sh.cipherSuite)) {
      fail(
        Alert.illegalParameter,
        `${what}: cipher suite 0x${sh.cipherSuite.toString(16)} not offered`,
      );
    }
  }

  private onServerHello(sh: ServerHello, raw: Uint8Array): void {
    if (sh.isHelloRetry) return this.onHelloRetry(sh, raw);
    this.checkCommonHello(sh, "ServerHello");
    if (this.hrrSuite !== undefined && sh.cipherSuite !== this.hrrSuite) {
      fail(Alert.illegalParameter, "ServerHello: cipher suite differs from HelloRetryRequest");
    }
    for (const type of sh.extensions.keys()) {
      if (type !== Ext.supportedVersions && type !== Ext.keyShare) {
        fail(Alert.unsupportedExtension, `ServerHello: unexpected extension ${type}`);
      }
    }
    const ks = sh.extensions.get(Ext.keyShare);
    if (!ks) fail(Alert.missingExtension, "ServerHello: no key_share");
    const share = decodeServerShare(ks);
    const pair = this.keyPairs.find((k) => k.group === share.group);
    if (!pair) {
      fail(Alert.illegalParameter, `ServerHello: key_share group ${share.group} was not offered`);
    }
    const shared = pair.agree(share.key);
    this.suite = CIPHER_SUITES.get(sh.cipherSuite)!;
    this.transcript.add(raw);
    this.schedule = new KeySchedule(this.suite.hash);
    const hs = this.schedule.handshake(shared, this.transcript.hash(this.suite.hash));
    this.clientHs = hs.clientHandshakeTraffic;
    this.serverHs = hs.serverHandshakeTraffic;
    this.secret("handshake", "read", this.serverHs);
    this.secret("handshake", "write", this.clientHs);
    this.state = "wait_ee";
  }

  private onHelloRetry(hrr: ServerHello, raw: Uint8Array): void {
    if (this.state !== "wait_sh") {
      fail(Alert.unexpectedMessage, "second HelloRetryRequest");
    }
    this.checkCommonHello(hrr, "HelloRetryRequest");
    for (const type of hrr.extensions.keys()) {
      if (type !== Ext.supportedVersions && type !== Ext.keyShare && type !== Ext.cookie) {
        fail(Alert.unsupportedExtension, `HelloRetryRequest: unexpected extension ${type}`);
      }
    }
    const ks = hrr.extensions.get(Ext.keyShare);
    const ck = hrr.extensions.get(Ext.cookie);
    if (!ks && !ck) {
      fail(Alert.illegalParameter, "HelloRetryRequest: would not change the ClientHello");
    }
    if (ks) {
      const group = decodeU16(ks, "HelloRetryRequest key_share");
      const name = groupName(group);
      if (!name || !this.groups().includes(name)) {
        fail(Alert.illegalParameter, `HelloRetryRequest: group ${group} was not offered`);
      }
      if (this.keyPairs.some((k) => k.group === group)) {
        fail(Alert.illegalParameter, `HelloRetryRequest: group ${group} already had a key share`);
      }
      this.keyPairs = [generateKeyPair(name)];
    }
    if (ck) this.cookie = decodeCookie(ck);
    this.hrrSuite = hrr.cipherSuite;
    const hash = CIPHER_SUITES.get(hrr.cipherSuite)!.hash;
    this.transcript.replaceWithMessageHash(hash);
    this.transcript.add(raw);
    this.send("initial", this.message(HT.clientHello, this.helloBody()));
    this.state = "wait_sh_after_hrr";
  }

  private onEncryptedExtensions(exts: Map<number, Uint8Array>): void {
    for (const type of exts.keys()) {
      if (FORBIDDEN_IN_EE.includes(type)) {
        fail(Alert.illegalParameter, `EncryptedExtensions: extension ${type} not allowed there`);
      }
      if (type === Ext.earlyData) {
        fail(Alert.unsupportedExtension, "EncryptedExtensions: early_data was not offered");
      }
    }
    const sn = exts.get(Ext.serverName);
    if (sn) checkServerName(sn);
    const alpn = exts.get(Ext.alpn);
    if (!alpn) fail(Alert.noApplicationProtocol, "EncryptedExtensions: server selected no ALPN");
    const chosen = decodeAlpn(alpn);
    if (chosen.length !== 1 || !this.opts.alpn.includes(chosen[0])) {
      fail(Alert.illegalParameter, `EncryptedExtensions: ALPN ${chosen.join(",")} not offered`);
    }
    this.alpn = chosen[0];
    const tp = exts.get(Ext.quicTransportParameters);
    if (!tp) fail(Alert.missingExtension, "EncryptedExtensions: no quic_transport_parameters");
    this.peerTransportParameters = tp.slice();
    this.state = "wait_cert_cr";
  }

  private onCertificateRequest(body: Uint8Array): void {
    const cr = decodeCertificateRequest(body);
    if (cr.context.length !== 0) {
      fail(Alert.illegalParameter, "CertificateRequest: non-empty context during the handshake");
    }
    const sa = cr.extensions.get(Ext.signatureAlgorithms);
    if (!sa) fail(Alert.missingExtension, "CertificateRequest: no signature_algorithms");
    this.certRequest = {
      context: cr.context.slice(),
      schemes: decodeU16List(sa, "signature_algorithms"),
    };
    this.state = "wait_cert";
  }

  protected onCertificate(body: Uint8Array): void {
    const msg = decodeCertificate(body);
    if (msg.context.length !== 0) {
      fail(Alert.illegalParameter, "server Certificate: non-empty certificate_request_context");
    }
    if (msg.certificates.length === 0) fail(Alert.decodeError, "server Certificate: empty chain");
    this.acceptPeerChain(msg.certificates, "server Certificate");
    this.state = "wait_cv";
  }

  private onFinished(body: Uint8Array, raw: Uint8Array): void {
    const hash = this.suite!.hash;
    const expected = finishedVerifyData(hash, this.serverHs, this.transcript.hash(hash));
    this.checkFinished(body, expected, "server Finished");
    this.transcript.add(raw);
    const app = this.schedule!.application(this.transcript.hash(hash));
    const flight: Uint8Array[] = [];
    if (this.certRequest) flight.push(...this.clientCertificateFlight(this.certRequest));
    const verify = finishedVerifyData(hash, this.clientHs, this.transcript.hash(hash));
    flight.push(this.message(HT.finished, verify));
    this.send("handshake", concatBytes(...flight));
    this.secret("application", "read", app.serverApplicationTraffic);
    this.secret("application", "write", app.clientApplicationTraffic);
    this.state = "done";
    this.finish();
  }

  private clientCertificateFlight(cr: { context: Uint8Array; schemes: number[] }): Uint8Array[] {
    const chain = this.opts.certificateChain ?? [];
    const key = this.opts.privateKey;
    const scheme = key && chain.length ? chooseScheme(key, cr.schemes) : undefined;
    if (!key || scheme === undefined) {
      // No certificate, or none the server can verify: send an empty Certificate and let the
      // server decide (certificate_required if it insists).
      return [this.message(HT.certificate, encodeCertificate(cr.context, []))];
    }
    const out = [this.message(HT.certificate, encodeCertificate(cr.context, chain))];
    const content = certificateVerifyContent(false, this.transcript.hash(this.suite!.hash));
    const sig = signContent(scheme, key, content);
    out.push(this.message(HT.certificateVerify, encodeCertificateVerify(scheme, sig)));
    return out;
  }
}
