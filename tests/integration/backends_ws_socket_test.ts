/**
 * WebSocket backends over real loopback sockets, in process: our listener against Deno's
 * built-in `WebSocket` client, our peer against `Deno.serve` + `Deno.upgradeWebSocket`
 * (interop with an independent RFC 6455 implementation both ways, big messages, Origin and
 * extra header on the wire), our peer against our listener (path mismatch, close), and raw
 * HTTP requests that must be refused (Origin mismatch → 403, wrong path → 404).
 * @module
 */
import { captureLogger, startWsListener } from "./backends_helpers.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import type { Link } from "../../src/mesh/link.ts";
import { WsPeerBackend } from "../../src/mesh/backends/websocket.ts";

/** Collects links and their messages. */
class Sink {
  links: Link[] = [];
  messages: Uint8Array[] = [];
  closed: string[] = [];
  attachLink(link: Link): void {
    this.links.push(link);
    link.onMessage = (m) => this.messages.push(m);
    link.onClose = (r) => this.closed.push(r);
  }
}

const logger = captureLogger;

const pattern = (n: number, seed: number) =>
  new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

async function rawRequest(port: number, head: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(new TextEncoder().encode(head));
    const buf = new Uint8Array(4096);
    const n = await c.read(buf);
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    c.close();
  }
}

Deno.test("ws backends: our listener with Deno's WebSocket client (binary both ways, text ignored)", async () => {
  const lines: string[] = [];
  const sink = new Sink();
  const l = startWsListener(lines, sink, { path: "/mesh", cost: 2 });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${l.port}/mesh`);
    ws.binaryType = "arraybuffer";
    const got: Uint8Array[] = [];
    ws.onmessage = (e) => got.push(new Uint8Array(e.data as ArrayBuffer));
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("client could not open"));
    });
    ws.send("some text");
    ws.send(pattern(100_000, 1));
    ws.send(pattern(3, 2));
    await waitFor("two binary messages at the listener", () => sink.messages.length >= 2);
    assertEquals(sink.links.length, 1);
    assertEquals(sink.links[0].options.cost, 2);
    assertStringIncludes(sink.links[0].options.description, "ws-listener from 127.0.0.1:");
    assertEquals(sink.messages[0], pattern(100_000, 1));
    assertEquals(sink.messages[1], pattern(3, 2));
    assert(lines.some((x) => x.includes("ignoring a text WebSocket message")), lines.join("\n"));
    sink.links[0].send(pattern(70_000, 3));
    sink.links[0].send(pattern(1, 4));
    await waitFor("two messages at the client", () => got.length >= 2);
    assertEquals(got[0], pattern(70_000, 3));
    assertEquals(got[1], pattern(1, 4));
    const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
    sink.links[0].close();
    const ev = await closed;
    assertEquals(ev.code, 1000);
    assertEquals(sink.closed, ["closed locally"]);
  } finally {
    await l.close();
  }
});

Deno.test("ws backends: the listener refuses an Origin mismatch (403), a wrong path (404), a bad client", async () => {
  const lines: string[] = [];
  const sink = new Sink();
  const l = startWsListener(lines, sink, { path: "/mesh" });
  try {
    const head = (path: string, origin?: string) =>
      [
        `GET ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${l.port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ...(origin ? [`Origin: ${origin}`] : []),
      ].join("\r\n") + "\r\n\r\n";
    const bad = await rawRequest(l.port, head("/mesh", "http://evil.example"));
    assert(bad.startsWith("HTTP/1.1 403 Forbidden\r\n"), bad);
    const wrong = await rawRequest(l.port, head("/other"));
    assert(wrong.startsWith("HTTP/1.1 404 Not Found\r\n"), wrong);
    const good = await rawRequest(l.port, head("/mesh", `http://127.0.0.1:${l.port}`));
    assert(good.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), good);
    assertStringIncludes(good, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
    // Deno's own client with a foreign Origin header is refused too.
    const ws = new WebSocket(`ws://127.0.0.1:${l.port}/mesh`, {
      headers: { Origin: "http://evil.example" },
    } as unknown as string[]);
    const outcome = await new Promise<string>((r) => {
      ws.onopen = () => r("open");
      ws.onerror = () => r("error");
    });
    assertEquals(outcome, "error");
    assert(lines.some((x) => x.includes("upgrade refused (403)")), lines.join("\n"));
    // Only the well-formed request became a link.
    await waitFor("one link", () => sink.links.length === 1);
    assertEquals(sink.links.length, 1, "links made");
  } finally {
    await l.close();
  }
});

