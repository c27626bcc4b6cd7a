/**
 * Config errors a new user hits, from the real program: each names the file, the section, the
 * field and the value (a port out of range is caught at validation, before binding; two
 * listeners on one port; a port already taken by another program; a missing work-signing
 * key file; a mesh service name over 8 bytes). The node exits 1 with one `Error:` line.
 * @module
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { freePort, tempDir } from "../helpers/net.ts";
import { runReceptor } from "../helpers/node_process.ts";

async function expectError(dir: string, name: string, yaml: string, want: string) {
  const cfg = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(cfg, `- node:\n    id: n1\n    datadir: ${dir}/data\n${yaml}`);
  const r = await runReceptor(["--config", cfg]);
  assertEquals(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
  assertStringIncludes(r.stdout + r.stderr, `Error: ${want.replaceAll("CFG", cfg)}\n`);
}

Deno.test("config errors name file, section, field and value", async () => {
  const dir = await tempDir("receptor-cfgerr-");
  const taken = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    const p = freePort();
    const busy = (taken.addr as Deno.NetAddr).port;
    await expectError(
      dir,
      "range",
      `- tcp-listener:\n    port: 70000\n`,
      "invalid port 70000: out of range 0-65535 (tcp-listener from CFG, port: 70000)",
    );
    await expectError(
      dir,
      "dup",
      `- tcp-listener:\n    port: ${p}\n- ws-listener:\n    port: ${p}\n`,
      `port ${p} is already used by an earlier tcp-listener in CFG (ws-listener from CFG, port: ${p})`,
    );
    await expectError(
      dir,
      "busy",
      `- tcp-listener:\n    port: ${busy}\n`,
      `listen tcp 0.0.0.0:${busy}: bind: address already in use (tcp-listener from CFG, port: ${busy})`,
    );
    await expectError(
      dir,
      "key",
      `- local-only:\n- work-signing:\n    privatekey: /nonexistent.key\n`,
      "/nonexistent.key does not exist (work-signing from CFG, privatekey: /nonexistent.key)",
    );
    await expectError(
      dir,
      "svc",
      `- local-only:\n- control-service:\n    service: controlsvc9\n    filename: ${dir}/s.sock\n`,
      "error opening Unix socket: service name controlsvc9 too long (over 8 bytes) " +
        "(control-service from CFG, service: controlsvc9)",
    );
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});
