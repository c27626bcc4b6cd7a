/**
 * The `work` control command driven through a fake ControlSession (records reply lines and
 * raw bytes, feeds a payload stream), over a real engine with real runners.
 */
import { waitFor } from "../helpers/net.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { makeWorkCommand } from "../../src/control/work_command.ts";
import type { WorkCommandOptions } from "../../src/control/work_command.ts";
import type {
  ControlOutcome,
  ControlRequest,
  ControlSession,
  ControlTransportKind,
} from "../../src/control/types.ts";
import type { WorkEngine } from "../../src/work/engine.ts";
import { detailPid, streamOf, waitGone, withEngine } from "./work_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A control session that records what the command writes. */
class FakeSession implements ControlSession {
  lines: string[] = [];
  raw: Uint8Array[] = [];
  closed = false;
  failWritesAfter = Infinity;
  constructor(
    readonly transport: ControlTransportKind = "unix",
    private payload: ReadableStream<Uint8Array> = streamOf(),
  ) {}
  writeLine(line: string): Promise<void> {
    this.lines.push(line);
    return Promise.resolve();
  }
  write(bytes: Uint8Array): Promise<void> {
    if (this.raw.length >= this.failWritesAfter) {
      return Promise.reject(new Error("connection reset by peer"));
    }
    this.raw.push(bytes.slice());
    return Promise.resolve();
  }
  readRest(): ReadableStream<Uint8Array> {
    return this.payload;
  }
  rawWritable(): WritableStream<Uint8Array> {
    return new WritableStream({ write: (c) => void this.raw.push(c) });
  }
  close(): void {
    this.closed = true;
  }
  rawText(): string {
    return new TextDecoder().decode(
      this.raw.reduce((a, b) => {
        const o = new Uint8Array(a.length + b.length);
        o.set(a);
        o.set(b, a.length);
        return o;
      }, new Uint8Array(0)),
    );
  }
}

/** Run one command line the way the session loop would and return the wire lines. */
async function run(
  e: WorkEngine,
  line: string | Record<string, unknown>,
  session = new FakeSession(),
  cmdOpts: Partial<WorkCommandOptions> = {},
): Promise<{ out: string[]; outcome: ControlOutcome; session: FakeSession }> {
  const cmd = makeWorkCommand(e, { nodeId: "node1", ...cmdOpts });
  assertEquals(cmd.name, "work");
  let req: ControlRequest;
  if (typeof line === "string") {
    const sp = line.indexOf(" ");
    req = { form: "text", command: "work", params: sp < 0 ? "" : line.slice(sp + 1) };
  } else {
    req = { form: "json", command: "work", json: { command: "work", ...line } };
  }
  const outcome = await cmd.run(session, req);
  if (outcome.kind === "reply") session.lines.push(JSON.stringify(outcome.value));
  if (outcome.kind === "error") session.lines.push(`ERROR: ${outcome.message}`);
  return { out: session.lines, outcome, session };
}

const createdRe = /^Work unit created with ID ([0-9a-zA-Z]{8})\. Send stdin data and EOF\.$/;

async function submitText(e: WorkEngine, line: string, payload: string): Promise<string> {
  const { out } = await run(e, line, new FakeSession("unix", streamOf(payload)));
  assertEquals(out.length, 2, out.join(" | "));
  const id = createdRe.exec(out[0])![1];
  assertEquals(out[1], `{"result":"Job Started","unitid":"${id}"}`);
  return id;
}

async function statusOf(e: WorkEngine, id: string): Promise<Record<string, unknown>> {
  const { out } = await run(e, `work status ${id}`);
  return JSON.parse(out[0]);
}

/**
 * Waits for `state` and returns the FIRST status seen in it: a finished unit's ExtraData is
 * cleared in the same status update as its final state, so callers may assert it at once.
 */
function waitStateVia(e: WorkEngine, id: string, state: number) {
  return waitFor(`state ${state}`, async () => {
    const s = await statusOf(e, id);
    return s.State === state ? s : null;
  });
}

