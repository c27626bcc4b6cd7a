/**
 * In-memory handshakes between our TLS 1.3 client and server (no QUIC, no sockets): every "send"
 * event is pumped into the peer's handleCrypto at the same level. Covers RSA/ECDSA/Ed25519 server
 * certificates, all three cipher suites, secret agreement and ordering, ALPN and transport
 * parameters, client certificates, verifyPeer, HelloRetryRequest (including a Go-style
 * post-quantum/P-521 ClientHello), 1-byte fragmentation and malformed input.
 */
import { hex } from "../helpers/data.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { TlsHandshake } from "../../src/quic/tls/handshake.ts";
import type {
  EncryptionLevel,
  TlsClientOptions,
  TlsEvent,
  TlsServerOptions,
} from "../../src/quic/tls/types.ts";
import { testCerts, type TestIdentity } from "./tls13_certs.ts";
import { encodeClientHello, frame } from "../../src/quic/tls/messages.ts";
import {
  decodeU16,
  encodeAlpn,
  encodeClientShares,
  encodeClientVersions,
  encodeU16List,
  Ext,
  type ExtensionList,
} from "../../src/quic/tls/extensions.ts";
import { decodeServerHello } from "../../src/quic/tls/messages.ts";
import { generateKeyPair } from "../../src/quic/tls/key_exchange.ts";

const CLIENT_TP = new Uint8Array([1, 2, 3, 4]);
const SERVER_TP = new Uint8Array([9, 8, 7]);

function clientOpts(extra: Partial<TlsClientOptions> = {}): TlsClientOptions {
  return { role: "client", alpn: ["netceptor"], transportParameters: CLIENT_TP, ...extra };
}

function serverOpts(id: TestIdentity, extra: Partial<TlsServerOptions> = {}): TlsServerOptions {
  return {
    role: "server",
    alpn: ["netceptor"],
    transportParameters: SERVER_TP,
    certificateChain: id.chain,
    privateKey: id.key,
    ...extra,
  };
}

interface Side {
  tls: TlsHandshake;
  /** Every event polled from this side, in order. */
  events: TlsEvent[];
}

/**
 * Runs both sides until neither produces events. `chunk` splits every delivery into pieces of
 * that many bytes. `tamper` may rewrite bytes in flight.
 */
function pump(
  clientOptions: TlsClientOptions,
  serverOptions: TlsServerOptions,
  chunk = 0,
  tamper?: (from: "client" | "server", level: EncryptionLevel, data: Uint8Array) => Uint8Array,
): { client: Side; server: Side } {
  const client: Side = { tls: new TlsHandshake(clientOptions), events: [] };
  const server: Side = { tls: new TlsHandshake(serverOptions), events: [] };
  client.tls.start();
  server.tls.start();
  let progress = true;
  for (let round = 0; progress && round < 50; round++) {
    progress = false;
    for (
      const [from, to, name] of [[client, server, "client"], [server, client, "server"]] as const
    ) {
      let ev: TlsEvent | undefined;
      while ((ev = from.tls.poll()) !== undefined) {
        progress = true;
        from.events.push(ev);
        if (ev.kind !== "send") continue;
        const data = tamper ? tamper(name, ev.level, ev.data) : ev.data;
        if (chunk > 0) {
          for (let i = 0; i < data.length; i += chunk) {
            to.tls.handleCrypto(ev.level, data.subarray(i, i + chunk));
          }
        } else {
          to.tls.handleCrypto(ev.level, data);
        }
      }
    }
  }
  return { client, server };
}

function secrets(side: Side): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of side.events) {
    if (e.kind === "secret") m.set(`${e.level}/${e.direction}`, hex(e.secret));
  }
  return m;
}

function errorOf(side: Side): { alert: number; reason: string } | undefined {
  const e = side.events.find((x) => x.kind === "error");
  return e?.kind === "error" ? { alert: e.alert, reason: e.reason } : undefined;
}

function completeOf(side: Side) {
  const e = side.events.find((x) => x.kind === "complete");
  return e?.kind === "complete" ? e : undefined;
}

