/**
 * Remote work (control.md §6) end to end: the SUBMITTER is an in-process WorkEngine with the
 * `remote` type and the `work` command served on a temp Unix socket; the EXECUTOR is a real
 * node process. The remote type's dialer maps a node ID to that node's control Unix socket,
 * so the full control protocol runs against the real executor (without the mesh).
 */
import { REMOTE_EXTRA_DATA_KEYS } from "../helpers/work.ts";
import { concatBytes, sha256File } from "../helpers/data.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode } from "../helpers/node_process.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import { Logger } from "../../src/log.ts";
import { WorkEngine } from "../../src/work/engine.ts";
import { registerRemoteWork, type RemoteUnitType } from "../../src/work/remote_unit.ts";
import type { ControlDialer } from "../../src/work/remote_unit.ts";
import { makeWorkCommand } from "../../src/control/work_command.ts";
import { type Closer, listenUnixControl } from "../../src/control/server.ts";
import { duplexFromConn } from "../../src/control/conn_duplex.ts";
import type { DuplexConn } from "../../src/streams/duplex.ts";
import { RemoteControlClient } from "../../src/work/remote_control_client.ts";
import { makeWorkSigner } from "../../src/work/signing.ts";
import { generateKeyPairSync, type KeyObject } from "node:crypto";

Deno.env.set("RECEPTOR_FROM_SOURCE", "1");

const enc = new TextEncoder();
const dec = new TextDecoder();

const SLOW = `-c 'for i in $(seq 1 40); do echo line $i; sleep 0.1; done'`;

function execYaml(port: number, ctlPort: number) {
  return (dir: string, socket: string) =>
    [
      "- node:",
      "    id: exec",
      `    datadir: ${dir}/data`,
      "- log-level:",
      "    level: info",
      "- tcp-listener:",
      "    bindaddr: 127.0.0.1",
      `    port: ${port}`,
      "- control-service:",
      "    service: control",
      `    filename: ${socket}`,
      `    tcplisten: 127.0.0.1:${ctlPort}`,
      "- work-verification:",
      `    publickey: ${dir}/verify.pem`,
      "- work-command:",
      "    worktype: signed",
      "    command: cat",
      "    verifysignature: true",
      "- work-command:",
      "    worktype: upper",
      "    command: tr",
      "    params: a-z A-Z",
      "- work-command:",
      "    worktype: fail3",
      "    command: sh",
      `    params: -c "echo oops; exit 3"`,
      "- work-command:",
      "    worktype: sleeper",
      "    command: sleep",
      "    params: 100",
      "- work-command:",
      "    worktype: shell",
      "    command: sh",
      "    allowruntimeparams: true",
      "",
    ].join("\n");
}

/** Raw exchange: send `line`, return the reply lines (one, or two for a submit). */
async function ctl(sock: string, line: string | Record<string, unknown>): Promise<string> {
  const c = await ReceptorClient.connect(sock);
  try {
    await c.writeLine(typeof line === "string" ? line : JSON.stringify(line));
    return (await c.readLine()) ?? "<EOF>";
  } finally {
    c.close();
  }
}

async function ctlJson(sock: string, line: string | Record<string, unknown>) {
  const r = await ctl(sock, line);
  if (r.startsWith("ERROR")) throw new Error(r);
  return JSON.parse(r);
}

async function submit(
  sock: string,
  req: Record<string, string>,
  payload = "",
): Promise<{ lines: string[]; unitid?: string; result?: string }> {
  const c = await ReceptorClient.connect(sock);
  try {
    await c.writeLine(JSON.stringify({ command: "work", subcommand: "submit", ...req }));
    const first = (await c.readLine()) ?? "<EOF>";
    if (!first.startsWith("Work unit created")) return { lines: [first] };
    const w = c.rawWritable().getWriter();
    if (payload) await w.write(enc.encode(payload));
    w.releaseLock();
    await c.closeWrite();
    const second = (await c.readLine()) ?? "<EOF>";
    const out: { lines: string[]; unitid?: string; result?: string } = { lines: [first, second] };
    if (!second.startsWith("ERROR")) {
      const j = JSON.parse(second);
      out.unitid = j.unitid;
      out.result = j.result;
    }
    return out;
  } finally {
    c.close();
  }
}

