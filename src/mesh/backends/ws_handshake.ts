/**
 * The HTTP/1.1 opening handshake of RFC 6455 §4 for the WebSocket backends (wire.md §2.3),
 * sans-IO: building the client request, checking the server's 101 reply, and the server's
 * checks (method, upgrade tokens, version, key, path, gorilla's same-origin rule), plus a
 * small reader that pulls one HTTP head off a byte stream and keeps the bytes after it.
 * @module
 */
import { createHash } from "node:crypto";

/** GUID appended to the key before hashing (RFC 6455 §1.3). */
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Largest HTTP head accepted (request line/status line plus headers). */
export const MAX_HTTP_HEAD = 64 * 1024;

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

/** A fresh random `Sec-WebSocket-Key` (16 random bytes, base64). */
export function newClientKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b));
}

/** A parsed HTTP head. Header names are lower-cased; repeated headers are joined with ", ". */
export interface HttpHead {
  /** Request line or status line. */
  startLine: string;
  headers: Map<string, string>;
}

/** Parse a head (text up to, excluding, the blank line). Returns an error string on bad input. */
export function parseHttpHead(text: string): HttpHead | string {
  const lines = text.split("\r\n");
  const startLine = lines.shift() ?? "";
  if (!startLine) return "empty HTTP head";
  const headers = new Map<string, string>();
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0) return `malformed HTTP header line ${JSON.stringify(line.slice(0, 80))}`;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { startLine, headers };
}

/** True if the comma-separated header value contains `token` (case-insensitive). */
export function hasToken(value: string | undefined, token: string): boolean {
  if (!value) return false;
  return value.split(",").some((t) => t.trim().toLowerCase() === token);
}

/** Split `Name:value` at the first colon (config.md §3.7 `extraheader`). */
export function splitExtraHeader(h: string): [string, string] {
  const i = h.indexOf(":");
  if (i < 0) throw new Error(`invalid extraheader ${JSON.stringify(h)}: expected Name:value`);
  const name = h.slice(0, i).trim();
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new Error(`invalid extraheader ${JSON.stringify(h)}: bad header name`);
  }
  const value = h.slice(i + 1).trim();
  if (/[\r\n]/.test(value)) throw new Error(`invalid extraheader: value contains a line break`);
  return [name, value];
}

/** Where a `ws-peer` dials, derived from its URL. */
export interface WsTarget {
  secure: boolean;
  /** Host for connecting and certificate checks (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** `Host` header value (URL host, port included when not the default). */
  hostHeader: string;
  /** Request target (path and query). */
  resource: string;
  /** `Origin` header value sent like Go: `http(s)://<host[:port]>`. */
  origin: string;
}

/** Parse a `ws://` or `wss://` URL; throws with a clear message otherwise. */
export function parseWsUrl(address: string): WsTarget {
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    throw new Error(`invalid ws-peer address ${JSON.stringify(address)}: not a URL`);
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new Error(`invalid ws-peer address ${JSON.stringify(address)}: scheme must be ws or wss`);
  }
  if (!u.hostname) throw new Error(`invalid ws-peer address ${JSON.stringify(address)}: no host`);
  const secure = u.protocol === "wss:";
  return {
    secure,
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 443 : 80,
    hostHeader: u.host,
    resource: (u.pathname || "/") + u.search,
    origin: `${secure ? "https" : "http"}://${u.host}`,
  };
}

/** The client's upgrade request bytes. */
export function buildClientRequest(
  target: WsTarget,
  key: string,
  extra: [string, string][] = [],
): Uint8Array {
  const lines = [
    `GET ${target.resource} HTTP/1.1`,
    `Host: ${target.hostHeader}`,
    `User-Agent: receptor-deno`,
    `Upgrade: websocket`,
    `Connection: Upgrade`,
    `Sec-WebSocket-Key: ${key}`,
    `Sec-WebSocket-Version: 13`,
    `Origin: ${target.origin}`,
    ...extra.map(([n, v]) => `${n}: ${v}`),
  ];
  return new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
}

/** Check the server's reply to our upgrade request; returns an error string or null. */
export function checkServerResponse(head: HttpHead, key: string): string | null {
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(head.startLine);
  if (!m) return `bad HTTP status line ${JSON.stringify(head.startLine.slice(0, 80))}`;
  if (m[1] !== "101") return `handshake refused: HTTP ${m[1]} ${m[2] ?? ""}`.trim();
  if (!hasToken(head.headers.get("upgrade"), "websocket")) {
    return "handshake reply lacks Upgrade: websocket";
  }
  if (!hasToken(head.headers.get("connection"), "upgrade")) {
    return "handshake reply lacks Connection: upgrade";
  }
  if (head.headers.get("sec-websocket-accept") !== acceptKey(key)) {
    return "handshake reply has a wrong Sec-WebSocket-Accept";
  }
  if (head.headers.get("sec-websocket-extensions")) {
    return "server selected an extension we did not offer";
  }
  return null;
}