function assertSuccess(r: { client: Side; server: Side }): void {
  assertEquals(errorOf(r.client), undefined, "client error");
  assertEquals(errorOf(r.server), undefined, "server error");
  assert(r.client.tls.complete, "client complete");
  assert(r.server.tls.complete, "server complete");
  const c = secrets(r.client);
  const s = secrets(r.server);
  assertEquals(c.size, 4);
  assertEquals(s.size, 4);
  assertEquals(c.get("handshake/write"), s.get("handshake/read"));
  assertEquals(c.get("handshake/read"), s.get("handshake/write"));
  assertEquals(c.get("application/write"), s.get("application/read"));
  assertEquals(c.get("application/read"), s.get("application/write"));
  assert(c.get("handshake/write") !== c.get("handshake/read"), "directions differ");
  const cc = completeOf(r.client)!;
  const sc = completeOf(r.server)!;
  assertEquals(cc.alpn, "netceptor");
  assertEquals(sc.alpn, "netceptor");
  assertEquals(r.client.tls.alpn, "netceptor");
  assertEquals(hex(cc.peerTransportParameters), hex(SERVER_TP));
  assertEquals(hex(sc.peerTransportParameters), hex(CLIENT_TP));
}

Deno.test("tls13: completes with RSA, ECDSA P-256/P-384/P-521 and Ed25519 server certificates", async () => {
  const certs = await testCerts();
  for (const id of [certs.rsa, certs.p256, certs.p384, certs.p521, certs.ed25519]) {
    let seen: Uint8Array[] = [];
    const r = pump(
      clientOpts({ verifyPeer: (chain) => (seen = chain, null) }),
      serverOpts(id),
    );
    assertSuccess(r);
    assertEquals(seen.length, 2);
    assertEquals(hex(seen[0]), hex(id.chain[0]));
    const cc = completeOf(r.client)!;
    assertEquals(cc.peerCertificates.map(hex), id.chain.map(hex));
    assertEquals(completeOf(r.server)!.peerCertificates.length, 0);
  }
});

Deno.test("tls13: event order matches what QUIC installs (RFC 9001 §4.1)", async () => {
  const certs = await testCerts();
  const r = pump(clientOpts(), serverOpts(certs.p256));
  assertSuccess(r);
  const tag = (e: TlsEvent) =>
    e.kind === "send"
      ? `send:${e.level}`
      : e.kind === "secret"
      ? `secret:${e.level}:${e.direction}`
      : e.kind;
  assertEquals(r.server.events.map(tag), [
    "send:initial",
    "secret:handshake:write",
    "secret:handshake:read",
    "send:handshake",
    "secret:application:write",
    "secret:application:read",
    "complete",
  ]);
  assertEquals(r.client.events.map(tag), [
    "send:initial",
    "secret:handshake:read",
    "secret:handshake:write",
    "send:handshake",
    "secret:application:read",
    "secret:application:write",
    "complete",
  ]);
  // The engine's default suite preference is TLS_AES_128_GCM_SHA256.
  const ev = r.client.events.find((e) => e.kind === "secret");
  assertEquals(ev?.kind === "secret" ? ev.suite.name : "", "TLS_AES_128_GCM_SHA256");
});

Deno.test("tls13: every cipher suite negotiates with the right hash length", async () => {
  const certs = await testCerts();
  for (
    const [code, len] of [[0x1301, 32], [0x1302, 48], [0x1303, 32]] as const
  ) {
    const r = pump(clientOpts({ cipherSuites: [code] }), serverOpts(certs.p256));
    assertSuccess(r);
    assertEquals(r.server.tls.cipherSuite?.code, code);
    const ev = r.client.events.find((e) => e.kind === "secret");
    assert(ev?.kind === "secret");
    assertEquals(ev.secret.length, len);
    assertEquals(ev.suite.code, code);
  }
  // Server preference wins when the client offers several.
  const r = pump(clientOpts({ cipherSuites: [0x1303, 0x1302, 0x1301] }), serverOpts(certs.p256));
  assertSuccess(r);
  assertEquals(r.client.tls.cipherSuite?.code, 0x1301);
  // No overlap: handshake_failure.
  const bad = pump(
    clientOpts({ cipherSuites: [0x1303] }),
    serverOpts(certs.p256, { cipherSuites: [0x1301] }),
  );
  assertEquals(errorOf(bad.server)?.alert, 40);
});

Deno.test("tls13: every key exchange group works", async () => {
  const certs = await testCerts();
  for (const g of ["x25519", "secp256r1", "secp384r1", "secp521r1"] as const) {
    const r = pump(clientOpts({ keyShareGroups: [g] }), serverOpts(certs.rsa));
    assertSuccess(r);
  }
});

