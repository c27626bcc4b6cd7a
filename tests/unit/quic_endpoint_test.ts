/** Endpoint-level behaviour: stateless reset, Retry handling, unknown versions, tiny Initials. */
import { assert, assertEquals } from "../helpers/assert.ts";
import type { QuicConnection } from "../../src/quic/connection.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import { parseHeader } from "../../src/quic/packet.ts";
import { retryIntegrityTag } from "../../src/quic/packet_protection.ts";
import { makeEndpoints, Net } from "./quic_harness.ts";

Deno.test("quic endpoint: a restarted server's stateless reset closes the client", async () => {
  const { client, server } = await makeEndpoints();
  const net = new Net(client, server, 5, { delay: 5 });
  const cc = client.connect(net.now, "server:1", "localhost");
  let sc: QuicConnection | undefined;
  net.onStep = () => {
    for (let e = server.poll(); e; e = server.poll()) sc = e.conn;
  };
  net.runUntil(() => cc.handshakeComplete && !!sc?.handshakeComplete && net.queue.length === 0);
  // same seed → same stateless reset key, but no connection state
  const restarted = (await makeEndpoints()).server;
  net.server = restarted;
  const id = cc.openBidi()!;
  cc.write(id, new Uint8Array(2000));
  net.runUntil(() => cc.state !== "established", 10_000);
  assertEquals(cc.closeReason?.reason, "stateless reset");
});

Deno.test("quic endpoint: client follows a valid Retry and ignores a forged one", async () => {
  const { client } = await makeEndpoints();
  const cc = client.connect(0, "server:1", "localhost");
  const first = client.pollTransmit(0)!.data;
  const h = parseHeader(first, 0, 8);
  assert(typeof h !== "string" && h.type === "initial");
  const newScid = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]);
  const token = new TextEncoder().encode("retry-token");
  const body = new Uint8Array(1 + 4 + 1 + h.scid.length + 1 + newScid.length + token.length);
  let p = 0;
  body[p++] = 0xf0;
  body.set([0, 0, 0, 1], p);
  p += 4;
  body[p++] = h.scid.length;
  body.set(h.scid, p);
  p += h.scid.length;
  body[p++] = newScid.length;
  body.set(newScid, p);
  p += newScid.length;
  body.set(token, p);
  const forged = new Uint8Array(body.length + 16);
  forged.set(body);
  client.handle(1, "server:1", forged); // bad tag: ignored
  const again = client.pollTransmit(1);
  if (again) {
    const h2 = parseHeader(again.data, 0, 8);
    assert(typeof h2 !== "string" && h2.token.length === 0, "forged Retry ignored");
  }
  const retry = new Uint8Array(body.length + 16);
  retry.set(body);
  retry.set(retryIntegrityTag(h.dcid, body), body.length);
  client.handle(2, "server:1", retry);
  const next = client.pollTransmit(2)!.data;
  const h3 = parseHeader(next, 0, 8);
  assert(typeof h3 !== "string" && h3.type === "initial");
  assertEquals(h3.token, token);
  assertEquals(h3.dcid, newScid);
  assert(next.length >= 1200, "retried Initial is padded");
  assertEquals(cc.state, "handshake");
});

Deno.test("quic endpoint: unknown versions, short Initials and junk create no connections", async () => {
  const { server } = await makeEndpoints();
  const v2 = new Uint8Array(1200);
  v2.set([0xc0, 0x6b, 0x33, 0x43, 0xcf, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
  server.handle(0, "x:1", v2);
  const small = new Uint8Array(600);
  small.set([0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
  server.handle(0, "x:1", small);
  server.handle(0, "x:1", new Uint8Array(0));
  server.handle(0, "x:1", new Uint8Array([0x40]));
  assertEquals(server.connections().length, 0);
  assertEquals(server.poll(), undefined);
  // a 1200-byte v1 Initial with garbage crypto creates a connection that closes quietly
  const junk = new Uint8Array(1200);
  junk.set([0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0x00]);
  server.handle(0, "x:1", junk);
  assert(server.connections().length <= 1);
  server.handleTimeout(100_000);
  assertEquals(server.connections().length, 0);
});

Deno.test("quic endpoint: ALPN mismatch: the server closes with CRYPTO_ERROR 0x100 + alert", async () => {
  const { server } = await makeEndpoints();
  const client = new QuicEndpoint({
    role: "client",
    tls: () => ({ role: "client", alpn: ["other"] }),
  });
  const net = new Net(client, server, 9, { delay: 5 });
  const cc = client.connect(net.now, "server:1", "localhost");
  net.runUntil(() => !!cc.closeReason, 20_000);
  // no_application_protocol (120) → 0x178, reported by the server
  assertEquals(cc.closeReason?.code, 0x100 + 120);
  assertEquals(cc.closeReason?.byPeer, true);
  assertEquals(cc.closeReason?.isApplication, false);
  assert(!cc.handshakeComplete, "handshake must not complete");
});

Deno.test("quic endpoint: a PING after a path came back is answered by a stateless reset", async () => {
  // The peer dropped the connection while the path was down; the only packet we send once it
  // is back is a small PING probe (≤ 42 bytes, which quic-go would not answer).
  const { client, server } = await makeEndpoints();
  const net = new Net(client, server, 7, { delay: 5 });
  const cc = client.connect(net.now, "server:1", "localhost");
  let sc: QuicConnection | undefined;
  net.onStep = () => {
    for (let e = server.poll(); e; e = server.poll()) sc = e.conn;
  };
  net.runUntil(() => cc.handshakeComplete && !!sc?.handshakeComplete && net.queue.length === 0);
  net.server = (await makeEndpoints()).server; // same reset key, no connection state
  cc.ping(net.now);
  const probe = client.pollTransmit(net.now)!;
  assert(probe.data.length <= 42, `the probe is small: ${probe.data.length} bytes`);
  net.server.handle(net.now, "client:1", probe.data);
  const reset = net.server.pollTransmit(net.now);
  assert(reset, "a stateless reset answers the small probe");
  assertEquals(reset.data.length, probe.data.length - 1, "one byte shorter than the trigger");
  client.handle(net.now, "server:1", reset.data);
  assertEquals(cc.state !== "established", true);
  assertEquals(cc.closeReason?.reason, "stateless reset");
  // Too small to be answered (a reset must be at least 21 bytes).
  net.server.handle(net.now, "client:1", probe.data.subarray(0, 21));
  assertEquals(net.server.pollTransmit(net.now), undefined);
});
