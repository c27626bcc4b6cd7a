/**
 * A Unix socket listener closed and opened again at the same path in one process (a restart
 * of the control service or a unix-socket-server) keeps its socket file: Deno removes the file
 * of a closed listener only once its pending accept has failed, which used to happen after the
 * new listener had been made and took the new socket with it.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { listenUnixLocked } from "../../src/util/unix_socket.ts";
import { tempDir } from "../helpers/net.ts";

const exists = async (p: string) => await Deno.lstat(p).then(() => true, () => false);

Deno.test("unix listener: close then listen again at the same path keeps the new socket", async () => {
  const dir = await tempDir("receptor-relisten-");
  const path = `${dir}/ctl.sock`;
  const first = await listenUnixLocked(path, 0o600);
  const accepting = first.listener.accept().catch(() => null); // an accept in flight, as in a server
  first.close();
  const second = await listenUnixLocked(path, 0o600); // waits for the first to be released
  await first.released;
  assertEquals(await accepting, null);
  await new Promise((r) => setTimeout(r, 50));
  assert(await exists(path), "the new listener's socket file is still there");
  const client = await Deno.connect({ transport: "unix", path });
  const conn = await second.listener.accept();
  await client.write(new TextEncoder().encode("hi"));
  const buf = new Uint8Array(2);
  assertEquals(await conn.read(buf), 2);
  client.close();
  conn.close();
  second.close();
  await second.released;
  assert(!(await exists(path)), "closing removes the socket file");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("unix listener: a lock held by a live listener is refused after a short wait", async () => {
  const dir = await tempDir("receptor-relisten-");
  const path = `${dir}/ctl.sock`;
  const held = await listenUnixLocked(path, 0o600);
  const err = await listenUnixLocked(path, 0o600).then(() => "", (e) => String(e));
  assertStringIncludes(err, "could not acquire lock on socket file");
  assert(await exists(path), "the holder's socket is untouched");
  held.close();
  await held.released;
  await Deno.remove(dir, { recursive: true });
});