Deno.test("tls13: 1-byte fragmented delivery in both directions", async () => {
  const certs = await testCerts();
  const r = pump(clientOpts(), serverOpts(certs.rsa, { requireClientCertificate: true }), 1);
  assertEquals(errorOf(r.server)?.alert, 116); // no client cert configured
  const r2 = pump(
    clientOpts({ certificateChain: certs.client.chain, privateKey: certs.client.key }),
    serverOpts(certs.rsa, { requireClientCertificate: true }),
    1,
  );
  assertSuccess(r2);
  const r3 = pump(clientOpts(), serverOpts(certs.ed25519), 7);
  assertSuccess(r3);
});

Deno.test("tls13: client certificates (requested, required, verified, missing)", async () => {
  const certs = await testCerts();
  // Required and provided: the server sees the chain.
  let seen: Uint8Array[] = [];
  const r = pump(
    clientOpts({ certificateChain: certs.client.chain, privateKey: certs.client.key }),
    serverOpts(certs.rsa, {
      requireClientCertificate: true,
      verifyPeer: (c) => (seen = c, null),
    }),
  );
  assertSuccess(r);
  assertEquals(seen.map(hex), certs.client.chain.map(hex));
  assertEquals(completeOf(r.server)!.peerCertificates.map(hex), certs.client.chain.map(hex));

  // Ed25519 and RSA client keys too.
  for (const id of [certs.ed25519, certs.rsa, certs.p384]) {
    const rr = pump(
      clientOpts({ certificateChain: id.chain, privateKey: id.key }),
      serverOpts(certs.p256, { requestClientCertificate: true }),
    );
    assertSuccess(rr);
    assertEquals(completeOf(rr.server)!.peerCertificates.length, 2);
  }

  // Requested but not provided: an empty Certificate is fine.
  const r2 = pump(clientOpts(), serverOpts(certs.rsa, { requestClientCertificate: true }));
  assertSuccess(r2);
  assertEquals(completeOf(r2.server)!.peerCertificates.length, 0);

  // Required but not provided: certificate_required (116) at the server.
  const r3 = pump(clientOpts(), serverOpts(certs.rsa, { requireClientCertificate: true }));
  assertEquals(errorOf(r3.server)?.alert, 116);
  assert(!r3.server.tls.complete);

  // Server's verifyPeer rejects the client chain: bad_certificate (42).
  const r4 = pump(
    clientOpts({ certificateChain: certs.client.chain, privateKey: certs.client.key }),
    serverOpts(certs.rsa, { requireClientCertificate: true, verifyPeer: () => "not in clientcas" }),
  );
  const e4 = errorOf(r4.server);
  assertEquals(e4?.alert, 42);
  assert(e4!.reason.includes("not in clientcas"), e4!.reason);
});

Deno.test("tls13: client verifyPeer rejection gives bad_certificate", async () => {
  const certs = await testCerts();
  const r = pump(
    clientOpts({ verifyPeer: () => "insecure connection to secure service" }),
    serverOpts(certs.p256),
  );
  const e = errorOf(r.client);
  assertEquals(e?.alert, 42);
  assert(e!.reason.includes("insecure connection"), e!.reason);
  assert(!r.client.tls.complete);
  assert(!r.server.tls.complete);
  // A verifyPeer that throws is a rejection too, not an exception out of handleCrypto.
  const r2 = pump(
    clientOpts({
      verifyPeer: () => {
        throw new Error("boom");
      },
    }),
    serverOpts(certs.p256),
  );
  assertEquals(errorOf(r2.client)?.alert, 42);
});

Deno.test("tls13: wrong ALPN is no_application_protocol (120)", async () => {
  const certs = await testCerts();
  const r = pump(clientOpts({ alpn: ["h3"] }), serverOpts(certs.p256));
  assertEquals(errorOf(r.server)?.alert, 120);
  const r2 = pump(clientOpts({ alpn: [] }), serverOpts(certs.p256));
  assertEquals(errorOf(r2.server)?.alert, 120);
  // Server chooses by its own preference among the client's offers.
  const r3 = pump(
    clientOpts({ alpn: ["h3", "netceptor"] }),
    serverOpts(certs.p256, { alpn: ["netceptor", "h3"] }),
  );
  assertSuccess(r3);
});