Deno.test("ws backends: our peer with Deno.serve + upgradeWebSocket (Origin, extra header, binary)", async () => {
  const ac = new AbortController();
  const headers: Record<string, string>[] = [];
  const serverGot: Uint8Array[] = [];
  let serverSock: WebSocket | null = null;
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      headers.push(Object.fromEntries(req.headers.entries()));
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.binaryType = "arraybuffer";
      serverSock = socket;
      socket.onmessage = (e) => {
        if (typeof e.data === "string") serverGot.push(new TextEncoder().encode("TEXT"));
        else serverGot.push(new Uint8Array(e.data as ArrayBuffer));
      };
      socket.onopen = () => {
        socket.send(pattern(50_000, 9));
        socket.send("text from server");
        socket.send(pattern(2, 8));
      };
      return response;
    },
  );
  const lines: string[] = [];
  const sink = new Sink();
  const p = WsPeerBackend.start({
    address: `ws://127.0.0.1:${srv.addr.port}/x/y?z=1`,
    redial: false,
    extraheader: "X-Receptor-Test: hello:world",
    cost: 1.5,
    allowedPeers: ["b"],
    logger: logger(lines),
  }, sink);
  try {
    await waitFor("a link", () => sink.links.length === 1);
    assertEquals(sink.links[0].options.cost, 1.5);
    assertEquals(sink.links[0].options.allowedPeers, ["b"]);
    assertEquals(headers[0]["origin"], `http://127.0.0.1:${srv.addr.port}`);
    assertEquals(headers[0]["x-receptor-test"], "hello:world");
    await waitFor("binary messages from the server", () => sink.messages.length >= 2);
    assertEquals(sink.messages[0], pattern(50_000, 9));
    assertEquals(sink.messages[1], pattern(2, 8));
    sink.links[0].send(pattern(200_000, 5));
    sink.links[0].send(pattern(7, 6));
    await waitFor("messages at the server", () => serverGot.length >= 2);
    assertEquals(serverGot[0], pattern(200_000, 5), "masked big message intact");
    assertEquals(serverGot[1], pattern(7, 6));
    // Server-initiated close ends the link with the peer's code.
    (serverSock as WebSocket | null)?.close(1001, "going");
    await waitFor("link closed", () => sink.closed.length === 1);
    assertStringIncludes(sink.closed[0], "closed by peer (WebSocket close 1001");
  } finally {
    p.close();
    ac.abort();
    await srv.finished;
  }
});

Deno.test("ws backends: our peer and our listener; a wrong path is a dial failure", async () => {
  const lines: string[] = [];
  const ls = new Sink();
  const ps = new Sink();
  const l = startWsListener(lines, ls, { nodeCost: { b: 3 } });
  const peer = (address: string) =>
    WsPeerBackend.start({
      address,
      redial: false,
      extraheader: "",
      cost: 1,
      allowedPeers: null,
      logger: logger(lines),
    }, ps);
  const p = peer(`ws://127.0.0.1:${l.port}/anything`);
  const l2 = startWsListener(lines, ls, { path: "/only" });
  const p2 = peer(`ws://127.0.0.1:${l2.port}/elsewhere`);
  try {
    await waitFor("links on both sides", () => ls.links.length === 1 && ps.links.length === 1);
    assertEquals(ls.links[0].options.nodeCost, { b: 3 });
    ps.links[0].send(pattern(300_000, 1));
    ls.links[0].send(pattern(40_000, 2));
    await waitFor("messages", () => ls.messages.length === 1 && ps.messages.length === 1);
    assertEquals(ls.messages[0], pattern(300_000, 1));
    assertEquals(ps.messages[0], pattern(40_000, 2));
    ps.links[0].close();
    await waitFor("both closed", () => ls.closed.length === 1 && ps.closed.length === 1);
    assertStringIncludes(ls.closed[0], "closed by peer (WebSocket close 1000");
    await waitFor(
      "dial failure logged",
      () => lines.find((x) => x.includes("handshake refused: HTTP 404")),
    );
    assert(lines.some((x) => x.includes("handshake refused: HTTP 404")), lines.join("\n"));
    assertEquals(ps.links.length, 1, "the 404 dial produced no link");
  } finally {
    p.close();
    p2.close();
    await l.close();
    await l2.close();
  }
});

Deno.test("ws backends: a client that never finishes its request is dropped after 5 s", async () => {
  const lines: string[] = [];
  const sink = new Sink();
  const l = startWsListener(lines, sink);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  try {
    await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const t0 = Date.now();
    const n = await c.read(new Uint8Array(100)).catch(() => null);
    const waited = Date.now() - t0;
    assertEquals(n, null, "the listener closed the connection");
    assert(waited >= 4000 && waited < 9000, `closed after ${waited} ms`);
    await waitFor(
      "timeout logged",
      () => lines.find((x) => x.includes("timed out reading the HTTP handshake")),
    );
    assert(lines.some((x) => x.includes("timed out reading the HTTP handshake")), lines.join("\n"));
    assertEquals(sink.links.length, 0);
  } finally {
    c.close();
    await l.close();
  }
});