async function results(sock: string, id: string): Promise<string> {
  const c = await ReceptorClient.connect(sock);
  try {
    await c.writeLine(`work results ${id}`);
    const hdr = await c.readLine();
    assertEquals(hdr, `Streaming results for work unit ${id}`);
    await c.closeWrite();
    const chunks: Uint8Array[] = [];
    for await (const ch of c.rest()) chunks.push(ch);
    return dec.decode(concatBytes(chunks));
  } finally {
    c.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `conn` whose traffic stops once `wire.muted` is set: writes are dropped, nothing more is
 * read (a peer gone without any error reaching us, as over a mesh whose node restarted).
 */
function silenceable(conn: DuplexConn, wire: { muted: boolean }): DuplexConn {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let closed!: () => void;
  const whenClosed = new Promise<void>((r) => closed = r);
  return {
    readable: new ReadableStream<Uint8Array>({
      async pull(c) {
        const r = wire.muted ? null : await reader.read();
        if (r && !r.done && !wire.muted) return c.enqueue(r.value);
        if (r?.done) return c.close();
        await whenClosed;
        c.close();
      },
    }, { highWaterMark: 0 }),
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => wire.muted ? undefined : writer.write(chunk),
      close: () => writer.close(),
    }),
    closeWrite: () => conn.closeWrite?.() ?? Promise.resolve(),
    close() {
      closed();
      conn.close();
    },
  };
}

/** The in-process submitter node "sub". */
class Submitter {
  engine!: WorkEngine;
  remote!: RemoteUnitType;
  server!: Closer;
  readonly log: string[] = [];
  constructor(
    readonly dir: string,
    readonly sock: string,
    readonly dial: ControlDialer,
    readonly signingKey?: KeyObject,
  ) {}

  async start(): Promise<void> {
    const logger = new Logger({ level: "debug", sink: (l) => this.log.push(l) });
    this.engine = new WorkEngine({
      nodeId: "sub",
      dataDir: `${this.dir}/data`,
      logger,
      workTypes: [],
    });
    await this.engine.init();
    this.remote = await registerRemoteWork(this.engine, {
      dial: this.dial,
      logger,
      hasTlsClient: (n) => n === "fake-tls",
      sign: this.signingKey ? (node) => makeWorkSigner(this.signingKey!).signWork(node) : undefined,
      pollMs: 200,
      backoff: { initialMs: 200, maxMs: 800 },
      // keep idle control connections across the executor restarts below (stale reuse is tested)
      poolIdleMs: 60_000,
      // a kept connection that goes silent is tested below: give up on it sooner than 20 s
      reusedOpReplyMs: 4000,
    });
    const commands = new Map([["work", makeWorkCommand(this.engine, { nodeId: "sub" })]]);
    this.server = await listenUnixControl({ nodeId: "sub", commands, logger }, this.sock, 0o600);
  }

  async stop(): Promise<void> {
    this.server.close();
    await this.remote.shutdown();
    await this.engine.close();
  }

  unitDir(id: string): string {
    return `${this.dir}/data/sub/${id}`;
  }

  status(id: string) {
    return ctlJson(this.sock, `work status ${id}`);
  }

  async waitState(id: string, stateName: string, timeoutMs = 30_000) {
    try {
      return await waitFor(`sub unit ${id} ${stateName}`, async () => {
        const s = await this.status(id);
        return s.StateName === stateName ? s : null;
      }, timeoutMs);
    } catch (e) {
      // a flaky failure once showed the socket gone: say what the submitter was doing
      const sock = await Deno.lstat(this.sock).then(() => "present", (x) => `${x}`);
      throw new Error(
        `${(e as Error).message}\nsocket ${this.sock}: ${sock}\nsubmitter log (last 30):\n` +
          this.log.slice(-30).join("\n"),
      );
    }
  }
}

