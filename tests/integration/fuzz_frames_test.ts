/**
 * Robustness of a live node against hostile backend traffic: for a bounded time, raw TCP
 * connections to its tcp-listener send random bytes and mutated frames (garbage bodies, empty
 * and truncated frames, oversize length prefixes, mutated routing updates and data headers,
 * HTL 0, unknown hashes, service-ad garbage, a valid handshake followed by garbage). Afterwards
 * the node must still run, answer on its control socket, and forward a ping between two
 * legitimate neighbours. Seeded PRNG (RECEPTOR_FUZZ_SEED) so a failure can be replayed.
 * @module
 */
import { prng } from "../helpers/data.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { waitFor } from "../helpers/net.ts";
import { nodeHash } from "../../src/mesh/highwayhash.ts";

const FUZZ_MS = Number(Deno.env.get("RECEPTOR_FUZZ_MS") ?? 6000);
const WORKERS = 4;
const encoder = new TextEncoder();

class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  word(n = 8): string {
    const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
    let s = "";
    for (let i = 0; i < n; i++) s += abc[this.int(abc.length)];
    return s;
  }
  /** Flip, insert, delete or overwrite a few bytes. */
  mutate(b: Uint8Array): Uint8Array {
    const out = [...b];
    const n = 1 + this.int(4);
    for (let i = 0; i < n && out.length; i++) {
      const at = this.int(out.length);
      switch (this.int(5)) {
        case 0:
          out[at] ^= 1 << this.int(8);
          break;
        case 1:
          out.splice(at, 0, this.int(256));
          break;
        case 2:
          out.splice(at, 1);
          break;
        case 3:
          out[at] = this.pick([0x00, 0x22, 0x7b, 0x7d, 0x5c, 0xff, 0x30, 0x2d]);
          break;
        default:
          out.length = at; // truncate
      }
    }
    return Uint8Array.from(out);
  }
}

function frame(msg: Uint8Array, lenOverride?: number): Uint8Array {
  const n = lenOverride ?? msg.length;
  const out = new Uint8Array(msg.length + 2);
  out[0] = n & 0xff;
  out[1] = (n >> 8) & 0xff;
  out.set(msg, 2);
  return out;
}

function routingUpdate(
  g: Gen,
  nodeId: string,
  fwd: string,
  conns: Record<string, number>,
  seq: number,
): Uint8Array {
  const epoch = 1_700_000_000n * (1n << 24n) + BigInt(g.int(1 << 24));
  const json =
    `{"NodeID":${JSON.stringify(nodeId)},"UpdateID":"${g.word()}","UpdateEpoch":${epoch},` +
    `"UpdateSequence":${seq},"Connections":${JSON.stringify(conns)},` +
    `"ForwardingNode":${JSON.stringify(fwd)},"SuspectedDuplicate":0}`;
  return Uint8Array.of(1, ...encoder.encode(json));
}

function dataMessage(
  htl: number,
  from: bigint,
  to: bigint,
  fromSvc: string,
  toSvc: string,
  payload: Uint8Array,
): Uint8Array {
  const m = new Uint8Array(36 + payload.length);
  const dv = new DataView(m.buffer);
  m[0] = 0;
  m[1] = htl & 0xff;
  dv.setBigUint64(4, BigInt.asUintN(64, from));
  dv.setBigUint64(12, BigInt.asUintN(64, to));
  m.set(encoder.encode(fromSvc).subarray(0, 8), 20);
  m.set(encoder.encode(toSvc).subarray(0, 8), 28);
  m.set(payload, 36);
  return m;
}

function serviceAd(g: Gen, nodeId: string): Uint8Array {
  const json = `{"NodeID":${JSON.stringify(nodeId)},"Service":"${g.word(g.int(12))}",` +
    `"Time":"2024-10-04T00:00:0${g.int(10)}.5Z","ConnType":${g.int(300)},` +
    `"Tags":${g.pick(["null", '{"type":"x"}', "[]", "5"])},"WorkCommands":${
      g.pick(["null", '[{"WorkType":"x","Secure":false}]', '"x"', "[1]"])
    },"Cancel":${g.pick(["false", "true", "0"])}}`;
  return Uint8Array.of(2, ...encoder.encode(json));
}

