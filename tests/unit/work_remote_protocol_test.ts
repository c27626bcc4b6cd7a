/** Sans-IO pieces of remote work: ExtraData shape, redaction, requests, reply parsing, ttl. */
import { REMOTE_EXTRA_DATA_KEYS } from "../helpers/work.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  Backoff,
  cancelReplyError,
  cancelRequest,
  expirationAt,
  expirationMs,
  expiredDetail,
  goStampNoYear,
  normalizeExtra,
  parseCreatedLine,
  parseStatusReply,
  parseSubmitResult,
  PollBackoff,
  redactExtra,
  resultsRequest,
  submitRequest,
  ZERO_TIME,
} from "../../src/work/remote_protocol.ts";
import { RemoteUnitType } from "../../src/work/remote_unit.ts";
import { remoteAllocParams } from "../../src/work/submit_protocol.ts";
import { Logger } from "../../src/log.ts";
import { RemoteConnectError, RemoteControlClient } from "../../src/work/remote_control_client.ts";

Deno.test("normalizeExtra: upstream key order and Go zero values", () => {
  const ed = normalizeExtra({ RemoteNode: "bar", SignWork: true, RemoteParams: { a: "1", n: 2 } });
  assertEquals(Object.keys(ed), [...REMOTE_EXTRA_DATA_KEYS]);
  assertEquals(ed.RemoteNode, "bar");
  assertEquals(ed.RemoteParams, { a: "1" });
  assertEquals(ed.SignWork, true);
  assertEquals(ed.Expiration, ZERO_TIME);
  assertEquals(normalizeExtra(null).RemoteUnitID, "");
  assertEquals(normalizeExtra("Unknown WorkType").RemoteStarted, false);
});

Deno.test("redactExtra drops secret_ params in any case, keeps the rest", () => {
  const ed = normalizeExtra({
    RemoteParams: { secret_kube_pod: "x", SECRET_Other: "y", params: "--a", secretive: "ok" },
  });
  assertEquals(redactExtra(ed).RemoteParams, { params: "--a", secretive: "ok" });
  assertEquals(Object.keys(ed.RemoteParams).length, 4, "original unchanged");
});

Deno.test("submitRequest forwards params and tlsclient, never ttl or signwork", () => {
  const ed = normalizeExtra({
    RemoteNode: "bar",
    RemoteWorkType: "echo",
    RemoteParams: { params: "hi", secret_k: "s" },
  });
  assertEquals(submitRequest(ed), {
    params: "hi",
    secret_k: "s",
    command: "work",
    subcommand: "submit",
    node: "bar",
    worktype: "echo",
    tlsclient: "",
  });
  assertEquals(submitRequest(ed, "jwt").signature, "jwt");
  assertEquals(resultsRequest("Ab12", 42), {
    command: "work",
    subcommand: "results",
    unitid: "Ab12",
    startpos: 42,
  });
  assertEquals(cancelRequest("Ab12", true, "t"), {
    command: "work",
    subcommand: "release",
    unitid: "Ab12",
    signature: "t",
  });
  assertEquals(cancelRequest("Ab12", false).subcommand, "cancel");
});

Deno.test("reply parsing: created line, submit result, cancel error with two spaces", () => {
  assertEquals(
    parseCreatedLine("Work unit created with ID Zq81aB2c. Send stdin data and EOF."),
    "Zq81aB2c",
  );
  assertEquals(parseCreatedLine("ERROR: unknown work type x"), null);
  assertEquals(parseSubmitResult(`{"result":"Job Started","unitid":"Zq81aB2c"}`), null);
  assertEquals(parseSubmitResult("ERROR: boom"), "boom");
  assertEquals(
    cancelReplyError("ERROR: unknown work unit Zq81aB2c"),
    "error cancelling remote unit:  unknown work unit Zq81aB2c",
  );
  assertEquals(cancelReplyError(`{"cancelled":"Zq81aB2c"}`), null);
});

Deno.test("parseStatusReply: status, gone, other errors, bad JSON", () => {
  assertEquals(
    parseStatusReply(`{"Detail":"exit status 0","State":2,"StdoutSize":30,"WorkType":"echo"}`),
    { kind: "status", State: 2, Detail: "exit status 0", StdoutSize: 30 },
  );
  assertEquals(parseStatusReply("ERROR: unknown work unit X"), { kind: "gone" });
  assertEquals(parseStatusReply("ERROR: something"), { kind: "error", message: "something" });
  assertEquals(parseStatusReply("{nope").kind, "error");
  assertEquals(parseStatusReply("[1]").kind, "error");
});

Deno.test("Backoff: 1 s, x1.5, capped", () => {
  const b = new Backoff(1000, 3000, 1.5);
  assertEquals([b.next(), b.next(), b.next(), b.next()], [1000, 1500, 2250, 3000]);
  b.reset();
  assertEquals(b.next(), 1000);
});

