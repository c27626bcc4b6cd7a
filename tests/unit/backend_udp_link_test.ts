/**
 * UdpLink (src/mesh/backends/udp.ts) without sockets: every message is one datagram to the
 * fixed remote address, oversize (> 65507) and empty messages are dropped with a log line,
 * received datagrams reach the mesh, a send error ends the session, and ending is idempotent
 * (the owner's onEnd runs once, so the listener forgets the address exactly once).
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { MAX_UDP_MESSAGE, UdpLink } from "../../src/mesh/backends/udp.ts";
import { Logger } from "../../src/log.ts";

const remote: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 4444 };

function setup(fail = false) {
  const sent: [Uint8Array, Deno.Addr][] = [];
  const lines: string[] = [];
  let ended = 0;
  const link = new UdpLink(
    { cost: 1, description: "udp-peer 127.0.0.1:4444" },
    {
      send(p, addr) {
        if (fail) return Promise.reject(new Error("network unreachable"));
        sent.push([p, addr]);
        return Promise.resolve(p.length);
      },
    },
    remote,
    new Logger({ level: "debug", sink: (l) => lines.push(l) }),
    () => ended++,
  );
  const got: Uint8Array[] = [];
  const closed: string[] = [];
  link.onMessage = (m) => got.push(m);
  link.onClose = (r) => closed.push(r);
  return { link, sent, lines, got, closed, ended: () => ended };
}

Deno.test("udp link: one datagram per message; limits 65507 and empty", () => {
  const t = setup();
  t.link.send(new Uint8Array([1, 2, 3]));
  t.link.send(new Uint8Array(MAX_UDP_MESSAGE).fill(5));
  t.link.send(new Uint8Array(MAX_UDP_MESSAGE + 1));
  t.link.send(new Uint8Array(0));
  assertEquals(t.sent.length, 2);
  assertEquals(t.sent[0][0], new Uint8Array([1, 2, 3]));
  assertEquals(t.sent[0][1], remote);
  assertEquals(t.sent[1][0].length, MAX_UDP_MESSAGE);
  assertEquals(t.lines.filter((l) => l.includes("not sending message")).length, 2);
  assert(t.lines.some((l) => l.includes("65508 bytes (UDP limit 65507)")), t.lines.join("\n"));
  assertEquals(t.closed, [], "oversize messages do not end the session");
});

Deno.test("udp link: received datagrams reach the mesh; close ends once", () => {
  const t = setup();
  t.link.deliver(new Uint8Array([7]));
  t.link.deliver(new Uint8Array(0));
  assertEquals(t.got, [new Uint8Array([7])]);
  t.link.close();
  t.link.close();
  t.link.end("again");
  assertEquals(t.closed, ["closed locally"]);
  assertEquals(t.ended(), 1);
  assert(t.link.closed);
  t.link.deliver(new Uint8Array([8]));
  t.link.send(new Uint8Array([9]));
  assertEquals(t.got.length, 1, "nothing delivered after close");
  assertEquals(t.sent.length, 0, "nothing sent after close");
});

Deno.test("udp link: a send error ends the session", async () => {
  const t = setup(true);
  t.link.send(new Uint8Array([1]));
  const reason = await t.link.done;
  assertEquals(reason, "send error: network unreachable");
  assertEquals(t.closed, [reason]);
  assertEquals(t.ended(), 1);
});