Deno.test({
  ...opts,
  name: "work command: text submit, status, results, list, release",
  fn: () =>
    withEngine(async (e) => {
      assertEquals((await run(e, "work list")).out, ["{}"]);
      const id = await submitText(e, "work submit localhost upper", "hello\n");
      const s = await waitStateVia(e, id, 2);
      assertEquals(s, {
        Detail: "exit status 0",
        ExtraData: null,
        State: 2,
        StateName: "Succeeded",
        StdoutSize: 6,
        WorkType: "upper",
      });
      const r = await run(e, `work results ${id}`);
      assertEquals(r.outcome, { kind: "raw", close: true });
      assertEquals(r.out, [`Streaming results for work unit ${id}`]);
      assertEquals(r.session.rawText(), "HELLO\n");
      const r2 = await run(e, { subcommand: "results", unitid: id, startpos: 2 });
      assertEquals(r2.session.rawText(), "LLO\n");
      const r3 = await run(e, `work results ${id} 3`);
      assertEquals(r3.session.rawText(), "LO\n");
      const list = JSON.parse((await run(e, "work list")).out[0]);
      assertEquals(Object.keys(list), [id]);
      assertEquals(JSON.parse((await run(e, `work list ${id} extra`)).out[0])[id].State, 2);
      assertEquals((await run(e, `work release ${id}`)).out, [`{"released":"${id}"}`]);
      assertEquals((await run(e, "work list")).out, ["{}"]);
      assertEquals((await run(e, `work status ${id}`)).out, [`ERROR: unknown work unit ${id}`]);
    }),
});

Deno.test({
  ...opts,
  name: "work command: JSON submit with own node ID, runtime params, payload streamed",
  fn: () =>
    withEngine(async (e) => {
      const big = "x".repeat(200_000) + "\n";
      const session = new FakeSession("tcp", streamOf(big.slice(0, 1000), big.slice(1000)));
      const { out } = await run(e, {
        subcommand: "submit",
        node: "node1",
        worktype: "shell",
        params: "-c 'wc -c'",
      }, session);
      const id = createdRe.exec(out[0])![1];
      assertEquals(JSON.parse(out[1]), { result: "Job Started", unitid: id });
      await waitStateVia(e, id, 2);
      const r = await run(e, `work results ${id}`);
      assertEquals(r.session.rawText().trim(), "200001");
      // text form joins tokens 4+ with single spaces into params
      const id2 = await submitText(e, "work submit LOCALHOST args a  b", "");
      await waitStateVia(e, id2, 2);
      // ("a  b": the empty token is kept in the joined params; shlex then drops it)
      assertEquals((await run(e, `work results ${id2}`)).session.rawText(), "a|b|");
    }),
});

Deno.test({
  ...opts,
  name: "work command: submit refusals with upstream error texts",
  fn: () =>
    withEngine(async (e, dir) => {
      const cases: [string | Record<string, unknown>, string][] = [
        ["work submit localhost nosuchtype", "ERROR: unknown work type nosuchtype"],
        ["work submit localhost", "ERROR: work submit requires a target node and work type"],
        [
          { subcommand: "submit", node: "localhost", worktype: "upper", x: 5 },
          "ERROR: submit parameters must all be strings and x is not",
        ],
        [{ subcommand: "submit", worktype: "upper" }, "ERROR: field node missing"],
        [{ subcommand: "submit", node: "localhost" }, "ERROR: field worktype missing"],
        [
          { subcommand: "submit", node: "localhost", worktype: "upper", ttl: "20s" },
          "ERROR: ttl option is intended for remote work only",
        ],
        [
          { subcommand: "submit", node: "localhost", worktype: "upper", params: "-d" },
          "ERROR: extra params provided but not allowed",
        ],
        ["work submit otherNode upper", "ERROR: remote work is not available"],
        [
          { subcommand: "submit", node: "localhost", worktype: "upper", signature: "abc" },
          "ERROR: work type did not expect a signature",
        ],
      ];
      for (const [line, want] of cases) {
        const { out } = await run(e, line);
        assertEquals(out, [want], JSON.stringify(line));
      }
      // nothing was created by any refusal
      assertEquals((await run(e, "work list")).out, ["{}"]);
      assertEquals([...Deno.readDirSync(`${dir}/node1`)].length, 0);
    }),
});