Deno.test("tls13: HelloRetryRequest when the client's first share is unsupported", async () => {
  const certs = await testCerts();
  const r = pump(
    clientOpts({ keyShareGroups: ["x25519", "secp256r1"], initialKeyShares: 1 }),
    serverOpts(certs.rsa, { keyShareGroups: ["secp256r1", "secp384r1"] }),
  );
  assertSuccess(r);
  const initialSends = (s: Side) =>
    s.events.filter((e) => e.kind === "send" && e.level === "initial").length;
  assertEquals(initialSends(r.client), 2); // ClientHello twice
  assertEquals(initialSends(r.server), 2); // HRR + ServerHello
  // Fragmented HRR exchange with client certificates.
  const r2 = pump(
    clientOpts({
      keyShareGroups: ["x25519", "secp384r1"],
      initialKeyShares: 1,
      certificateChain: certs.client.chain,
      privateKey: certs.client.key,
    }),
    serverOpts(certs.ed25519, { keyShareGroups: ["secp384r1"], requireClientCertificate: true }),
    3,
  );
  assertSuccess(r2);
  // No common group at all: handshake_failure.
  const r3 = pump(
    clientOpts({ keyShareGroups: ["x25519"] }),
    serverOpts(certs.rsa, { keyShareGroups: ["secp256r1"] }),
  );
  assertEquals(errorOf(r3.server)?.alert, 40);
});

function rawClientHello(opts: {
  groups: number[];
  shares: Array<{ group: number; key: Uint8Array }>;
  tp?: boolean;
  alpn?: string[];
  suites?: number[];
}): Uint8Array {
  const exts: ExtensionList = [
    [Ext.supportedGroups, encodeU16List(opts.groups)],
    [Ext.signatureAlgorithms, encodeU16List([0x0403, 0x0804, 0x0807])],
    [Ext.alpn, encodeAlpn(opts.alpn ?? ["netceptor"])],
    [Ext.supportedVersions, encodeClientVersions()],
    [Ext.keyShare, encodeClientShares(opts.shares)],
  ];
  if (opts.tp !== false) exts.push([Ext.quicTransportParameters, CLIENT_TP]);
  return frame(
    1,
    encodeClientHello(new Uint8Array(32).fill(7), opts.suites ?? [0x1301, 0x1302, 0x1303], exts),
  );
}

function firstEvent(tls: TlsHandshake): TlsEvent | undefined {
  return tls.poll();
}

Deno.test("tls13: Go-style ClientHellos (X25519MLKEM768 + X25519; P-521-only share; HRR)", async () => {
  const certs = await testCerts();
  const mlkem = crypto.getRandomValues(new Uint8Array(1216));
  const x = generateKeyPair("x25519");
  // Go >= 1.24 default: hybrid share first, X25519 second -> ServerHello on X25519, no HRR.
  const ch1 = rawClientHello({
    groups: [0x11ec, 0x001d, 0x0017, 0x0018, 0x0019],
    shares: [{ group: 0x11ec, key: mlkem }, { group: 0x001d, key: x.publicKey }],
  });
  assert(ch1.length > 1200, "big ClientHello spans several Initial packets");
  const s1 = new TlsHandshake(serverOpts(certs.rsa));
  for (let i = 0; i < ch1.length; i += 1000) s1.handleCrypto("initial", ch1.subarray(i, i + 1000));
  const ev1 = firstEvent(s1);
  assert(ev1?.kind === "send" && ev1.level === "initial", JSON.stringify(ev1));
  const sh1 = decodeServerHello(ev1.data.subarray(4));
  assertEquals(sh1.isHelloRetry, false);
  assertEquals(decodeU16(sh1.extensions.get(Ext.keyShare)!.subarray(0, 2), "group"), 0x001d);

  // Go user-TLS config (curves P-521, P-384, P-256): only a P-521 share -> accepted directly.
  const p521 = generateKeyPair("secp521r1");
  const chP521 = rawClientHello({
    groups: [0x0019, 0x0018, 0x0017],
    shares: [{ group: 0x0019, key: p521.publicKey }],
  });
  const s0 = new TlsHandshake(serverOpts(certs.rsa));
  s0.handleCrypto("initial", chP521);
  const ev0 = firstEvent(s0);
  assert(ev0?.kind === "send" && ev0.level === "initial", JSON.stringify(ev0));
  const sh0 = decodeServerHello(ev0.data.subarray(4));
  assertEquals(sh0.isHelloRetry, false);
  assertEquals(decodeU16(sh0.extensions.get(Ext.keyShare)!.subarray(0, 2), "group"), 0x0019);

  // The same against a server limited to P-256/P-384: HRR asking for P-256 (its preference).
  const ch2 = chP521;
  const s2 = new TlsHandshake(
    serverOpts(certs.rsa, { keyShareGroups: ["secp256r1", "secp384r1"] }),
  );
  for (const b of ch2) s2.handleCrypto("initial", new Uint8Array([b]));
  const ev2 = firstEvent(s2);
  assert(ev2?.kind === "send" && ev2.level === "initial", JSON.stringify(ev2));
  const hrr = decodeServerHello(ev2.data.subarray(4));
  assert(hrr.isHelloRetry, "HelloRetryRequest");
  assertEquals(decodeU16(hrr.extensions.get(Ext.keyShare)!, "group"), 0x0017);
  assertEquals(firstEvent(s2), undefined);
  // A second ClientHello that still lacks the share is illegal_parameter.
  s2.handleCrypto("initial", ch2);
  const ev3 = firstEvent(s2);
  assertEquals(ev3?.kind === "error" ? ev3.alert : -1, 47);
});

