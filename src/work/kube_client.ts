/**
 * A small Kubernetes API client for `work-kubernetes`: JSON REST calls over `fetch`, pod log
 * streams, and `attach` over WebSocket (`v5.channel.k8s.io`, which can half-close stdin).
 * TLS is verified against the connection's CA certificates through `Deno.createHttpClient`,
 * which also carries a client certificate; the same HTTP client is handed to `WebSocket`.
 *
 * Why not `@kubernetes/client-node`: it loads under Deno, but it brings 72 npm packages
 * (about 15 MB into `deno bundle`'s output, which every node would parse even with a lazy
 * import), sends its requests through `node-fetch` and Node https agents (so CA and client
 * certificates go through Deno's Node-compatibility TLS layer rather than Deno's own), does
 * attach through the `ws` package, and prints a `punycode` deprecation warning on stderr when
 * loaded. The few calls a work unit needs are small and documented, so they are written here.
 * @module
 */
import type { KubeConnection } from "./kube_config.ts";

/** Timeout of one non-streaming API call (ms). */
export const KUBE_REQUEST_TIMEOUT_MS = 30_000;
/** Largest stdin piece sent in one WebSocket message (bytes). */
const ATTACH_CHUNK = 32 * 1024;
/** Pause sending stdin while this much is queued in the WebSocket (bytes). */
const ATTACH_HIGH_WATER = 1024 * 1024;
/** Largest JSON response accepted from the API server (bytes); pods are far smaller. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

/** An error answer from the API server (`Status` object), or a failed connection. */
export class KubeApiError extends Error {
  constructor(message: string, readonly code: number, readonly reason = "") {
    super(message);
    this.name = "KubeApiError";
  }
}

/** A pod as far as the work unit reads it. */
export interface Pod {
  metadata: { name: string; namespace: string; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: PodStatus;
}

/** The parts of a pod status the work unit looks at. */
export interface PodStatus {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  containerStatuses?: ContainerStatus[];
}

/** A container's status. */
export interface ContainerStatus {
  name: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: Record<string, unknown>;
    terminated?: { exitCode: number; reason?: string; message?: string };
  };
}

/** Options of a pod log request. */
export interface LogOptions {
  container: string;
  follow: boolean;
  timestamps: boolean;
  /** RFC 3339 time; only lines at or after it (the API rounds it down to the second). */
  sinceTime?: string;
}

/** Talks to one API server. Call {@link close} when done. */
export class KubeClient {
  readonly #conn: KubeConnection;
  readonly #http: Deno.HttpClient;

  constructor(conn: KubeConnection) {
    this.#conn = conn;
    const opts: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {
      caCerts: conn.caCerts,
      // one long log stream and short calls; HTTP/1.1 keeps a dropped stream's failure local
      http2: false,
    };
    if (conn.clientCert) {
      opts.cert = conn.clientCert.cert;
      opts.key = conn.clientCert.key;
    }
    this.#http = Deno.createHttpClient(opts);
  }

  /** The API server URL. */
  get server(): string {
    return this.#conn.server;
  }