Deno.test({
  name: "remote work against a real executor node",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await tempDir("receptor-remote-");
    const execDir = `${root}/exec`;
    await Deno.mkdir(execDir);
    const execPort = freePort();
    const execCtlPort = freePort();
    const execSock = `${execDir}/exec.sock`;
    const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await Deno.writeTextFile(
      `${execDir}/verify.pem`,
      keys.publicKey.export({ type: "spki", format: "pem" }) as string,
    );
    // Unix sockets are trusted (no signature checks): the signing step switches to TCP.
    let transport: "unix" | "tcp" = "unix";
    const dialSocket: ControlDialer = async (node) => {
      if (node !== "exec") throw new Error(`no route to ${node}`);
      const conn = transport === "unix"
        ? await Deno.connect({ transport: "unix", path: execSock })
        : await Deno.connect({ hostname: "127.0.0.1", port: execCtlPort });
      return duplexFromConn(conn);
    };
    const wires: { muted: boolean }[] = [];
    const dial: ControlDialer = async (node, tls, signal) => {
      const conn = await dialSocket(node, tls, signal);
      const wire = { muted: false };
      wires.push(wire);
      return silenceable(conn, wire);
    };
    let exec: NodeProcess | undefined;
    const startExec = async () => {
      exec = await startNode("exec", execYaml(execPort, execCtlPort), { dir: execDir });
      // The socket file appears before a loaded machine's new node sends its banner; a submit
      // in that window is rightly `Job Submitted` (delivered in the background). Steps that
      // expect `Job Started` need the executor answering, as the submitter dials it.
      await waitFor("exec's control service answers the submitter's dial", async () => {
        try {
          const conn = await dial("exec", "", AbortSignal.timeout(5000));
          (await RemoteControlClient.open(conn, "exec")).close();
          return true;
        } catch {
          return false;
        }
      });
    };
    const stopExec = async () => {
      await exec?.stop();
      exec = undefined;
    };
    const execUnitDir = (rid: string) => `${execDir}/data/exec/${rid}`;
    const sub = new Submitter(root, `${root}/sub.sock`, dial, keys.privateKey);
    const remoteId = async (id: string): Promise<string> => {
      const s = await sub.status(id);
      return s.ExtraData.RemoteUnitID;
    };
    /** An `upper` unit that Succeeded, then exec stopped and its release answered as pending. */
    const releasePendingWithExecDown = async (payload: string) => {
      const r = await submit(sub.sock, { node: "exec", worktype: "upper" }, payload);
      const id = r.unitid!;
      await sub.waitState(id, "Succeeded");
      const rid = await remoteId(id);
      await stopExec();
      assertEquals(
        await ctl(sub.sock, `work release ${id}`),
        JSON.stringify({ "release pending": id }),
      );
      return { id, rid };
    };
    try {
      await startExec();
      await sub.start();

      await t.step("upper-case echo: Succeeded, identical stdout, ExtraData fields", async () => {
        const r = await submit(
          sub.sock,
          { node: "exec", worktype: "upper" },
          "hello remote\nsecond line\n",
        );
        assertEquals(r.result, "Job Started", r.lines.join(" | "));
        const id = r.unitid!;
        const s = await sub.waitState(id, "Succeeded");
        assertEquals(s.Detail, "exit status 0");
        assertEquals(s.WorkType, "remote");
        assertEquals(Object.keys(s.ExtraData), [...REMOTE_EXTRA_DATA_KEYS]);
        assertEquals(s.ExtraData.RemoteNode, "exec");
        assertEquals(s.ExtraData.RemoteWorkType, "upper");
        assertEquals(s.ExtraData.RemoteStarted, true);
        assertEquals(s.ExtraData.Expiration, "0001-01-01T00:00:00Z");
        const rid = s.ExtraData.RemoteUnitID;
        assertMatch(rid, /^[A-Za-z0-9]{8}$/);
        assert(rid !== id, "remote and local unit IDs differ");
        assertEquals(await results(sub.sock, id), "HELLO REMOTE\nSECOND LINE\n");
        assertEquals(
          await Deno.readFile(`${sub.unitDir(id)}/stdout`),
          await Deno.readFile(`${execUnitDir(rid)}/stdout`),
        );
        assertEquals(s.StdoutSize, 25);
        assertEquals(
          await Deno.readTextFile(`${sub.unitDir(id)}/stdin`),
          "hello remote\nsecond line\n",
        );
      });

      await t.step("a connection kept from before an executor restart is replaced", async () => {
        const a = await submit(sub.sock, { node: "exec", worktype: "upper" }, "before\n");
        await sub.waitState(a.unitid!, "Succeeded");
        // The status loop hands its connection back once the stdout mirror is done too. Wait for
        // every mirror to end: one still running (this unit's, or the previous step's) would
        // redial after the restart and keep a fresh connection, which b would then take.
        await waitFor(
          "the finished status loops kept their connection",
          () =>
            Promise.resolve(sub.remote.backgroundTasks === 0 && sub.remote.idleConnections >= 1),
        ).catch((e) => {
          throw new Error(
            `${e.message}\nsubmitter log (last 40):\n${sub.log.slice(-40).join("\n")}`,
          );
        });
        await stopExec();
        await startExec();
        // the next unit's status loop and the release take connections to the old executor
        const b = await submit(sub.sock, { node: "exec", worktype: "upper" }, "after\n");
        assertEquals(b.result, "Job Started", b.lines.join(" | "));
        await sub.waitState(b.unitid!, "Succeeded");
        assertEquals(await results(sub.sock, b.unitid!), "AFTER\n");
        assert(
          sub.log.some((l) => l.includes(`[${b.unitid}] kept connection to exec is gone`)),
          "the status loop found the kept connection dead and dialled again\n" +
            sub.log.slice(-60).join("\n"),
        );
        for (const id of [a.unitid!, b.unitid!]) {
          assertEquals(await ctl(sub.sock, `work release ${id}`), JSON.stringify({ released: id }));
        }
        assert(sub.remote.idleConnections >= 1, "fresh connections were kept in their place");
      });

      await t.step(
        "a release on a kept connection that went silent is sent on a fresh one",
        async () => {
          const c = await submit(sub.sock, { node: "exec", worktype: "upper" }, "silent\n");
          await sub.waitState(c.unitid!, "Succeeded");
          await waitFor(
            "the finished status loop kept its connection",
            () =>
              Promise.resolve(sub.remote.backgroundTasks === 0 && sub.remote.idleConnections >= 1),
          );
          // as if exec restarted and no error (reset, EOF) ever reached us: nothing comes back
          for (const w of wires) w.muted = true;
          assertEquals(
            await ctl(sub.sock, `work release ${c.unitid}`),
            JSON.stringify({ released: c.unitid }),
          );
          assert(
            sub.log.some((l) =>
              l.includes(`[${c.unitid}] kept connection to exec failed`) && l.includes("no reply")
            ),
            "the release gave up on the silent connection:\n" + sub.log.slice(-20).join("\n"),
          );
        },
      );

      await t.step("a remote failure is mirrored as Failed", async () => {
        const r = await submit(sub.sock, { node: "exec", worktype: "fail3" });
        assertEquals(r.result, "Job Started");
        const s = await sub.waitState(r.unitid!, "Failed");
        assertEquals(s.Detail, "exit status 3");
        await waitFor(
          "failed stdout mirrored",
          async () => (await Deno.readTextFile(`${sub.unitDir(r.unitid!)}/stdout`)) === "oops\n",
        );
        assertEquals(await Deno.readTextFile(`${sub.unitDir(r.unitid!)}/stdout`), "oops\n");
      });

      await t.step("remote submit errors", async () => {
        const bad = await submit(sub.sock, { node: "exec", worktype: "nosuch" });
        assertEquals(
          bad.lines[1],
          "ERROR: could not parse response: ERROR: unknown work type nosuch",
        );
        const sec = await submit(sub.sock, { node: "exec", worktype: "upper", secret_x: "1" });
        assertEquals(sec.lines, ["ERROR: cannot send secrets over a non-TLS connection"]);
        const tls = await submit(sub.sock, { node: "exec", worktype: "upper", tlsclient: "nope" });
        assertEquals(tls.lines, ["ERROR: unknown TLS config nope"]);
        const ttl = await submit(sub.sock, { node: "exec", worktype: "upper", ttl: "5x" });
        assertEquals(ttl.lines, [`ERROR: time: unknown unit "x" in duration "5x"`]);
        const local = await submit(sub.sock, { node: "localhost", worktype: "upper", ttl: "5s" });
        assertEquals(local.lines, ["ERROR: ttl option is intended for remote work only"]);
      });

      await t.step("secret_ params are forwarded but hidden from list/status", async () => {
        const r = await submit(sub.sock, {
          node: "exec",
          worktype: "upper",
          tlsclient: "fake-tls",
          secret_token: "s3cret",
          plain: "visible",
        }, "x\n");
        assertEquals(r.result, "Job Started");
        const id = r.unitid!;
        const s = await sub.waitState(id, "Succeeded");
        assertEquals(s.ExtraData.RemoteParams, { plain: "visible" });
        assertEquals(s.ExtraData.TLSClient, "fake-tls");
        const list = await ctlJson(sub.sock, "work list");
        assertEquals(list[id].ExtraData.RemoteParams, { plain: "visible" });
        assert(!(await ctl(sub.sock, "work list")).includes("s3cret"), "secret in work list");
        const onDisk = await Deno.readTextFile(`${sub.unitDir(id)}/status`);
        assert(onDisk.includes(`"secret_token":"s3cret"`), "status file keeps the secret");
      });

      await t.step("cancel a remote sleep: Canceled on both sides", async () => {
        const r = await submit(sub.sock, { node: "exec", worktype: "sleeper" });
        const id = r.unitid!;
        await sub.waitState(id, "Running");
        const rid = await remoteId(id);
        assertEquals(await ctl(sub.sock, `work cancel ${id}`), JSON.stringify({ cancelled: id }));
        const s = await sub.waitState(id, "Canceled");
        assertEquals(s.ExtraData.LocalCancelled, true);
        const rs = await ctlJson(execSock, `work status ${rid}`);
        assertEquals(rs.StateName, "Canceled");
        // release afterwards: remote deleted first, then local
        assertEquals(await ctl(sub.sock, `work release ${id}`), JSON.stringify({ released: id }));
        assert(!(await exists(execUnitDir(rid))), "remote unit directory removed");
        assert(!(await exists(sub.unitDir(id))), "local unit directory removed");
        assertEquals(await ctl(sub.sock, `work status ${id}`), `ERROR: unknown work unit ${id}`);
      });

      await t.step("release with the executor down: pending, completed later", async () => {
        const { id, rid } = await releasePendingWithExecDown("abc\n");
        const s = await sub.status(id);
        assertEquals(s.ExtraData.LocalReleased, true);
        assert(await exists(execUnitDir(rid)), "remote unit still there while executor is down");
        await startExec();
        await waitFor("remote unit deleted", async () => !(await exists(execUnitDir(rid))));
        assert(!(await exists(execUnitDir(rid))), "remote unit directory removed");
        await waitFor(
          "local unit deleted",
          async () =>
            (await ctl(sub.sock, `work status ${id}`)).startsWith("ERROR: unknown work unit"),
        );
        assert(!(await exists(sub.unitDir(id))), "local unit directory removed");
      });

      await t.step(
        "executor unreachable at submit: Job Submitted, Pending, then runs",
        async () => {
          await stopExec();
          const r = await submit(sub.sock, { node: "exec", worktype: "upper" }, "late\n");
          assertEquals(r.result, "Job Submitted");
          const id = r.unitid!;
          const s = await sub.status(id);
          assertEquals(s.StateName, "Pending");
          assertEquals(s.ExtraData.RemoteStarted, false);
          await startExec();
          await sub.waitState(id, "Succeeded");
          assertEquals(await results(sub.sock, id), "LATE\n");
        },
      );

      await t.step("ttl elapses before the remote start: Failed, expired", async () => {
        await stopExec();
        const r = await submit(sub.sock, { node: "exec", worktype: "upper", ttl: "1s" });
        assertEquals(r.result, "Job Submitted");
        const s = await sub.waitState(r.unitid!, "Failed", 10_000);
        assertMatch(
          s.Detail,
          /^Work unit expired on [A-Z][a-z]{2} [A-Z][a-z]{2} \d+ \d\d:\d\d:\d\d$/,
        );
        assert(s.ExtraData.Expiration !== "0001-01-01T00:00:00Z", "expiration recorded");
        await startExec();
      });

      await t.step("a submitter restart before the remote start fails the unit", async () => {
        await stopExec();
        const r = await submit(sub.sock, { node: "exec", worktype: "upper" });
        assertEquals(r.result, "Job Submitted");
        await sub.stop();
        await sub.start();
        const s = await sub.status(r.unitid!);
        assertEquals(s.StateName, "Failed");
        assertEquals(s.Detail, "Failed to restart: remote work had not previously started");
        await startExec();
      });

      await t.step("kill -9 of the executor mid-job: the unit still completes", async () => {
        const r = await submit(sub.sock, { node: "exec", worktype: "shell", params: SLOW });
        assertEquals(r.result, "Job Started");
        const id = r.unitid!;
        await waitFor("some output mirrored", async () => (await sub.status(id)).StdoutSize > 0);
        const rid = await remoteId(id);
        exec!.kill("SIGKILL");
        await exec!.wait();
        exec = undefined;
        await startExec();
        const s = await sub.waitState(id, "Succeeded", 40_000);
        assertEquals(s.Detail, "exit status 0");
        await waitFor(
          "stdout complete",
          async () => (await Deno.stat(`${sub.unitDir(id)}/stdout`)).size === s.StdoutSize,
        );
        const text = await Deno.readTextFile(`${sub.unitDir(id)}/stdout`);
        assertEquals(text.split("\n").length, 41);
        assertEquals(
          await sha256File(`${sub.unitDir(id)}/stdout`),
          await sha256File(`${execUnitDir(rid)}/stdout`),
        );
      });

      await t.step("submitter restart mid-job: mirroring resumes without duplication", async () => {
        const r = await submit(sub.sock, { node: "exec", worktype: "shell", params: SLOW });
        const id = r.unitid!;
        await waitFor("some output mirrored", async () => (await sub.status(id)).StdoutSize > 0);
        const rid = await remoteId(id);
        await sub.stop();
        const before = (await Deno.stat(`${sub.unitDir(id)}/stdout`)).size;
        await sub.start();
        const s = await sub.waitState(id, "Succeeded", 40_000);
        await waitFor(
          "stdout complete",
          async () => (await Deno.stat(`${sub.unitDir(id)}/stdout`)).size === s.StdoutSize,
        );
        const text = await Deno.readTextFile(`${sub.unitDir(id)}/stdout`);
        const expected = Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`).join("");
        assertEquals(text, expected);
        assert(before < s.StdoutSize, "restart happened mid-job");
        assertEquals(
          await sha256File(`${sub.unitDir(id)}/stdout`),
          await sha256File(`${execUnitDir(rid)}/stdout`),
        );
      });

      await t.step("cancel with the executor down: pending, then Canceled", async () => {
        const r = await submit(sub.sock, { node: "exec", worktype: "sleeper" });
        const id = r.unitid!;
        await sub.waitState(id, "Running");
        const rid = await remoteId(id);
        await stopExec();
        assertEquals(
          await ctl(sub.sock, `work cancel ${id}`),
          JSON.stringify({ "cancel pending": id }),
        );
        await startExec();
        await sub.waitState(id, "Canceled");
        assertEquals((await ctlJson(execSock, `work status ${rid}`)).StateName, "Canceled");
        assertEquals(await ctl(sub.sock, `work release ${id}`), JSON.stringify({ released: id }));
      });

      await t.step("a pending release is resent after a submitter restart", async () => {
        const { id, rid } = await releasePendingWithExecDown("q\n");
        await sub.stop();
        await startExec();
        assert(await exists(execUnitDir(rid)), "remote unit kept while the submitter is down");
        await sub.start();
        await waitFor("remote unit deleted", async () => !(await exists(execUnitDir(rid))));
        await waitFor("local unit deleted", async () => !(await exists(sub.unitDir(id))));
        assert(!(await exists(execUnitDir(rid))), "remote unit dir left after the release");
        assert(!(await exists(sub.unitDir(id))), "local unit dir left after the release");
      });

      await t.step("signed work: tokens verified by the executor over TCP", async () => {
        transport = "tcp";
        try {
          const r = await submit(
            sub.sock,
            { node: "exec", worktype: "signed", signwork: "true" },
            "signed payload\n",
          );
          assertEquals(r.result, "Job Started", r.lines.join(" | "));
          const id = r.unitid!;
          const s = await sub.waitState(id, "Succeeded");
          assertEquals(s.ExtraData.SignWork, true);
          assertEquals(await results(sub.sock, id), "signed payload\n");
          const rid = s.ExtraData.RemoteUnitID;
          assertEquals(await ctl(sub.sock, `work release ${id}`), JSON.stringify({ released: id }));
          assert(!(await exists(execUnitDir(rid))), "remote unit released with a signed request");
          // Without a token the executor refuses over TCP.
          const unsigned = await submit(sub.sock, { node: "exec", worktype: "signed" });
          assertEquals(
            unsigned.lines[1],
            "ERROR: could not parse response: ERROR: could not verify signature: signature is empty",
          );
        } finally {
          transport = "unix";
        }
        const extra = await submit(sub.sock, { node: "exec", worktype: "upper", signwork: "true" });
        assertEquals(
          extra.lines[1],
          "ERROR: could not parse response: ERROR: work type did not expect a signature",
        );
      });

      await t.step("remote unit gone: Failed, release error, force-release", async () => {
        const r = await submit(sub.sock, { node: "exec", worktype: "sleeper" });
        const id = r.unitid!;
        await sub.waitState(id, "Running");
        const rid = await remoteId(id);
        assertEquals(await ctl(execSock, `work release ${rid}`), JSON.stringify({ released: rid }));
        const s = await sub.waitState(id, "Failed");
        assertEquals(
          s.Detail,
          `Remote work unit is gone: node exec no longer knows unit ${rid} (released there, ` +
            "or the node restarted without its data)",
        );
        assertEquals(
          await ctl(sub.sock, `work release ${id}`),
          `ERROR: error cancelling remote unit:  unknown work unit ${rid}`,
        );
        assertEquals(
          await ctl(sub.sock, `work force-release ${id}`),
          JSON.stringify({ released: id }),
        );
        assert(!(await exists(sub.unitDir(id))), "local unit removed");
      });
    } finally {
      await sub.stop().catch(() => {});
      // Cancel anything still running on the executor so no runner outlives the test.
      if (exec) {
        const units = await ctlJson(execSock, "work list").catch(() => ({}));
        for (const id of Object.keys(units)) {
          await ctl(execSock, `work release ${id}`).catch(() => {});
        }
      }
      await stopExec();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
