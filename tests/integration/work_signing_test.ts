/**
 * Signed work against a real node (control.md §7.4, checklist 80–83): a `verifysignature`
 * work type on a node with `work-verification` and a TCP control listener. A signed submit
 * over TCP runs; unsigned, expired and wrong-key submits are refused with upstream's text
 * and nothing runs; the Unix socket is exempt; a signature for an unsigned type is refused.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { type NodeProcess, runReceptor, startNode, stopAll } from "../helpers/node_process.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { ReceptorClient } from "../../src/ctl/client.ts";
import { workList, workResults } from "../../src/ctl/work_client.ts";
import { makeWorkSigner, parseSigningKeyText } from "../../src/work/signing.ts";
import { runTool } from "./e2e_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const good = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });

interface Started {
  node: NodeProcess;
  tcp: string;
  marker: string;
}

async function start(
  pubPem = good.publicKey.export({ format: "pem", type: "spki" }) as string,
): Promise<Started> {
  const port = freePort();
  const node = await startNode("signed", (dir, socket) => {
    Deno.writeTextFileSync(`${dir}/pub.pem`, pubPem);
    return `---
- node:
    id: executor
    datadir: ${dir}/data
- local-only:
- work-verification:
    publickey: ${dir}/pub.pem
- control-service:
    service: control
    filename: ${socket}
    tcplisten: 127.0.0.1:${port}
- work-command:
    worktype: secure
    command: sh
    params: -c "cat; echo ran >> ${dir}/ran.txt"
    verifysignature: true
- work-command:
    worktype: open
    command: cat
`;
  });
  const tcp = `tcp://127.0.0.1:${port}`;
  await waitFor("tcp control listener", async () => {
    (await ReceptorClient.connect(tcp)).close();
    return true;
  });
  return { node, tcp, marker: `${node.dir}/ran.txt` };
}

/** Send a JSON submit with an optional signature; returns the reply lines. */
async function submitRaw(
  address: string,
  worktype: string,
  signature: string | undefined,
  payload: string,
): Promise<string[]> {
  const c = await ReceptorClient.connect(address);
  try {
    const req: Record<string, string> = {
      command: "work",
      subcommand: "submit",
      node: "localhost",
      worktype,
    };
    if (signature !== undefined) req.signature = signature;
    await c.writeLine(JSON.stringify(req));
    const first = (await c.readLine()) ?? "";
    if (!first.startsWith("Work unit created")) return [first];
    const w = c.rawWritable().getWriter();
    await w.write(new TextEncoder().encode(payload));
    await w.close();
    return [first, (await c.readLine()) ?? ""];
  } finally {
    c.close();
  }
}

function tokenFor(key: KeyObject, aud: string, lifetimeMs: number, nowMs = Date.now()) {
  return makeWorkSigner(key, lifetimeMs, () => nowMs).signWork(aud);
}

async function ranCount(marker: string): Promise<number> {
  try {
    return (await Deno.readTextFile(marker)).trim().split("\n").filter((l) => l).length;
  } catch {
    return 0;
  }
}

Deno.test("signed work: TCP needs a valid token; Unix socket is exempt", opts, async () => {
  const s = await start();
  try {
    // valid token over TCP: accepted and runs
    const tok = await tokenFor(good.privateKey, "executor", 60_000);
    const ok = await submitRaw(s.tcp, "secure", tok, "signed payload");
    assertEquals(ok.length, 2, ok.join("|"));
    const reply = JSON.parse(ok[1]);
    assertEquals(reply.result, "Job Started");
    const c = await ReceptorClient.connect(s.node.socket);
    assertEquals(await new Response(await workResults(c, reply.unitid)).text(), "signed payload");
    await waitFor("marker", async () => (await ranCount(s.marker)) === 1);
    assertEquals(await ranCount(s.marker), 1, "the signed unit ran once");

    const refusals: [string | undefined, string][] = [
      [undefined, "ERROR: could not verify signature: signature is empty"],
      [
        await tokenFor(other.privateKey, "executor", 60_000),
        "ERROR: could not verify signature: crypto/rsa: verification error",
      ],
      [
        await tokenFor(good.privateKey, "executor", 60_000, Date.now() - 120_000),
        "ERROR: could not verify signature: token is expired by 1m",
      ],
      [
        await tokenFor(good.privateKey, "someone-else", 60_000),
        "ERROR: token audience did not match node ID",
      ],
    ];
    for (const [sig, text] of refusals) {
      const r = await submitRaw(s.tcp, "secure", sig, "x");
      assertEquals(r.length, 1, `refused before the unit is created: ${r.join("|")}`);
      assertStringIncludes(r[0], text);
    }
    // a signature for a type that does not expect one
    const r = await submitRaw(s.tcp, "open", tok, "x");
    assertEquals(r, ["ERROR: work type did not expect a signature"]);

    // Unix socket: unsigned submission of the secure type is accepted
    const u = await submitRaw(s.node.socket, "secure", undefined, "via unix");
    assertEquals(JSON.parse(u[1]).result, "Job Started");
    await waitFor("marker 2", async () => (await ranCount(s.marker)) === 2);

    // nothing else ran and only the two accepted units exist
    const c2 = await ReceptorClient.connect(s.node.socket);
    const units = await workList(c2);
    c2.close();
    assertEquals(Object.keys(units).length, 2);
    assert(Object.values(units).every((u) => u.WorkType === "secure"));
    assertEquals(await ranCount(s.marker), 2);

    // results/cancel of a secure unit over TCP also need a token
    const c3 = await ReceptorClient.connect(s.tcp);
    await c3.writeLine(`work cancel ${reply.unitid}`);
    assertEquals(await c3.readLine(), "ERROR: could not verify signature: signature is empty");
    await c3.writeLine(
      JSON.stringify({
        command: "work",
        subcommand: "release",
        unitid: reply.unitid,
        signature: tok,
      }),
    );
    assertEquals(await c3.readLine(), JSON.stringify({ released: reply.unitid }));
    c3.close();
  } catch (e) {
    console.error(s.node.logText());
    throw e;
  } finally {
    await stopAll([s.node]);
  }
});