  #headers(extra: Record<string, string> = {}): Headers {
    const h = new Headers(extra);
    if (this.#conn.token) h.set("Authorization", `Bearer ${this.#conn.token}`);
    else if (this.#conn.basic) {
      h.set(
        "Authorization",
        `Basic ${btoa(`${this.#conn.basic.username}:${this.#conn.basic.password}`)}`,
      );
    }
    return h;
  }

  async #fetch(path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.#conn.server}${path}`, {
        ...init,
        client: this.#http,
        signal,
      } as RequestInit);
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new KubeApiError(`cannot reach API server ${this.#conn.server}: ${msg(e)}`, 0);
    }
  }

  async #json(method: string, path: string, body?: unknown, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(KUBE_REQUEST_TIMEOUT_MS);
    const res = await this.#fetch(path, {
      method,
      headers: this.#headers({ "Content-Type": "application/json", Accept: "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    }, signal ? AbortSignal.any([signal, timeout]) : timeout);
    const text = await readLimited(res, MAX_JSON_BYTES);
    if (!res.ok) throw apiError(res.status, text);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KubeApiError(`API server answered ${method} ${path} with non-JSON`, res.status);
    }
  }

  /** Create a pod in `namespace`; returns it as created (with its generated name). */
  async createPod(namespace: string, pod: unknown, signal?: AbortSignal): Promise<Pod> {
    return await this.#json(
      "POST",
      `/api/v1/namespaces/${enc(namespace)}/pods`,
      pod,
      signal,
    ) as Pod;
  }

  /** Read a pod. */
  async getPod(namespace: string, name: string, signal?: AbortSignal): Promise<Pod> {
    return await this.#json("GET", podPath(namespace, name), undefined, signal) as Pod;
  }

  /** Delete a pod; a pod that is already gone is not an error. */
  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.#json("DELETE", podPath(namespace, name));
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 404) return;
      throw e;
    }
  }

  /** Open a pod log stream; its body is the log text. */
  async logs(namespace: string, name: string, o: LogOptions, signal: AbortSignal) {
    const q = new URLSearchParams({ container: o.container });
    if (o.follow) q.set("follow", "true");
    if (o.timestamps) q.set("timestamps", "true");
    if (o.sinceTime) q.set("sinceTime", o.sinceTime);
    const res = await this.#fetch(`${podPath(namespace, name)}/log?${q}`, {
      headers: this.#headers(),
    }, signal);
    if (!res.ok) throw apiError(res.status, await readLimited(res, MAX_JSON_BYTES));
    if (!res.body) throw new KubeApiError("log stream has no body", res.status);
    return res.body;
  }

  /**
   * Attach to `container`'s stdin and send `input` to it, then close stdin. Resolves when all
   * of it was handed to the API server and the server ended the session, or `graceMs` after
   * the stdin close was sent (a simulated kubelet never ends an attach by itself).
   */
  async attachStdin(
    namespace: string,
    name: string,
    container: string,
    input: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    graceMs = 5000,
  ): Promise<number> {
    const q = new URLSearchParams({
      container,
      stdin: "true",
      stdout: "false",
      stderr: "false",
      tty: "false",
    });
    const url = `${this.#conn.server.replace(/^http/, "ws")}${
      podPath(namespace, name)
    }/attach?${q}`;
    const ws = new WebSocket(url, {
      protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
      headers: this.#headers(),
      client: this.#http,
    } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    const session = new AttachSession(ws, signal);
    try {
      await session.opened();
      const sent = await session.sendAll(input);
      await session.closeStdin(graceMs);
      return sent;
    } finally {
      session.close();
    }
  }

  /** Release the HTTP client. */
  close(): void {
    try {
      this.#http.close();
    } catch {
      // already closed
    }
  }
}

/** One attach WebSocket: open, stdin messages with back-pressure, half-close. */
class AttachSession {
  #closed: Promise<void>;
  #open: Promise<void>;
  #error = "";

  constructor(readonly ws: WebSocket, readonly signal: AbortSignal) {
    this.#open = new Promise((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = (e) => {
        this.#error = (e as ErrorEvent).message ?? "WebSocket error";
        reject(new KubeApiError(`attach failed: ${this.#error}`, 0));
      };
    });
    this.#closed = new Promise((resolve) => {
      ws.addEventListener("close", () => resolve());
    });
    this.#open.catch(() => {});
    signal.addEventListener("abort", () => this.close(), { once: true });
  }

  opened(): Promise<void> {
    return this.#open;
  }

  async sendAll(input: ReadableStream<Uint8Array>): Promise<number> {
    let sent = 0;
    for await (const chunk of input) {
      for (let off = 0; off < chunk.length; off += ATTACH_CHUNK) {
        const part = chunk.subarray(off, off + ATTACH_CHUNK);
        await this.#drain();
        const msg = new Uint8Array(part.length + 1);
        msg[0] = 0; // channel 0: stdin
        msg.set(part, 1);
        this.ws.send(msg);
        sent += part.length;
      }
    }
    return sent;
  }

  async #drain(): Promise<void> {
    while (this.ws.bufferedAmount > ATTACH_HIGH_WATER) {
      this.#check();
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#check();
  }

  #check(): void {
    if (this.signal.aborted) throw new KubeApiError("attach cancelled", 0);
    if (this.ws.readyState !== WebSocket.OPEN) {
      throw new KubeApiError(`attach closed by the server ${this.#error}`.trim(), 0);
    }
  }

  /** v5: channel 255 message `[255, 0]` closes stdin; v4 can only close the socket. */
  async closeStdin(graceMs: number): Promise<void> {
    await this.#drain();
    if (this.ws.protocol === "v5.channel.k8s.io") this.ws.send(new Uint8Array([255, 0]));
    while (this.ws.bufferedAmount > 0 && this.ws.readyState === WebSocket.OPEN) {
      await new Promise((r) => setTimeout(r, 10));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#closed,
      new Promise<void>((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      try {
        this.ws.close(1000);
      } catch {
        // ignore
      }
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`;
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function readLimited(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > max) throw new KubeApiError(`API response larger than ${max} bytes`, res.status);
    parts.push(chunk);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return new TextDecoder().decode(all);
}

/** An error from an API `Status` body (its message), or the HTTP status. */
export function apiError(code: number, body: string): KubeApiError {
  try {
    const s = JSON.parse(body) as { message?: string; reason?: string };
    if (s.message) return new KubeApiError(s.message, code, s.reason ?? "");
  } catch {
    // not a Status object
  }
  const text = body.trim().slice(0, 200);
  return new KubeApiError(`API server answered ${code}${text ? `: ${text}` : ""}`, code);
}
