/**
 * Admission control of listeners before the handshake: at most `max` unauthenticated
 * connections, refusals counted and logged once, a timeout for each, slots freed on
 * established/closed (and only once).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { Admission } from "../../src/mesh/backends/admission.ts";
import { Logger } from "../../src/log.ts";
import { waitFor } from "../helpers/net.ts";

function logger(lines: string[]): Logger {
  return new Logger({ level: "debug", sink: (line: string) => lines.push(line) });
}

Deno.test("admission: cap, refusal log, timeout, release once", async () => {
  const lines: string[] = [];
  const a = new Admission(
    "tcp-listener :1",
    { maxUnauthenticated: 2, handshakeTimeoutMs: 200 },
    logger(lines),
  );
  let timedOut = 0;
  const t1 = a.admit("c1", () => timedOut++)!;
  const t2 = a.admit("c2", () => timedOut++)!;
  assert(t1 && t2, "two admitted");
  assertEquals(a.admit("c3", () => timedOut++), null, "third refused at the cap");
  assertEquals(a.admit("c4", () => timedOut++), null);
  assertEquals(a.refused, 2);
  assertEquals(lines.filter((l) => l.includes("maxunauthenticated")).length, 1, "logged once");
  t1.established();
  t1.closed(); // a second release must not free another slot
  assertEquals(a.count, 1);
  const t3 = a.admit("c5", () => timedOut++);
  assert(t3, "a slot was freed");
  assertEquals(a.admit("c6", () => {}), null);
  // c2 and c5 time out (c1 was established before)
  await waitFor("timeouts", () => timedOut === 2, 3000, 20);
  assertEquals(a.count, 0);
  t2.closed(); // after its timeout: no effect
  assertEquals(a.count, 0);
  a.close();
});

Deno.test("admission: a udp-listener makes at most maxunauthenticated sessions from new sources", async () => {
  const { UdpListenerBackend } = await import("../../src/mesh/backends/udp.ts");
  const lines: string[] = [];
  const attached: unknown[] = [];
  const b = UdpListenerBackend.start({
    bindaddr: "127.0.0.1",
    port: 0,
    cost: 1,
    allowedPeers: null,
    logger: logger(lines),
    maxUnauthenticated: 5,
    handshakeTimeoutMs: 60_000,
  }, { attachLink: (l) => attached.push(l) });
  const senders = Array.from(
    { length: 20 },
    () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
  );
  try {
    for (const s of senders) {
      await s.send(Uint8Array.of(1, 2, 3), {
        transport: "udp",
        hostname: "127.0.0.1",
        port: b.port,
      });
    }
    await waitFor("15 refusals", () => b.admission.refused >= 15, 5000, 20);
    assertEquals(b.sessionCount, 5);
    assertEquals(attached.length, 5);
    assert(lines.some((l) => l.includes("udp-listener") && l.includes("maxunauthenticated")));
  } finally {
    for (const s of senders) s.close();
    await b.close();
  }
});