Deno.test("tls13: missing quic_transport_parameters is missing_extension (109)", async () => {
  const certs = await testCerts();
  const x = generateKeyPair("x25519");
  const s = new TlsHandshake(serverOpts(certs.rsa));
  s.handleCrypto(
    "initial",
    rawClientHello({ groups: [0x1d], shares: [{ group: 0x1d, key: x.publicKey }], tp: false }),
  );
  const ev = s.poll();
  assertEquals(ev?.kind === "error" ? ev.alert : -1, 109);
  // The engine is dead afterwards: more input produces nothing and does not throw.
  s.handleCrypto("initial", new Uint8Array([1, 2, 3]));
  assertEquals(s.poll(), undefined);
});

Deno.test("tls13: tampered server flight fails with decrypt_error / bad signature", async () => {
  const certs = await testCerts();
  // Flip the last byte of the server's handshake flight (inside Finished.verify_data).
  const r = pump(clientOpts(), serverOpts(certs.p256), 0, (from, level, data) => {
    if (from !== "server" || level !== "handshake") return data;
    const d = data.slice();
    d[d.length - 1] ^= 1;
    return d;
  });
  assertEquals(errorOf(r.client)?.alert, 51);
  assert(!r.client.tls.complete);
  // Flip a byte inside the CertificateVerify signature (40 bytes before the Finished message).
  const r2 = pump(clientOpts(), serverOpts(certs.rsa), 0, (from, level, data) => {
    if (from !== "server" || level !== "handshake") return data;
    const d = data.slice();
    d[d.length - 36 - 20] ^= 0x40;
    return d;
  });
  assertEquals(errorOf(r2.client)?.alert, 51);
  // Flip a byte in the client's Finished: the server rejects it.
  const r3 = pump(clientOpts(), serverOpts(certs.rsa), 0, (from, level, data) => {
    if (from !== "client" || level !== "handshake") return data;
    const d = data.slice();
    d[d.length - 1] ^= 1;
    return d;
  });
  assertEquals(errorOf(r3.server)?.alert, 51);
  assert(r3.client.tls.complete && !r3.server.tls.complete);
});

