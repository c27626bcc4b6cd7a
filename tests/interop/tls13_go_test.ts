/**
 * Interop of the Deno TLS 1.3 engine with Go's crypto/tls QUIC API (tls.QUICConn — the TLS stack
 * quic-go and Go receptor use), driven in-process-free through the small Go program in
 * tests/fixtures/tls/go_quic_tls_peer over stdin/stdout JSON lines. No sockets, no QUIC packets:
 * the CRYPTO-stream bytes of each level are exchanged directly, and both sides' traffic secrets
 * must match. The peer is built by scripts/peers/go_peers.ts; missing, the tests fail.
 */
import { fromHex, hex } from "../helpers/data.ts";
import { goQuicTlsPeer } from "../helpers/peers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { TlsHandshake } from "../../src/quic/tls/handshake.ts";
import type {
  EncryptionLevel,
  TlsClientOptions,
  TlsEvent,
  TlsServerOptions,
} from "../../src/quic/tls/types.ts";
import { type TestCerts, testCerts, type TestIdentity } from "../unit/tls13_certs.ts";

interface GoEvent {
  kind: "send" | "secret" | "tp" | "complete" | "error" | "idle";
  level?: string;
  direction?: string;
  suite?: number;
  data?: string;
  alpn?: string;
  peerCerts?: number;
  alert?: number;
  reason?: string;
}

/** One running Go peer; every call to feed() returns the events it produced until idle. */
class GoPeer {
  private readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reader: ReadableStreamDefaultReader<string>;
  private buf = "";