Deno.test({
  ...opts,
  name: "work command: parsing errors for list/status/results/cancel and bad subcommands",
  fn: () =>
    withEngine(async (e) => {
      const cases: [string | Record<string, unknown>, string][] = [
        ["work", "ERROR: bad command"],
        ["work frobnicate x", "ERROR: bad command"],
        [{ unitid: "x" }, "ERROR: field subcommand missing"],
        [{ subcommand: 5 }, "ERROR: field subcommand must be a string"],
        [{ subcommand: "nope" }, "ERROR: bad command"],
        ["work status", "ERROR: work status requires a unit ID"],
        ["work status a b", "ERROR: work status does not take parameters after the unit ID"],
        ["work cancel", "ERROR: work cancel requires a unit ID"],
        ["work release a b", "ERROR: work release does not take parameters after the unit ID"],
        ["work status abc", "ERROR: unknown work unit abc"],
        ["work status ../etc", "ERROR: unknown work unit ../etc"],
        ["work list nope", "ERROR: unknown work unit nope"],
        ["work cancel nope", "ERROR: unknown work unit nope"],
        ["work release nope", "ERROR: unknown work unit nope"],
        ["work force-release nope", "ERROR: unknown work unit nope"],
        ["work results nope", "ERROR: unknown work unit nope"],
        ["work results", "ERROR: work results requires a unit ID"],
        [
          "work results a 1 2",
          "ERROR: work results only takes a unit ID and optional start position",
        ],
        [
          "work results a x",
          `ERROR: error converting start position to integer: strconv.ParseInt: parsing "x": invalid syntax`,
        ],
        [{ subcommand: "status" }, "ERROR: field unitid missing"],
        [{ subcommand: "status", unitid: 5 }, "ERROR: field unitid must be a string"],
        [{ subcommand: "results", unitid: "a" }, "ERROR: field startpos missing"],
        [
          { subcommand: "results", unitid: "a", startpos: true },
          "ERROR: field startpos value true is not convertible to an int",
        ],
        [{ subcommand: "RESULTS", unitid: "a", startpos: "5" }, "ERROR: unknown work unit a"],
      ];
      for (const [line, want] of cases) {
        const { out } = await run(e, line);
        assertEquals(out, [want], JSON.stringify(line));
      }
    }),
});

Deno.test({
  ...opts,
  name: "work command: cancel a running sleep, cancel a finished unit, force-release",
  fn: () =>
    withEngine(async (e) => {
      const id = await submitText(e, "work submit localhost sleeper", "");
      const s = await waitStateVia(e, id, 1);
      const pid = detailPid(s.Detail as string);
      assertEquals((await run(e, { subcommand: "cancel", unitid: id })).out, [
        `{"cancelled":"${id}"}`,
      ]);
      const after = await statusOf(e, id);
      assertEquals([after.State, after.StateName, after.Detail], [4, "Canceled", "Canceled"]);
      await waitGone(pid);
      const done = await submitText(e, "work submit localhost upper", "a");
      await waitStateVia(e, done, 2);
      assertEquals((await run(e, `work cancel ${done}`)).out, [`{"cancelled":"${done}"}`]);
      assertEquals((await statusOf(e, done)).State, 2);
      assertEquals((await run(e, `work force-release ${id}`)).out, [`{"released":"${id}"}`]);
      assertEquals(
        (await run(e, { subcommand: "release", unitid: done })).out,
        [`{"released":"${done}"}`],
      );
      assertEquals((await run(e, "work list")).out, ["{}"]);
    }),
});