Deno.test("tls13: garbage, truncated and misplaced messages give alerts, never throw", async () => {
  const certs = await testCerts();
  const alertFor = (tls: TlsHandshake, level: EncryptionLevel, data: Uint8Array) => {
    tls.handleCrypto(level, data);
    let ev: TlsEvent | undefined;
    while ((ev = tls.poll()) !== undefined) if (ev.kind === "error") return ev.alert;
    return undefined;
  };
  const server = () => new TlsHandshake(serverOpts(certs.p256));
  // A ClientHello whose body is garbage.
  assertEquals(alertFor(server(), "initial", frame(1, new Uint8Array([3, 3, 1, 2, 3]))), 50);
  // A Finished where a ClientHello is expected.
  assertEquals(alertFor(server(), "initial", frame(20, new Uint8Array(32))), 10);
  // A truncated ClientHello (header says more than the body holds) is decode_error.
  const x = generateKeyPair("x25519");
  const ch = rawClientHello({ groups: [0x1d], shares: [{ group: 0x1d, key: x.publicKey }] });
  const cut = ch.slice(0, ch.length - 10);
  const len = cut.length - 4;
  cut[1] = len >> 16;
  cut[2] = (len >> 8) & 0xff;
  cut[3] = len & 0xff;
  assertEquals(alertFor(server(), "initial", cut), 50);
  // Oversized message header.
  assertEquals(alertFor(server(), "initial", new Uint8Array([1, 0xff, 0xff, 0xff])), 50);
  // Bytes after the ClientHello at the initial level once the server moved on.
  assertEquals(alertFor(server(), "initial", new Uint8Array([...ch, 1, 0])), 10);
  // Invalid X25519 key length is illegal_parameter.
  const badShare = rawClientHello({
    groups: [0x1d],
    shares: [{ group: 0x1d, key: new Uint8Array(31) }],
  });
  assertEquals(alertFor(server(), "initial", badShare), 47);
  // A client fed garbage at initial level.
  const client = new TlsHandshake(clientOpts());
  client.start();
  client.poll();
  assertEquals(alertFor(client, "initial", frame(2, new Uint8Array([3, 3, 0, 0, 0]))), 50);
  // A client receiving a KeyUpdate-type message instead of ServerHello.
  const client2 = new TlsHandshake(clientOpts());
  client2.start();
  assertEquals(alertFor(client2, "initial", frame(24, new Uint8Array([0]))), 10);
  // A server with no certificate cannot proceed: internal_error.
  const noCert = new TlsHandshake({
    role: "server",
    alpn: ["netceptor"],
    transportParameters: SERVER_TP,
  });
  assertEquals(alertFor(noCert, "initial", ch), 80);
  // TLS 1.2-only ClientHello: protocol_version.
  const tls12 = frame(
    1,
    encodeClientHello(new Uint8Array(32), [0x1301], [
      [Ext.alpn, encodeAlpn(["netceptor"])],
    ]),
  );
  assertEquals(alertFor(server(), "initial", tls12), 70);
});

Deno.test("tls13: random mutations of a real ClientHello never throw", async () => {
  const certs = await testCerts();
  const c = new TlsHandshake(clientOpts());
  c.start();
  const ev = c.poll();
  assert(ev?.kind === "send");
  const ch = ev.data;
  let errors = 0;
  for (let i = 0; i < 300; i++) {
    const d = ch.slice();
    const n = 1 + (i % 4);
    for (let k = 0; k < n; k++) {
      d[Math.floor(Math.random() * d.length)] = Math.floor(Math.random() * 256);
    }
    const s = new TlsHandshake(serverOpts(certs.p256));
    s.handleCrypto("initial", d); // must not throw
    let e: TlsEvent | undefined;
    while ((e = s.poll()) !== undefined) if (e.kind === "error") errors++;
  }
  assert(errors > 0, "some mutations are detected");
});

Deno.test("tls13: post-handshake input (NewSessionTicket ignored, others rejected)", async () => {
  const certs = await testCerts();
  const r = pump(clientOpts(), serverOpts(certs.p256));
  assertSuccess(r);
  r.client.tls.handleCrypto("application", frame(4, new Uint8Array(20)));
  assertEquals(r.client.tls.poll(), undefined);
  r.client.tls.handleCrypto("application", frame(24, new Uint8Array([0])));
  const e = r.client.tls.poll();
  assertEquals(e?.kind === "error" ? e.alert : -1, 10);
  r.server.tls.handleCrypto("handshake", frame(20, new Uint8Array(32)));
  const e2 = r.server.tls.poll();
  assertEquals(e2?.kind === "error" ? e2.alert : -1, 10);
});

Deno.test("tls13: injected randomness sets the hello randoms; oversized input is refused", async () => {
  const certs = await testCerts();
  const c = new TlsHandshake(clientOpts({ random: (n) => new Uint8Array(n).fill(0x42) }));
  c.start();
  const ev = c.poll();
  assert(ev?.kind === "send");
  assertEquals(hex(ev.data.subarray(6, 38)), "42".repeat(32));
  const s = new TlsHandshake(serverOpts(certs.p256, { random: (n) => new Uint8Array(n).fill(7) }));
  s.handleCrypto("initial", ev.data);
  const sh = s.poll();
  assert(sh?.kind === "send");
  assertEquals(hex(sh.data.subarray(6, 38)), "07".repeat(32));
  // Data piling up at a level that is not being read is bounded.
  const s2 = new TlsHandshake(serverOpts(certs.p256));
  s2.handleCrypto("handshake", new Uint8Array(200_000));
  s2.handleCrypto("handshake", new Uint8Array(200_000));
  const e = s2.poll();
  assertEquals(e?.kind === "error" ? e.alert : -1, 10);
});