  constructor(bin: string, args: string[]) {
    this.child = new Deno.Command(bin, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.writer = this.child.stdin.getWriter();
    this.reader = this.child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Events up to the next idle marker. */
  async untilIdle(): Promise<GoEvent[]> {
    const events: GoEvent[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const nl = this.buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const ev = JSON.parse(line) as GoEvent;
        if (ev.kind === "idle") return events;
        events.push(ev);
        continue;
      }
      const { value, done } = await this.reader.read();
      if (done) throw new Error("Go peer exited");
      this.buf += value;
    }
    throw new Error("Go peer did not become idle");
  }

  /** Feeds CRYPTO data at `level` and returns what the peer produced. */
  async feed(level: EncryptionLevel, data: Uint8Array): Promise<GoEvent[]> {
    await this.writer.write(
      new TextEncoder().encode(JSON.stringify({ level, data: hex(data) }) + "\n"),
    );
    return await this.untilIdle();
  }

  /** Closes stdin and waits for exit. */
  async close(): Promise<void> {
    await this.writer.close().catch(() => {});
    await this.reader.cancel().catch(() => {});
    await this.child.status;
  }
}

interface Run {
  ours: TlsEvent[];
  go: GoEvent[];
  tls: TlsHandshake;
}

async function writePem(dir: string, id: TestIdentity, name: string): Promise<string[]> {
  await Deno.writeTextFile(`${dir}/${name}.crt`, id.chainPem);
  await Deno.writeTextFile(`${dir}/${name}.key`, id.keyPem);
  return ["-cert", `${dir}/${name}.crt`, "-key", `${dir}/${name}.key`];
}

/** Runs a handshake between our engine and a Go peer until neither side has anything to say. */
async function run(
  opts: TlsClientOptions | TlsServerOptions,
  goArgs: string[],
): Promise<Run> {
  const bin = currentBin;
  const tls = new TlsHandshake(opts);
  const peer = new GoPeer(bin, goArgs);
  const result: Run = { ours: [], go: [], tls };
  try {
    tls.start();
    let pending = await peer.untilIdle();
    for (let round = 0; round < 20; round++) {
      let progress = false;
      for (const ev of pending) {
        result.go.push(ev);
        if (ev.kind === "send") tls.handleCrypto(ev.level as EncryptionLevel, fromHex(ev.data!));
      }
      pending = [];
      let ev: TlsEvent | undefined;
      while ((ev = tls.poll()) !== undefined) {
        progress = true;
        result.ours.push(ev);
        if (ev.kind === "send") pending.push(...await peer.feed(ev.level, ev.data));
      }
      if (!progress && pending.length === 0) break;
    }
  } finally {
    await peer.close();
  }
  return result;
}

const TP = new Uint8Array([0xaa, 0xbb, 0xcc]);

function assertInterop(r: Run, ourRole: "client" | "server"): void {
  const ourErr = r.ours.find((e) => e.kind === "error");
  const goErr = r.go.find((e) => e.kind === "error");
  assertEquals(ourErr, undefined, "our error");
  assertEquals(goErr, undefined, "Go error");
  assert(r.tls.complete, "our side complete");
  assert(r.go.some((e) => e.kind === "complete" && e.alpn === "netceptor"), "Go side complete");
  const ours = new Map<string, string>();
  for (const e of r.ours) {
    if (e.kind === "secret") ours.set(`${e.level}/${e.direction}`, hex(e.secret));
  }
  const theirs = new Map<string, string>();
  for (const e of r.go) if (e.kind === "secret") theirs.set(`${e.level}/${e.direction}`, e.data!);
  const flip = (d: string) => (d === "read" ? "write" : "read");
  assertEquals(ours.size, 4);
  for (const [k, v] of ours) {
    const [level, dir] = k.split("/");
    assertEquals(theirs.get(`${level}/${flip(dir)}`), v, `secret ${k} (our ${ourRole})`);
  }
  const goTp = r.go.find((e) => e.kind === "tp");
  assertEquals(goTp?.data, hex(TP));
  const done = r.ours.find((e) => e.kind === "complete");
  assert(done?.kind === "complete");
  assertEquals(hex(done.peerTransportParameters), "0102");
  assertEquals(done.alpn, "netceptor");
}

let currentBin = "";

/** Runs `fn` with a temp dir holding a freshly built Go peer (removed afterwards). */
async function withDir<T>(fn: (dir: string, certs: TestCerts) => Promise<T>): Promise<T> {
  const certs = await testCerts();
  const dir = await Deno.makeTempDir({ prefix: "tls13_go_run_" });
  try {
    currentBin = goQuicTlsPeer();
    return await fn(dir, certs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const client = (extra: Partial<TlsClientOptions> = {}): TlsClientOptions => ({
  role: "client",
  alpn: ["netceptor"],
  transportParameters: TP,
  ...extra,
});
const server = (id: TestIdentity, extra: Partial<TlsServerOptions> = {}): TlsServerOptions => ({
  role: "server",
  alpn: ["netceptor"],
  transportParameters: TP,
  certificateChain: id.chain,
  privateKey: id.key,
  ...extra,
});

Deno.test({
  name: "tls13/go: our client against Go servers (RSA, ECDSA, Ed25519; tickets ignored)",
  fn: () =>
    withDir(async (dir, certs) => {
      for (
        const [name, id] of Object.entries({ rsa: certs.rsa, p256: certs.p256, ed: certs.ed25519 })
      ) {
        const args = ["-role", "server", "-ticket", ...await writePem(dir, id, name)];
        const r = await run(client({ verifyPeer: (c) => (c.length === 2 ? null : "chain") }), args);
        assertInterop(r, "client");
        // The Go server sent a NewSessionTicket at the application level: ignored, no error.
        assert(r.go.some((e) => e.kind === "send" && e.level === "application"), "ticket sent");
      }
    }),
});

Deno.test({
  name: "tls13/go: Go client (post-quantum hybrid share) against our server, all key types",
  fn: () =>
    withDir(async (dir, certs) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, certs.caPem);
      for (const id of [certs.rsa, certs.p256, certs.p384, certs.ed25519]) {
        const r = await run(server(id), [
          ...["-role", "client", "-ca", `${dir}/ca.pem`, "-servername", id.dnsName],
        ]);
        assertInterop(r, "server");
        // Go's ClientHello with an X25519MLKEM768 share is larger than one QUIC Initial packet.
        const ch = r.go.find((e) => e.kind === "send" && e.level === "initial");
        assert(ch !== undefined && ch.data!.length / 2 > 1200, "Go sent a big ClientHello");
      }
    }),
});

Deno.test({
  name: "tls13/go: HelloRetryRequest both ways and Go's NIST-only curve preferences",
  fn: () =>
    withDir(async (dir, certs) => {
      const srv = await writePem(dir, certs.rsa, "rsa");
      // Go server limited to P-256 while our client shares only X25519 first: Go sends HRR.
      const r1 = await run(
        client({ keyShareGroups: ["x25519", "secp256r1"], initialKeyShares: 1 }),
        ["-role", "server", "-curves", "p256", ...srv],
      );
      assertInterop(r1, "client");
      assertEquals(
        r1.ours.filter((e) => e.kind === "send" && e.level === "initial").length,
        2,
        "our client sent two ClientHellos",
      );
      // Go server limited to P-521: HRR to a group we only listed (secp521r1 via KeyObjects).
      const r1b = await run(client(), ["-role", "server", "-curves", "p521", ...srv]);
      assertInterop(r1b, "client");
      assertEquals(r1b.ours.filter((e) => e.kind === "send" && e.level === "initial").length, 2);
      // Go client with receptor's user-TLS curves (P-521, P-384, P-256; Go >= 1.24 reorders them
      // and shares P-256) against our server.
      const r2 = await run(server(certs.p256), ["-role", "client", "-curves", "p521,p384,p256"]);
      assertInterop(r2, "server");
      // ... and against our server restricted to P-384: we send HRR, Go retries.
      const r3 = await run(
        server(certs.p256, { keyShareGroups: ["secp384r1"] }),
        ["-role", "client", "-curves", "p521,p384,p256"],
      );
      assertInterop(r3, "server");
      assertEquals(
        r3.go.filter((e) => e.kind === "send" && e.level === "initial").length,
        2,
        "the Go client sent two ClientHellos",
      );
    }),
});

Deno.test({
  name: "tls13/go: client certificates in both directions",
  fn: () =>
    withDir(async (dir, certs) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, certs.caPem);
      const srv = await writePem(dir, certs.p256, "p256");
      // Go server requiring and verifying a client certificate; our client presents one.
      const r1 = await run(
        client({ certificateChain: certs.client.chain, privateKey: certs.client.key }),
        ["-role", "server", "-clientauth", "require", "-ca", `${dir}/ca.pem`, ...srv],
      );
      assertInterop(r1, "client");
      assert(r1.go.some((e) => e.kind === "complete" && e.peerCerts === 2), "Go saw our chain");
      // Go server requiring a certificate; our client has none: Go alerts (certificate_required).
      const r2 = await run(client(), ["-role", "server", "-clientauth", "require", ...srv]);
      assertEquals(r2.go.find((e) => e.kind === "error")?.alert, 116);
      // Go client presenting an RSA client certificate to our server that requires one.
      const cli = await writePem(dir, certs.rsa, "rsa");
      let seen = 0;
      const r3 = await run(
        server(certs.ed25519, {
          requireClientCertificate: true,
          verifyPeer: (c) => (seen = c.length, null),
        }),
        ["-role", "client", ...cli],
      );
      assertInterop(r3, "server");
      assertEquals(seen, 2);
      // Go client without a certificate against our server that requires one.
      const r4 = await run(server(certs.p256, { requireClientCertificate: true }), [
        "-role",
        "client",
      ]);
      assertEquals(r4.ours.find((e) => e.kind === "error")?.kind, "error");
      const e4 = r4.ours.find((e) => e.kind === "error");
      assertEquals(e4?.kind === "error" ? e4.alert : 0, 116);
    }),
});

Deno.test({
  name: "tls13/go: ALPN mismatch is no_application_protocol on both stacks",
  fn: () =>
    withDir(async (dir, certs) => {
      const srv = await writePem(dir, certs.p256, "p256");
      const r1 = await run(client({ alpn: ["other"] }), ["-role", "server", ...srv]);
      assertEquals(r1.go.find((e) => e.kind === "error")?.alert, 120);
      const r2 = await run(server(certs.p256), ["-role", "client", "-alpn", "other"]);
      const e2 = r2.ours.find((e) => e.kind === "error");
      assertEquals(e2?.kind === "error" ? e2.alert : 0, 120);
    }),
});