Deno.test({
  ...opts,
  name: "work command: results of a running unit stream live; a vanished client does not hang",
  fn: () =>
    withEngine(async (e) => {
      const id = await submitText(
        e,
        'work submit localhost shell -c "echo one; sleep 1; echo two"',
        "",
      );
      const live = new FakeSession();
      const pending = run(e, `work results ${id}`, live);
      await waitFor("first line", () => live.rawText() === "one\n");
      assert(((await statusOf(e, id)).State as number) < 2, "not finished yet");
      await pending;
      assertEquals(live.rawText(), "one\ntwo\n");
      assertEquals((await statusOf(e, id)).State, 2);
      // client that fails on the first raw write
      const id2 = await submitText(e, 'work submit localhost shell -c "echo a; sleep 30"', "");
      const gone = new FakeSession();
      gone.failWritesAfter = 0;
      const r = await run(e, `work results ${id2}`, gone);
      assertEquals(r.outcome, { kind: "raw", close: true });
      // cancel reaches the shell's own child too (process-group SIGINT): quick, no orphans
      const s2 = await waitStateVia(e, id2, 1);
      const shPid = detailPid(s2.Detail as string);
      const sleepPid = Number(
        (await Deno.readTextFile(`/proc/${shPid}/task/${shPid}/children`)).trim().split(" ")[0],
      );
      assert(sleepPid > 0, "sleep child found");
      const t0 = Date.now();
      assertEquals((await run(e, `work release ${id2}`)).out, [`{"released":"${id2}"}`]);
      assert(Date.now() - t0 < 5000, "cancel did not need the 10 s SIGKILL escalation");
      await waitGone(shPid);
      await waitGone(sleepPid);
    }),
});

Deno.test({
  ...opts,
  name: "work command: signature rules (unix exempt, hook over tcp, refusal without hook)",
  fn: () =>
    withEngine(async (e) => {
      // over tcp without a verification hook
      const { out } = await run(e, {
        subcommand: "submit",
        node: "localhost",
        worktype: "signed",
      }, new FakeSession("tcp"));
      assertEquals(out, ["ERROR: could not verify signature: verifying key not specified"]);
      // over the unix socket: accepted unchecked
      const id = await submitText(e, "work submit localhost signed", "data");
      await waitStateVia(e, id, 2);
      // with a hook: it sees the work type and signature, and its error is the reply
      const seen: string[] = [];
      const hook: WorkCommandOptions = {
        nodeId: "node1",
        verifySignature: ({ workType, signature, session }) => {
          seen.push(`${workType}:${signature}:${session.transport}`);
          if (signature !== "good") {
            throw new Error("could not verify signature: crypto/rsa: verification error");
          }
        },
      };
      const bad = await run(
        e,
        { subcommand: "results", unitid: id, startpos: 0, signature: "bad" },
        new FakeSession("mesh"),
        hook,
      );
      assertEquals(bad.out, [
        "ERROR: could not verify signature: crypto/rsa: verification error",
      ]);
      const good = await run(
        e,
        { subcommand: "results", unitid: id, startpos: 0, signature: "good" },
        new FakeSession("mesh"),
        hook,
      );
      assertEquals(good.session.rawText(), "data");
      assertEquals(seen, ["signed:bad:mesh", "signed:good:mesh"]);
      assert(good.out[0].startsWith("Streaming results"));
      // a signature sent for a type that does not verify
      const other = await submitText(e, "work submit localhost upper", "x");
      await waitStateVia(e, other, 2);
      assertEquals(
        (await run(e, { subcommand: "cancel", unitid: other, signature: "s" })).out,
        ["ERROR: work type did not expect a signature"],
      );
    }),
});

Deno.test({
  ...opts,
  name: "work command: created-line id format and stdin equals payload",
  fn: () =>
    withEngine(async (e, dir) => {
      const id = await submitText(e, "work submit localhost upper", "payload\x00\xff");
      assertMatch(id, /^[0-9a-zA-Z]{8}$/);
      assertEquals(
        await Deno.readFile(`${dir}/node1/${id}/stdin`),
        new TextEncoder().encode("payload\x00\xff"),
      );
      await waitStateVia(e, id, 2);
    }),
});