Deno.test("expiration: round trip, zero time, Go stamp without year", () => {
  const now = Date.UTC(2024, 9, 24, 16, 36, 52);
  const text = expirationAt(now, 20_000);
  assertEquals(expirationMs(text), now + 20_000);
  assertEquals(expirationMs(ZERO_TIME), null);
  const d = new Date(2024, 0, 2, 3, 4, 5); // local time
  assertEquals(goStampNoYear(d.getTime()), "Tue Jan 2 03:04:05");
  assert(expiredDetail(text).startsWith("Work unit expired on "));
});

Deno.test("RemoteUnitType.allocate: validation and ExtraData", () => {
  const lines: string[] = [];
  const t = new RemoteUnitType({
    dial: () => Promise.reject(new Error("x")),
    logger: new Logger({ level: "debug", sink: (l) => lines.push(l) }),
    releaseLocal: () => Promise.resolve(),
    hasTlsClient: (n) => n === "tc",
    now: () => Date.UTC(2024, 0, 1),
  });
  const spec = { node: "bar", workType: "echo", tlsClient: "", ttl: "", signWork: false };
  const ed = t.allocate(remoteAllocParams(spec, { params: "a" }));
  assertEquals(ed.RemoteNode, "bar");
  assertEquals(ed.RemoteWorkType, "echo");
  assertEquals(ed.RemoteParams, { params: "a" });
  assertEquals(ed.Expiration, ZERO_TIME);
  const err = (p: Record<string, string>) => {
    try {
      t.allocate(p);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assertEquals(
    err(remoteAllocParams(spec, { Secret_x: "1" })),
    "cannot send secrets over a non-TLS connection",
  );
  assertEquals(err(remoteAllocParams({ ...spec, tlsClient: "zz" }, {})), "unknown TLS config zz");
  assertEquals(
    t.allocate(remoteAllocParams({ ...spec, tlsClient: "tc" }, { secret_x: "1" })).TLSClient,
    "tc",
  );
  assertEquals(err(remoteAllocParams({ ...spec, ttl: "abc" }, {})), `time: invalid duration "abc"`);
  const withTtl = t.allocate(remoteAllocParams({ ...spec, ttl: "1m30s", signWork: true }, {}));
  assertEquals(expirationMs(withTtl.Expiration), Date.UTC(2024, 0, 1) + 90_000);
  assertEquals(withTtl.SignWork, true);
  assert(err({ params: "x" }).includes("remote"), "direct submission of type remote refused");
  const shown = t.redact({
    State: 0,
    Detail: "",
    StdoutSize: 0,
    WorkType: "remote",
    ExtraData: { RemoteParams: { secret_a: "s", b: "c" } },
  });
  assertEquals((shown.ExtraData as { RemoteParams: unknown }).RemoteParams, { b: "c" });
});

/** An in-memory duplex whose incoming bytes are `incoming` (kept open unless `end`). */
function memConn(incoming: string, end = false) {
  let closed = false;
  const written: string[] = [];
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      if (incoming) c.enqueue(new TextEncoder().encode(incoming));
      if (end) c.close();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      written.push(new TextDecoder().decode(chunk));
    },
  });
  return {
    conn: {
      readable,
      writable,
      close() {
        closed = true;
      },
    },
    written,
    isClosed: () => closed,
  };
}

Deno.test("RemoteControlClient: banner must contain the node ID, within the timeout", async () => {
  const ok = memConn('Receptor Control, node bar\n{"x":1}\n');
  const c = await RemoteControlClient.open(ok.conn, "bar");
  await c.writeLine("work status X");
  assertEquals(ok.written, ["work status X\n"]);
  assertEquals(await c.readLine(), `{"x":1}`);
  c.close();
  assert(ok.isClosed(), "closed");

  const wrong = memConn("Receptor Control, node foo\n");
  const e1 = await RemoteControlClient.open(wrong.conn, "bar").catch((e) => e);
  assert(e1 instanceof RemoteConnectError, "connect error");
  assertEquals(e1.message, "while expecting node ID bar, got message: Receptor Control, node foo");
  assert(wrong.isClosed(), "closed after a wrong banner");

  const silent = memConn("");
  const e2 = await RemoteControlClient.open(silent.conn, "bar", { timeoutMs: 50 }).catch((e) => e);
  assertEquals(e2.message, "timed out reading the banner");

  const eof = memConn("", true);
  const e3 = await RemoteControlClient.open(eof.conn, "bar").catch((e) => e);
  assertEquals(e3.message, "connection closed before the banner");
});

Deno.test("RemoteControlClient: aborting a read closes the connection", async () => {
  const m = memConn("Receptor Control, node bar\n");
  const c = await RemoteControlClient.open(m.conn, "bar");
  const ac = new AbortController();
  const p = c.readLine(ac.signal).catch((e) => e);
  ac.abort();
  assertEquals((await p).message, "aborted");
  assert(m.isClosed(), "closed on abort");
});

Deno.test("PollBackoff: 50 ms twice, then doubling to the poll period", () => {
  const b = new PollBackoff(1000);
  assertEquals(Array.from({ length: 7 }, () => b.next()), [50, 50, 100, 200, 400, 800, 1000]);
  const short = new PollBackoff(80);
  assertEquals([short.next(), short.next(), short.next()], [50, 50, 80]);
});
