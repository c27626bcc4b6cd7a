/**
 * `receptor ctl work ...` and the importable work client against a real node process with
 * work-commands: payload forms, follow, --rm, list/status/results/cancel/release, failing
 * commands (exit 1 with `Remote unit failed`) and submit errors (exit 101).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { type NodeProcess, runReceptor, withNode } from "../helpers/node_process.ts";
import { waitFor } from "../helpers/net.ts";
import { nodeYaml, WORK_PRESETS } from "../helpers/mesh.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import {
  SubmitError,
  submitWork,
  workCancel,
  workList,
  workRelease,
  workResults,
  workStatus,
} from "../../src/ctl/work_client.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function yaml(dir: string, socket: string): string {
  return nodeYaml({
    id: "worknode",
    socket,
    datadir: `${dir}/data`,
    logLevel: null,
    localOnly: true,
    work: [
      "cat",
      { worktype: "echo", command: "echo", more: ["    allowruntimeparams: true"] },
      { worktype: "fail", ...WORK_PRESETS.fail3 },
      { worktype: "sleep", command: "sleep", params: `"30"` },
    ],
  });
}

function withWorkNode(fn: (n: NodeProcess) => Promise<void>): Promise<void> {
  return withNode("worknode", yaml, fn);
}

const ctl = (n: NodeProcess, args: string[], stdin?: string) =>
  runReceptor(["ctl", "--socket", n.socket, "work", ...args], { stdin });

function unitIdOf(stdout: string): string {
  const m = /^Unit ID: (\S+)$/m.exec(stdout);
  assert(m, `no Unit ID line in ${JSON.stringify(stdout)}`);
  return m[1];
}

async function waitState(n: NodeProcess, id: string, state: number): Promise<void> {
  const st = await waitFor(`unit ${id} state ${state}`, async () => {
    const c = await ReceptorClient.connect(n.socket);
    try {
      const s = await workStatus(c, id);
      return s.State === state ? s : null;
    } finally {
      c.close();
    }
  });
  assertEquals(st.State, state, `unit ${id} state`);
}

Deno.test("ctl work: submit forms, follow, rm, results, failure", opts, async () => {
  await withWorkNode(async (n) => {
    // payload file
    const file = `${n.dir}/payload.txt`;
    await Deno.writeTextFile(file, "from a file\n");
    let r = await ctl(n, ["submit", "cat", "--payload", file]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /^Result: Job Started\nUnit ID: \S+\n$/);
    const fileUnit = unitIdOf(r.stdout);
    r = await ctl(n, ["results", fileUnit]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "from a file\n");

    // literal (newline appended) with follow
    r = await ctl(n, ["submit", "cat", "-l", "hi", "-f"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "hi\n");

    // stdin payload
    r = await ctl(n, ["submit", "cat", "-p", "-", "-f"], "from stdin");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "from stdin");

    // no payload, CMDPARAMS joined onto params
    r = await ctl(n, ["submit", "echo", "--no-payload", "-f", "a", "b"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "a b\n");

    // --param plus CMDPARAMS
    r = await ctl(n, ["submit", "echo", "-n", "-f", "-a", "params=x", "y"]);
    assertEquals(r.stdout, "x y\n");

    // --rm with follow: output, then the release confirmation, unit gone
    r = await ctl(n, ["submit", "cat", "-l", "bye", "--rm", "-f"]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /^bye\n\((\S+), released\)\n$/);
    const rmId = /\((\S+), released\)/.exec(r.stdout)![1];
    r = await ctl(n, ["list", "-q"]);
    assert(!r.stdout.includes(rmId), "released unit still listed");

    // failing command: output, then ERROR: Remote unit failed, exit 1
    r = await ctl(n, ["submit", "fail", "-n", "-f"]);
    assertEquals(r.code, 1);
    assertEquals(r.stdout, "oops\n");
    assertStringIncludes(r.stderr, "ERROR: Remote unit failed: exit status 3");

    // results of a failed unit alone also exit 1
    r = await ctl(n, ["submit", "fail", "-n"]);
    const failId = unitIdOf(r.stdout);
    await waitState(n, failId, 3);
    r = await ctl(n, ["results", failId]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "Remote unit failed: exit status 3");
  });
});

Deno.test("ctl work: usage and submit errors", opts, async () => {
  await withWorkNode(async (n) => {
    let r = await ctl(n, ["submit", "cat"]);
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      "Must provide one of --payload, --no-payload or --payload-literal.",
    );
    r = await ctl(n, ["submit", "cat", "-n", "-l", "x"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "Cannot provide more than one of");
    r = await ctl(n, ["submit", "cat", "-p", `${n.dir}/missing`]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "Failed to load payload file");
    r = await ctl(n, ["submit", "nosuch", "-n"]);
    assertEquals(r.code, 101);
    assertStringIncludes(r.stderr, "ERROR: Failed to start work unit: unknown work type nosuch");
    r = await ctl(n, ["submit", "cat", "-n", "some", "params"]);
    assertEquals(r.code, 101);
    assertStringIncludes(r.stderr, "extra params provided but not allowed");
    r = await ctl(n, ["submit", "cat", "-n", "--ttl", "5s"]);
    assertEquals(r.code, 101);
    assertStringIncludes(r.stderr, "ttl option is intended for remote work only");
    r = await ctl(n, ["status", "NoSuchId"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "ERROR: unknown work unit NoSuchId");
  });
});

Deno.test("ctl work: list, status, cancel, release --all, --json", opts, async () => {
  await withWorkNode(async (n) => {
    let r = await ctl(n, ["submit", "sleep", "-n"]);
    assertEquals(r.code, 0, r.stderr);
    const sleepId = unitIdOf(r.stdout);
    r = await ctl(n, ["submit", "cat", "-l", "x"]);
    const catId = unitIdOf(r.stdout);
    await waitState(n, sleepId, 1);

    r = await ctl(n, ["list"]);
    assertEquals(r.code, 0, r.stderr);
    const all = JSON.parse(r.stdout);
    assertEquals(Object.keys(all).sort(), [catId, sleepId].sort());
    assertEquals(all[sleepId].StateName, "Running");
    assert(r.stdout.includes('\n    "'), "list output is indented by 4");

    r = await ctl(n, ["list", "-q", "--unit_id", catId]);
    assertEquals(r.stdout, `${catId}\n`);

    r = await ctl(n, ["status", sleepId]);
    assertEquals(JSON.parse(r.stdout).WorkType, "sleep");

    r = await ctl(n, ["cancel", sleepId]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `Cancelled:\n(${sleepId}, cancelled)\n`);
    r = await ctl(n, ["status", sleepId]);
    assertEquals(JSON.parse(r.stdout).StateName, "Canceled");

    r = await ctl(n, ["cancel", "NoSuchId"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "ERROR: NoSuchId: ERROR: unknown work unit NoSuchId");

    r = await runReceptor(["ctl", "--socket", n.socket, "--json", "work", "submit", "cat", "-n"]);
    assertEquals(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assertEquals(j.result, "Job Started");

    r = await ctl(n, ["release", "--all"]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.startsWith("Released:\n"), r.stdout);
    for (const id of [sleepId, catId, j.unitid]) {
      assertStringIncludes(r.stdout, `(${id}, released)`);
    }
    r = await ctl(n, ["list"]);
    assertEquals(r.stdout, "{}\n");
  });
});

Deno.test("work client library: submit, results, status, cancel, release", opts, async () => {
  await withWorkNode(async (n) => {
    let c = await ReceptorClient.connect(n.socket);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => 97 + (i % 26));
    let progress = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < big.length; i += 65536) ctrl.enqueue(big.slice(i, i + 65536));
        ctrl.close();
      },
    });
    const sub = await submitWork(c, "cat", stream, { onProgress: (b) => (progress = b) });
    c.close();
    assertEquals(sub.result, "Job Started");
    assertEquals(progress, big.length);

    c = await ReceptorClient.connect(n.socket);
    const out = new Uint8Array(await new Response(await workResults(c, sub.unitid)).arrayBuffer());
    assertEquals(out.length, big.length);
    assert(out.every((b, i) => b === big[i]), "results differ from payload");

    c = await ReceptorClient.connect(n.socket);
    assertEquals((await workStatus(c, sub.unitid)).StateName, "Succeeded");
    const listed = await workList(c);
    assert(sub.unitid in listed);
    assertEquals(await workCancel(c, sub.unitid), { cancelled: sub.unitid });
    assertEquals(await workRelease(c, sub.unitid, true), { released: sub.unitid });
    c.close();

    c = await ReceptorClient.connect(n.socket);
    const e = await submitWork(c, "echo", "", { params: { node: "x" } }).catch((e) => e);
    c.close();
    assert(e instanceof SubmitError);
    assertStringIncludes(e.message, "Duplicate or illegal parameter node");

    const pfile = `${n.dir}/p.txt`;
    await Deno.writeTextFile(pfile, "from-file");
    c = await ReceptorClient.connect(n.socket);
    const s2 = await submitWork(c, "echo", null, { params: { params: `@${pfile}` } });
    c.close();
    c = await ReceptorClient.connect(n.socket);
    assertEquals(await new Response(await workResults(c, s2.unitid)).text(), "from-file\n");
  });
});

Deno.test(
  "ctl work list --node: connect N control, remote banner, then work list",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "receptor-ctlwork-" });
    const path = `${dir}/fake.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    const seen: string[] = [];
    const serve = (async () => {
      const conn = await listener.accept();
      const enc = new TextEncoder();
      await conn.write(enc.encode("Receptor Control, node local\n"));
      const buf = new Uint8Array(4096);
      let text = "";
      const nextLine = async (): Promise<string> => {
        while (!text.includes("\n")) {
          const n = await conn.read(buf);
          if (n === null) throw new Error("eof");
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        const i = text.indexOf("\n");
        const line = text.slice(0, i);
        text = text.slice(i + 1);
        return line;
      };
      seen.push(await nextLine());
      await conn.write(enc.encode("Connecting\nReceptor Control, node far\n"));
      seen.push(await nextLine());
      await conn.write(enc.encode('{"U1":{"State":2}}\n'));
      conn.close();
    })();
    try {
      const r = await runReceptor([
        "ctl",
        "--socket",
        path,
        "work",
        "list",
        "-q",
        "--node",
        "far",
        "--tls-client",
        "tc",
      ]);
      await serve;
      assertEquals(r.code, 0, r.stderr);
      assertEquals(seen, ["connect far control tc", "work list"]);
      assertEquals(r.stdout, "U1\n");
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
