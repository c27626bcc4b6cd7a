/**
 * The proxy bridge over real loopback TCP connections (in process): bytes are copied exactly
 * both ways, a half-close on either end reaches the other end while the opposite direction
 * keeps flowing, both sides are closed once both directions ended, and a reset on one side
 * closes the other and is logged.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { bridge } from "../../src/services/bridge.ts";
import { connChannel } from "../../src/services/channel.ts";
import { Logger } from "../../src/log.ts";
import { patternBytes, readToEnd, sha256, writeAll } from "./services_helpers.ts";

/** A connected loopback TCP pair. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port }),
    l.accept(),
  ]);
  l.close();
  return [a, b];
}

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ level: "debug", sink: (l: string) => lines.push(l) }), lines };
}

Deno.test("services bridge: exact copy both ways with half-close each way", async () => {
  // client ⇄ [x | bridge | y] ⇄ server
  const [client, x] = await tcpPair();
  const [y, server] = await tcpPair();
  const { logger } = captureLogger();
  const br = bridge(connChannel(x, "x"), connChannel(y, "y"), logger);

  // The server speaks first and half-closes; the client still uploads afterwards.
  const down = patternBytes(500_000, 1);
  const up = patternBytes(700_000, 2);
  const serverSide = (async () => {
    await writeAll(server, down);
    await server.closeWrite();
    return await readToEnd(server);
  })();
  const got = await readToEnd(client);
  assertEquals(sha256(got), sha256(down), "download, then end of stream");
  await writeAll(client, up);
  await client.closeWrite();
  const uploaded = await serverSide;
  assertEquals(sha256(uploaded), sha256(up), "upload after the other side's half-close");
  assertEquals(await br.aToB, true);
  assertEquals(await br.bToA, true);
  await br.done;
  // Both bridge ends are closed: x and y are gone, so the outer ends see end of stream.
  assertEquals(await client.read(new Uint8Array(8)), null);
  client.close();
  server.close();
});

Deno.test("services bridge: writing to a side that went away closes both, logged", async () => {
  const [client, x] = await tcpPair();
  const [y, server] = await tcpPair();
  const { logger, lines } = captureLogger();
  const br = bridge(connChannel(x, "x"), connChannel(y, "y"), logger);
  await writeAll(client, new TextEncoder().encode("partial"));
  client.close();
  // The client's close reaches the server as end of input, after its bytes.
  assertEquals(new TextDecoder().decode(await readToEnd(server)), "partial");
  assertEquals(await br.aToB, true);
  // The server keeps talking: writes towards the vanished client fail, the bridge gives up
  // and closes the server's connection too.
  const deadline = Date.now() + 10000;
  let serverClosed = false;
  while (!serverClosed && Date.now() < deadline) {
    try {
      await writeAll(server, new Uint8Array(4096));
    } catch {
      serverClosed = true;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert(serverClosed, "server connection closed by the bridge");
  assertEquals(await br.bToA, false);
  await br.done;
  server.close();
  assert(lines.some((l) => /Connection write error \(y to x\)/.test(l)), lines.join("\n"));
});