/** One hostile connection: a scenario chosen by the PRNG. Returns bytes written. */
async function hostileConnection(
  g: Gen,
  port: number,
  target: string,
  legit: string[],
  deadline: number,
): Promise<number> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return 0;
  }
  let written = 0;
  const send = async (b: Uint8Array) => {
    let off = 0;
    while (off < b.length) off += await conn.write(b.subarray(off));
    written += b.length;
  };
  // Drain whatever the node sends so its writes never block on us.
  const drain = (async () => {
    const buf = new Uint8Array(65536);
    try {
      while ((await conn.read(buf)) !== null) { /* discard */ }
    } catch { /* closed */ }
  })();
  const me = `fuzz${g.word(4)}`;
  const knownHashes = [nodeHash(target), nodeHash(me), ...legit.map((n) => nodeHash(n))];
  const anyHash = () =>
    g.int(3) === 0 ? BigInt.asUintN(64, BigInt(g.int(2 ** 31)) << 17n) : g.pick(knownHashes);
  const scenario = g.int(8);
  try {
    switch (scenario) {
      case 0: // random bytes
        await send(g.bytes(1 + g.int(4096)));
        break;
      case 1: // valid framing, garbage bodies with any type byte
        for (let i = 0; i < 50; i++) await send(frame(g.bytes(1 + g.int(600))));
        break;
      case 2: // empty frames, then a handshake-looking frame
        for (let i = 0; i < 20; i++) await send(Uint8Array.of(0, 0));
        await send(frame(routingUpdate(g, me, me, {}, 1)));
        break;
      case 3: // truncated frame: claims more than is sent, then the peer goes away
        await send(frame(g.bytes(g.int(100)), 100 + g.int(65000)));
        break;
      case 4: // oversize length prefix with a partial body
        await send(Uint8Array.of(0xff, 0xff, ...g.bytes(g.int(2000))));
        break;
      default: { // valid handshake, then mutated traffic
        await send(frame(routingUpdate(g, me, me, {}, 1)));
        let seq = 2;
        const until = Math.min(deadline, Date.now() + 300 + g.int(1500));
        while (Date.now() < until) {
          const kind = g.int(10);
          let msg: Uint8Array;
          switch (kind) {
            case 0:
              msg = routingUpdate(g, me, me, { [target]: 1 }, seq++);
              break;
            case 1:
              msg = g.mutate(routingUpdate(g, me, me, { [target]: 1 }, seq++));
              break;
            case 2: // a third-party update with a made-up origin (mutated sometimes)
              msg = routingUpdate(
                g,
                `x${g.word(5)}`,
                me,
                { [me]: g.pick([1, 0.5, -1, 1e308]) },
                seq++,
              );
              if (g.int(2)) msg = g.mutate(msg);
              break;
            case 3: // HTL 0
              msg = dataMessage(
                0,
                nodeHash(me),
                g.pick(knownHashes),
                g.word(),
                "ping",
                new Uint8Array(),
              );
              break;
            case 4: // unknown hashes / random services
              msg = dataMessage(
                g.int(256),
                anyHash(),
                anyHash(),
                g.word(g.int(9)),
                g.pick(["ping", "unreach", "control", g.word(8)]),
                g.bytes(g.int(200)),
              );
              break;
            case 5:
              msg = g.mutate(
                dataMessage(30, nodeHash(me), nodeHash(target), "fz", "ping", g.bytes(8)),
              );
              break;
            case 6:
              msg = g.int(2) ? serviceAd(g, me) : g.mutate(serviceAd(g, me));
              break;
            case 7: // short data message, reject, unknown types
              msg = g.pick([
                Uint8Array.of(0, 1, 2),
                Uint8Array.of(3, 0x5b, 0x5d),
                Uint8Array.of(9),
                Uint8Array.of(1),
              ]);
              break;
            default:
              msg = g.bytes(1 + g.int(300));
          }
          if (msg.length === 0) msg = Uint8Array.of(g.int(4));
          await send(frame(msg));
          if (g.int(8) === 0) await new Promise((r) => setTimeout(r, 5));
        }
        if (g.int(3) === 0) await send(Uint8Array.of(0x10)); // half a length prefix
      }
    }
    if (g.int(2)) await new Promise((r) => setTimeout(r, g.int(200)));
  } catch { /* the node may close on us: that is fine */ }
  try {
    conn.close();
  } catch { /* closed */ }
  await drain;
  return written;
}

Deno.test("fuzz: a live node survives random and mutated frames and still routes", async () => {
  const seed = Number(Deno.env.get("RECEPTOR_FUZZ_SEED") ?? Date.now() % 1_000_000);
  const mesh = await startMesh({ nodes: ["fz", "fa", "fb"], edges: [["fa", "fz"], ["fb", "fz"]] });
  try {
    await mesh.waitConverged(["fz", "fa", "fb"], 30000);
    const port = mesh.node("fz").port;
    const deadline = Date.now() + FUZZ_MS;
    let connections = 0;
    let bytes = 0;
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      const g = new Gen(prng(seed * 31 + w));
      while (Date.now() < deadline) {
        bytes += await hostileConnection(g, port, "fz", ["fa", "fb"], deadline);
        connections++;
      }
    }));
    const fz = mesh.node("fz").proc;
    const ctx = `seed ${seed}, ${connections} connections, ${bytes} bytes`;
    assert(!fz.exited, `fz exited during fuzzing (${ctx}):\n${fz.logText()}`);
    assert(connections > 20, `too few fuzz connections: ${ctx}`);
    const st = await mesh.status("fz");
    assertEquals(st.NodeID, "fz");
    // The legit neighbours are still connected (or come back) and traffic flows through fz.
    await waitFor(
      `fa pings fb through fz after fuzzing (${ctx})`,
      async () => {
        const p = await mesh.ping("fa", "fb");
        return p.Success && p.From === "fb";
      },
      30000,
      500,
    );
    const tr = await mesh.ping("fb", "fa");
    assert(tr.Success && tr.From === "fa", `ping fb->fa (${ctx}): ${JSON.stringify(tr)}`);
    const log = fz.logText();
    assert(!/Uncaught|panic|RangeError|TypeError/.test(log), `fz logged a crash (${ctx}):\n${log}`);
    assert(!fz.exited, `fz exited (${ctx})`);
  } finally {
    await mesh.stop();
  }
});
