/**
 * UDP backends over real loopback sockets, in process: the listener keys sessions by sender
 * address (two senders → two links; a closed session is forgotten and the next datagram
 * from that address starts a new one), and the peer sends one datagram per message from a
 * fresh local port, ignores datagrams from other senders, and redials (a new local port)
 * after the mesh closes its session.
 * @module
 */
import { assertEquals, assertNotEquals, assertStringIncludes } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import type { Link } from "../../src/mesh/link.ts";
import { UdpListenerBackend, UdpPeerBackend } from "../../src/mesh/backends/udp.ts";
import { silentLogger } from "../../src/log.ts";

class Sink {
  links: Link[] = [];
  messages: [number, Uint8Array][] = [];
  attachLink(link: Link): void {
    const i = this.links.push(link) - 1;
    link.onMessage = (m) => this.messages.push([i, m]);
  }
}

function udpSocket(): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
}

async function recv(s: Deno.DatagramConn, ms = 5000): Promise<[Uint8Array, Deno.NetAddr]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const [d, a] = await Promise.race([
      s.receive(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error("no datagram")), ms);
      }),
    ]);
    return [d, a as Deno.NetAddr];
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("udp backends: listener keys sessions by sender and forgets closed ones", async () => {
  const sink = new Sink();
  const l = UdpListenerBackend.start({
    bindaddr: "127.0.0.1",
    port: 0,
    cost: 1,
    nodeCost: { x: 2 },
    allowedPeers: null,
    logger: silentLogger(),
  }, sink);
  const a = udpSocket();
  const b = udpSocket();
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: l.port };
  try {
    await a.send(new Uint8Array([1, 1]), to);
    await a.send(new Uint8Array([1, 2]), to);
    await b.send(new Uint8Array([2, 1]), to);
    await waitFor("three datagrams", () => sink.messages.length === 3);
    assertEquals(sink.links.length, 2);
    assertEquals(l.sessionCount, 2);
    assertEquals(sink.links[0].options.nodeCost, { x: 2 });
    assertStringIncludes(
      sink.links[0].options.description,
      `udp-listener from 127.0.0.1:${(a.addr as Deno.NetAddr).port}`,
    );
    assertEquals(sink.messages.map(([i, m]) => [i, [...m]]), [[0, [1, 1]], [0, [1, 2]], [1, [
      2,
      1,
    ]]]);
    // Replies go to the right sender.
    sink.links[1].send(new Uint8Array([9, 9, 9]));
    const [d, from] = await recv(b);
    assertEquals([...d], [9, 9, 9]);
    assertEquals(from.port, l.port);
    // Closing a session forgets the address; the next datagram starts a new session.
    sink.links[0].close();
    assertEquals(l.sessionCount, 1);
    await a.send(new Uint8Array([1, 3]), to);
    await waitFor("a new session", () => sink.links.length === 3);
    assertEquals(sink.messages.at(-1)![0], 2);
    // A big datagram (64 KiB buffer) arrives whole.
    await b.send(new Uint8Array(60000).fill(4), to);
    await waitFor("big datagram", () => sink.messages.length === 5);
    assertEquals(sink.messages[4][1].length, 60000);
  } finally {
    a.close();
    b.close();
    await l.close();
  }
  assertEquals(l.sessionCount, 0);
  // The port is free again once close() resolves (reload rebinds it).
  const again = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: l.port });
  again.close();
});

Deno.test("udp backends: peer sends from a fresh port, filters senders, redials after close", async () => {
  const sink = new Sink();
  const far = udpSocket();
  const stranger = udpSocket();
  const farPort = (far.addr as Deno.NetAddr).port;
  const p = UdpPeerBackend.start({
    address: `127.0.0.1:${farPort}`,
    redial: true,
    cost: 1,
    allowedPeers: null,
    logger: silentLogger(),
  }, sink);
  try {
    await waitFor("a session", () => sink.links.length === 1);
    sink.links[0].send(new Uint8Array([5, 6]));
    const [d, from] = await recv(far);
    assertEquals([...d], [5, 6]);
    // Datagrams from a stranger are ignored; from the far side they are delivered.
    await stranger.send(new Uint8Array([0xee]), from);
    await far.send(new Uint8Array([7]), from);
    await waitFor("reply delivered", () => sink.messages.length === 1);
    assertEquals([...sink.messages[0][1]], [7]);
    // The mesh ends the session (idle timeout); the peer redials 5 s later on a new port.
    sink.links[0].close();
    await waitFor("redial", () => sink.links.length === 2, 9000);
    sink.links[1].send(new Uint8Array([8]));
    const [d2, from2] = await recv(far);
    assertEquals([...d2], [8]);
    assertNotEquals(from2.port, from.port);
  } finally {
    p.close();
    far.close();
    stranger.close();
  }
});