/** What the listener decided about a request. */
export type ServerDecision =
  | { ok: true; key: string }
  | { ok: false; status: number; text: string; reason: string; headers?: [string, string][] };

/** True if `path` matches a Go ServeMux pattern (a trailing `/` matches the whole subtree). */
export function pathMatches(pattern: string, path: string): boolean {
  return pattern.endsWith("/") ? path.startsWith(pattern) : path === pattern;
}

/**
 * gorilla's default origin check: no Origin header, or an Origin URL whose host equals the
 * request Host, ASCII case-insensitively.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  // Like Go's url.Parse: the authority as written (no port normalisation), minus userinfo.
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(origin);
  if (!m) return false;
  const authority = m[1].slice(m[1].lastIndexOf("@") + 1);
  return authority.toLowerCase() === (host ?? "").toLowerCase();
}

/** Decide whether to upgrade a request on a listener serving `pattern`. */
export function checkClientRequest(head: HttpHead, pattern: string): ServerDecision {
  const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(head.startLine);
  if (!m) {
    return { ok: false, status: 400, text: "Bad Request", reason: "malformed request line" };
  }
  const path = m[2].split("?")[0];
  if (!pathMatches(pattern, path)) {
    return { ok: false, status: 404, text: "Not Found", reason: `no handler for path ${path}` };
  }
  const h = head.headers;
  if (!hasToken(h.get("connection"), "upgrade")) {
    return {
      ok: false,
      status: 400,
      text: "Bad Request",
      reason: "'upgrade' token not found in 'Connection' header",
    };
  }
  if (!hasToken(h.get("upgrade"), "websocket")) {
    return {
      ok: false,
      status: 400,
      text: "Bad Request",
      reason: "'websocket' token not found in 'Upgrade' header",
    };
  }
  if (m[1] !== "GET") {
    return {
      ok: false,
      status: 405,
      text: "Method Not Allowed",
      reason: "request method is not GET",
    };
  }
  if (h.get("sec-websocket-version") !== "13") {
    return {
      ok: false,
      status: 400,
      text: "Bad Request",
      reason: "unsupported version: 13 not found in 'Sec-Websocket-Version' header",
      headers: [["Sec-WebSocket-Version", "13"]],
    };
  }
  if (!originAllowed(h.get("origin"), h.get("host"))) {
    return {
      ok: false,
      status: 403,
      text: "Forbidden",
      reason: "request origin not allowed by Upgrader.CheckOrigin",
    };
  }
  const key = h.get("sec-websocket-key") ?? "";
  let raw = "";
  try {
    raw = atob(key);
  } catch { /* checked below */ }
  if (raw.length !== 16) {
    return {
      ok: false,
      status: 400,
      text: "Bad Request",
      reason: "'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length",
    };
  }
  return { ok: true, key };
}

/** The listener's 101 reply. */
export function buildServerAccept(key: string): Uint8Array {
  return new TextEncoder().encode(
    [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${acceptKey(key)}`,
    ].join("\r\n") + "\r\n\r\n",
  );
}

/** A refusal reply (plain text body, connection closed afterwards). */
export function buildServerRefusal(d: Extract<ServerDecision, { ok: false }>): Uint8Array {
  const body = `${d.text}\n`;
  const lines = [
    `HTTP/1.1 ${d.status} ${d.text}`,
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${new TextEncoder().encode(body).length}`,
    "Connection: close",
    ...(d.headers ?? []).map(([n, v]) => `${n}: ${v}`),
  ];
  return new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n" + body);
}

/** Minimal reader surface (Deno.Conn and the TLS streams satisfy it). */
export interface Readable {
  read(buf: Uint8Array): Promise<number | null>;
}

/**
 * Read one HTTP head from `stream` within `timeoutMs`. Returns the head text (without the
 * blank line) and any bytes read past it; throws with a clear message on EOF, timeout or a
 * head over {@link MAX_HTTP_HEAD}. On timeout the caller must close the stream.
 */
export async function readHttpHead(
  stream: Readable,
  timeoutMs: number,
): Promise<{ head: string; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(2048); // small: a request head is a few hundred bytes
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out reading the HTTP handshake")), timeoutMs);
  });
  try {
    let scanFrom = 0;
    while (true) {
      const n = await Promise.race([stream.read(chunk), timeout]);
      if (n === null) throw new Error("connection closed during the HTTP handshake");
      const grown = new Uint8Array(buf.length + n);
      grown.set(buf);
      grown.set(chunk.subarray(0, n), buf.length);
      buf = grown;
      for (let i = Math.max(0, scanFrom - 3); i + 3 < buf.length; i++) {
        if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
          return {
            head: new TextDecoder().decode(buf.subarray(0, i)),
            rest: buf.slice(i + 4),
          };
        }
      }
      scanFrom = buf.length;
      if (buf.length > MAX_HTTP_HEAD) throw new Error("HTTP handshake head too large");
    }
  } finally {
    clearTimeout(timer);
  }
}
