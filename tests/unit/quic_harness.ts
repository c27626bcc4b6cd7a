/**
 * Deterministic in-memory network for QUIC tests: two endpoints joined by a seeded lossy link
 * (drop, duplicate, reorder, delay) and driven by a fake clock.
 */
import { prng } from "../helpers/data.ts";
import { QuicEndpoint } from "../../src/quic/endpoint.ts";
import type { TransportConfig } from "../../src/quic/config.ts";
import { clientTls, quicTestCert, serverTls } from "./quic_certs.ts";

/** mulberry32: small seeded PRNG (the shared one). */
export { prng };

/** Link impairment settings. */
export interface LinkOptions {
  /** Drop probability. */
  loss?: number;
  /** Duplicate probability. */
  dup?: number;
  /** Probability of extra delay (reordering). */
  reorder?: number;
  /** One-way delay ms. */
  delay?: number;
  /** Extra delay for reordered packets, ms. */
  reorderDelay?: number;
}

interface InFlight {
  at: number;
  seq: number;
  to: "client" | "server";
  data: Uint8Array;
}

/** Two endpoints, a link and a fake clock. */
export class Net {
  now = 1000;
  client: QuicEndpoint;
  server: QuicEndpoint;
  queue: InFlight[] = [];
  rand: () => number;
  opts: Required<LinkOptions>;
  seq = 0;
  delivered = 0;
  /** Called after every step (application logic). */
  onStep: () => void = () => {};
  /** Set to false to cut the link entirely. */
  up = true;

  constructor(client: QuicEndpoint, server: QuicEndpoint, seed: number, opts: LinkOptions = {}) {
    this.client = client;
    this.server = server;
    this.rand = prng(seed);
    this.opts = { loss: 0, dup: 0, reorder: 0, delay: 5, reorderDelay: 7, ...opts };
  }

  #send(to: "client" | "server", data: Uint8Array): void {
    if (!this.up) return;
    const o = this.opts;
    if (this.rand() < o.loss) return;
    const copies = this.rand() < o.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const extra = this.rand() < o.reorder ? this.rand() * o.reorderDelay : 0;
      this.queue.push({ at: this.now + o.delay + extra, seq: this.seq++, to, data });
    }
  }

  /** Moves every pending transmission onto the link. */
  flush(): void {
    for (let i = 0; i < 100000; i++) {
      const c = this.client.pollTransmit(this.now);
      const s = this.server.pollTransmit(this.now);
      if (c) this.#send("server", c.data);
      if (s) this.#send("client", s.data);
      if (!c && !s) return;
    }
  }

  /** One event step; returns false when nothing is scheduled. */
  step(): boolean {
    this.onStep();
    this.flush();
    let next = Infinity;
    for (const p of this.queue) if (p.at < next) next = p.at;
    const tc = this.client.pollTimeout(), ts = this.server.pollTimeout();
    if (tc !== undefined) next = Math.min(next, tc);
    if (ts !== undefined) next = Math.min(next, ts);
    if (next === Infinity) return false;
    if (next > this.now) this.now = next;
    const due = this.queue.filter((p) => p.at <= this.now).sort((a, b) =>
      a.at - b.at || a.seq - b.seq
    );
    if (due.length) this.queue = this.queue.filter((p) => p.at > this.now);
    for (const p of due) {
      this.delivered++;
      if (p.to === "server") this.server.handle(this.now, "client:1", p.data);
      else this.client.handle(this.now, "server:1", p.data);
    }
    const tc2 = this.client.pollTimeout(), ts2 = this.server.pollTimeout();
    if (tc2 !== undefined && tc2 <= this.now) this.client.handleTimeout(this.now);
    if (ts2 !== undefined && ts2 <= this.now) this.server.handleTimeout(this.now);
    this.onStep();
    this.flush();
    return true;
  }

  /** Steps until `cond` holds; throws after `maxMs` simulated ms. */
  runUntil(cond: () => boolean, maxMs = 600_000): void {
    const limit = this.now + maxMs;
    let lastNow = this.now, spins = 0;
    while (!cond()) {
      if (!this.step()) throw new Error("network went quiet before the condition held");
      if (this.now === lastNow && this.queue.length === 0) {
        if (++spins > 10_000) throw new Error(`timer spin at ${this.now}: time does not advance`);
      } else {
        spins = 0;
        lastNow = this.now;
      }
      if (this.now > limit) throw new Error(`condition not met within ${maxMs} simulated ms`);
    }
  }
}

/** Creates a client and a server endpoint with the test certificate and ALPN "netceptor". */
export async function makeEndpoints(
  transport: Partial<TransportConfig> = {},
  clientTransport: Partial<TransportConfig> = {},
  seed = 7,
): Promise<{ client: QuicEndpoint; server: QuicEndpoint }> {
  const cert = await quicTestCert();
  const r = prng(seed * 7919);
  const random = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
    return b;
  };
  const server = new QuicEndpoint({
    role: "server",
    tls: serverTls(cert),
    transport,
    random,
  });
  const client = new QuicEndpoint({
    role: "client",
    tls: clientTls,
    transport: { ...transport, ...clientTransport },
    random,
  });
  return { client, server };
}