Deno.test("signed work: start-up only checks that key files exist", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-signkeys-" });
  try {
    const cfg = `${dir}/n.yaml`;
    const write = (extra: string) =>
      Deno.writeTextFile(
        cfg,
        `---\n- node:\n    id: n1\n    datadir: ${dir}/data\n- local-only:\n${extra}`,
      );
    await write(`- work-signing:\n    privatekey: ${dir}/missing.pem\n`);
    const r = await runReceptor(["node", "-c", cfg]);
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stdout + r.stderr,
      `Error: ${dir}/missing.pem does not exist (work-signing from ${cfg}, privatekey: ${dir}/missing.pem)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signed work: a bad verifying key fails only the signed submission", opts, async () => {
  const pem = good.publicKey.export({ format: "pem", type: "spki" }) as string;
  const s = await start(pem + pem); // two blocks: upstream refuses this key when it verifies
  try {
    const tok = await tokenFor(good.privateKey, "executor", 60_000);
    const r = await submitRaw(s.tcp, "secure", tok, "x");
    assertEquals(r, [
      "ERROR: could not load verifying key file: public key file should contain exactly one item",
    ]);
    // unsigned work on the same node runs
    const ok = await submitRaw(s.tcp, "open", undefined, "unsigned runs");
    const c = await ReceptorClient.connect(s.node.socket);
    const id = JSON.parse(ok[1]).unitid;
    assertEquals(await new Response(await workResults(c, id)).text(), "unsigned runs");
    // the operator fixes the key file: the next signed submission is accepted, no restart
    await Deno.writeTextFile(`${s.node.dir}/pub.pem`, pem);
    const ok2 = await submitRaw(s.tcp, "secure", tok, "now signed");
    assertEquals(JSON.parse(ok2[1]).result, "Job Started", ok2.join("|"));
    await waitFor("marker", async () => (await ranCount(s.marker)) === 1);
  } catch (e) {
    console.error(s.node.logText());
    throw e;
  } finally {
    await stopAll([s.node]);
  }
});

Deno.test(
  "signed work: keys from ssh-keygen (OpenSSH private key, ssh-rsa line)",
  opts,
  async () => {
    const keys = await Deno.makeTempDir({ prefix: "receptor-sshkeys-" });
    let s: Started | undefined;
    try {
      const kg = await runTool("ssh-keygen", ["-q", "-t", "rsa", "-N", "", "-f", `${keys}/id`]);
      assertEquals(kg.code, 0, `missing ssh-keygen: apt-get install -y openssh-client ${kg.err}`);
      s = await start(await Deno.readTextFile(`${keys}/id.pub`));
      const key = parseSigningKeyText(await Deno.readTextFile(`${keys}/id`));
      const ok = await submitRaw(s.tcp, "secure", await tokenFor(key, "executor", 60_000), "ssh");
      assertEquals(JSON.parse(ok[1]).result, "Job Started", ok.join("|"));
      await waitFor("marker", async () => (await ranCount(s!.marker)) === 1);
      assertEquals(await ranCount(s.marker), 1, "the ssh-signed unit ran once");
    } catch (e) {
      if (s) console.error(s.node.logText());
      throw e;
    } finally {
      if (s) await stopAll([s.node]);
      await Deno.remove(keys, { recursive: true });
    }
  },
);
