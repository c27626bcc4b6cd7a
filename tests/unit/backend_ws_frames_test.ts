/**
 * Sans-IO WebSocket framing and handshake (src/mesh/backends/ws_frames.ts, ws_handshake.ts):
 * RFC 6455 example frames, masking, 16/64-bit lengths, fragmentation with interleaved
 * control frames, protocol errors, the accept key, the client request and the listener's
 * checks (path, upgrade tokens, version, gorilla's same-origin rule).
 * @module
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import {
  CLOSE_CODE,
  closePayload,
  encodeFrame,
  OPCODE,
  type WsEvent,
  WsFrameDecoder,
} from "../../src/mesh/backends/ws_frames.ts";
import {
  acceptKey,
  buildClientRequest,
  checkClientRequest,
  checkServerResponse,
  type HttpHead,
  originAllowed,
  parseHttpHead,
  parseWsUrl,
  pathMatches,
  splitExtraHeader,
} from "../../src/mesh/backends/ws_handshake.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));
const text = (s: string) => new TextEncoder().encode(s);

function feedAll(dec: WsFrameDecoder, bytes: Uint8Array, step = 1): WsEvent[] {
  const out: WsEvent[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...dec.push(bytes.subarray(i, i + step)));
  return out;
}

Deno.test("ws frames: RFC 6455 §5.7 examples (unmasked and masked 'Hello')", () => {
  assertEquals(encodeFrame(OPCODE.text, text("Hello")), hex("810548656c6c6f"));
  const masked = encodeFrame(OPCODE.text, text("Hello"), { mask: hex("37fa213d") });
  assertEquals(masked, hex("818537fa213d7f9f4d5158"));
  const srv = new WsFrameDecoder({ expectMasked: true });
  assertEquals(srv.push(masked), [{ kind: "message", binary: false, data: text("Hello") }]);
  // Fragmented unmasked text "Hel" + "lo".
  const cli = new WsFrameDecoder({ expectMasked: false });
  assertEquals(feedAll(cli, hex("010348656c80026c6f")), [
    { kind: "message", binary: false, data: text("Hello") },
  ]);
});

Deno.test("ws frames: 16-bit and 64-bit lengths round-trip byte by byte", () => {
  for (const n of [125, 126, 256, 65535, 65536, 70000]) {
    const payload = new Uint8Array(n).map((_, i) => i * 7);
    const f = encodeFrame(OPCODE.binary, payload, { mask: hex("01020304") });
    const expectHeader = n < 126 ? 2 : n < 65536 ? 4 : 10;
    assertEquals(f.length, expectHeader + 4 + n, `frame size for ${n}`);
    const dec = new WsFrameDecoder({ expectMasked: true });
    const evs = feedAll(dec, f, 997);
    assertEquals(evs.length, 1);
    assert(evs[0].kind === "message" && evs[0].binary);
    assertEquals(evs[0].data, payload);
  }
  // 256 bytes unmasked: 0x82 0x7e 0x01 0x00.
  assertEquals(encodeFrame(OPCODE.binary, new Uint8Array(256)).subarray(0, 4), hex("827e0100"));
  // 65536 bytes unmasked: 0x82 0x7f then 8-byte big-endian length.
  assertEquals(
    encodeFrame(OPCODE.binary, new Uint8Array(65536)).subarray(0, 10),
    hex("827f0000000000010000"),
  );
});

Deno.test("ws frames: fragmented binary (gorilla style) with a ping in between", () => {
  const parts = [new Uint8Array(4096).fill(1), new Uint8Array(4096).fill(2), new Uint8Array(5)];
  const bytes = [
    encodeFrame(OPCODE.binary, parts[0], { fin: false }),
    encodeFrame(OPCODE.ping, text("hi")),
    encodeFrame(OPCODE.continuation, parts[1], { fin: false }),
    encodeFrame(OPCODE.continuation, parts[2]),
    encodeFrame(OPCODE.binary, text("next")),
  ];
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bytes) {
    all.set(b, o);
    o += b.length;
  }
  const dec = new WsFrameDecoder({ expectMasked: false });
  const evs = feedAll(dec, all, 333);
  assertEquals(evs.map((e) => e.kind), ["ping", "message", "message"]);
  assert(evs[0].kind === "ping");
  assertEquals(evs[0].data, text("hi"));
  assert(evs[1].kind === "message");
  assertEquals(evs[1].data.length, 8197);
  assertEquals(evs[1].data[0], 1);
  assertEquals(evs[1].data[4096], 2);
  assert(evs[2].kind === "message");
  assertEquals(evs[2].data, text("next"));
});

Deno.test("ws frames: close frame with code and reason ends the decoder", () => {
  const dec = new WsFrameDecoder({ expectMasked: true });
  const f = encodeFrame(OPCODE.close, closePayload(1001, "bye"), { mask: hex("a1b2c3d4") });
  const evs = dec.push(f);
  assertEquals(evs, [{ kind: "close", code: 1001, reason: "bye" }]);
  assert(dec.finished);
  assertEquals(dec.push(encodeFrame(OPCODE.binary, text("x"), { mask: hex("00000000") })), []);
  const bare = new WsFrameDecoder({ expectMasked: false });
  assertEquals(bare.push(hex("8800")), [{ kind: "close", code: null, reason: "" }]);
});

Deno.test("ws frames: protocol errors are events, never exceptions", () => {
  const cases: [string, Uint8Array, boolean, number][] = [
    ["unmasked client frame", encodeFrame(OPCODE.binary, text("a")), true, 1002],
    [
      "masked server frame",
      encodeFrame(OPCODE.binary, text("a"), { mask: hex("01010101") }),
      false,
      1002,
    ],
    ["reserved bits", hex("c20161"), false, 1002],
    ["unknown opcode", hex("830161"), false, 1002],
    ["continuation first", hex("800161"), false, 1002],
    ["fragmented ping", hex("0900"), false, 1002],
    ["long ping", new Uint8Array([0x89, 126, 0, 126, ...new Uint8Array(126)]), false, 1002],
    ["close with 1 byte", hex("880103"), false, 1002],
    ["data inside fragments", hex("020161020162"), false, 1002],
    ["too big", hex("827f00000000ffffffff"), false, CLOSE_CODE.tooBig],
  ];
  for (const [name, bytes, masked, code] of cases) {
    const dec = new WsFrameDecoder({ expectMasked: masked });
    const evs = dec.push(bytes);
    const err = evs.find((e) => e.kind === "error");
    assert(
      err && err.kind === "error",
      `${name}: expected an error event, got ${JSON.stringify(evs)}`,
    );
    assertEquals(err.code, code, name);
    assert(dec.finished, `${name}: decoder finished`);
  }
  const small = new WsFrameDecoder({ expectMasked: false, maxMessage: 10 });
  const evs = small.push(encodeFrame(OPCODE.binary, new Uint8Array(6), { fin: false }));
  assertEquals(evs, []);
  const evs2 = small.push(encodeFrame(OPCODE.continuation, new Uint8Array(6)));
  assertEquals(evs2[0].kind, "error");
  assertThrows(() => encodeFrame(OPCODE.ping, new Uint8Array(126)), "control frame");
});

Deno.test("ws handshake: RFC 6455 §1.3 accept key and reply check", () => {
  assertEquals(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const head = (lines: string[]) => parseHttpHead(lines.join("\r\n")) as HttpHead;
  const good = head([
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  ]);
  assertEquals(checkServerResponse(good, "dGhlIHNhbXBsZSBub25jZQ=="), null);
  assert(checkServerResponse(good, "AAAAAAAAAAAAAAAAAAAAAA==")!.includes("Accept"));
  const refused = head(["HTTP/1.1 403 Forbidden", "Content-Length: 0"]);
  assertEquals(checkServerResponse(refused, "x"), "handshake refused: HTTP 403 Forbidden");
});

Deno.test("ws handshake: client request carries Origin, Host and the extra header", () => {
  const t = parseWsUrl("wss://Example.org:8443/mesh?x=1");
  assertEquals(t.secure, true);
  assertEquals(t.port, 8443);
  assertEquals(t.resource, "/mesh?x=1");
  assertEquals(t.origin, "https://example.org:8443");
  const req = new TextDecoder().decode(
    buildClientRequest(t, "dGhlIHNhbXBsZSBub25jZQ==", [splitExtraHeader("X-Token: a:b ")]),
  );
  assert(req.startsWith("GET /mesh?x=1 HTTP/1.1\r\nHost: example.org:8443\r\n"), req);
  assert(req.includes("\r\nOrigin: https://example.org:8443\r\n"), req);
  assert(req.includes("\r\nX-Token: a:b\r\n"), req);
  assert(req.endsWith("\r\n\r\n"));
  assertEquals(parseWsUrl("ws://[::1]/").hostname, "::1");
  assertEquals(parseWsUrl("ws://h/").port, 80);
  assertThrows(() => parseWsUrl("http://h/"), "scheme");
  assertThrows(() => splitExtraHeader("novalue"), "Name:value");
  assertThrows(() => splitExtraHeader("bad name: v"), "header name");
});

Deno.test("ws handshake: listener checks path, tokens, version, origin and key", () => {
  const req = (path: string, extra: string[] = [], drop: string[] = []) => {
    const base = [
      "Host: node.example:8080",
      "Upgrade: websocket",
      "Connection: keep-alive, Upgrade",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ].filter((l) => !drop.some((d) => l.startsWith(d)));
    return parseHttpHead([`GET ${path} HTTP/1.1`, ...base, ...extra].join("\r\n")) as HttpHead;
  };
  assertEquals(checkClientRequest(req("/"), "/"), { ok: true, key: "dGhlIHNhbXBsZSBub25jZQ==" });
  assert(checkClientRequest(req("/any/where?q"), "/").ok, "'/' matches every path");
  assertEquals(checkClientRequest(req("/other"), "/mesh"), {
    ok: false,
    status: 404,
    text: "Not Found",
    reason: "no handler for path /other",
  });
  assert(checkClientRequest(req("/mesh?q=1"), "/mesh").ok);
  const status = (h: HttpHead) => {
    const d = checkClientRequest(h, "/");
    return d.ok ? 101 : d.status;
  };
  assertEquals(status(req("/", [], ["Connection"])), 400);
  assertEquals(status(req("/", [], ["Upgrade"])), 400);
  assertEquals(status(req("/", ["Sec-WebSocket-Version: 8"], ["Sec-WebSocket-Version"])), 400);
  assertEquals(status(req("/", ["Sec-WebSocket-Key: c2hvcnQ="], ["Sec-WebSocket-Key"])), 400);
  assertEquals(status(req("/", ["Origin: http://evil.example:8080"])), 403);
  assertEquals(status(req("/", ["Origin: http://NODE.example:8080"])), 101);
  assertEquals(status(req("/", ["Origin: https://node.example:8080"])), 101);
  assertEquals(status(req("/", ["Origin: null"])), 403);
  const post = parseHttpHead(
    "POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade",
  ) as HttpHead;
  assertEquals(status(post), 405);
  assert(typeof parseHttpHead("GET / HTTP/1.1\r\nbroken header") === "string");
  assertEquals(originAllowed(undefined, "x"), true);
  assertEquals(originAllowed("http://user@x:1", "x:1"), true);
  assertEquals(originAllowed("http://x:80", "x"), false);
  assertEquals(pathMatches("/a/", "/a/b"), true);
  assertEquals(pathMatches("/a", "/a/b"), false);
});
