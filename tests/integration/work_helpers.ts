/**
 * Shared helpers for the work integration tests: engines whose runners run the test entry
 * (tests/integration/work_runner_entry.ts), deadline polling, stream collection, process checks.
 * @module
 */
import { assert } from "../helpers/assert.ts";
import { waitFor } from "../helpers/net.ts";
import { concatBytes } from "../helpers/data.ts";
import { Logger } from "../../src/log.ts";
import type { WorkCommandConfig } from "../../src/work/command_unit.ts";
import type { WorkEngineOptions } from "../../src/work/engine.ts";
import { WorkEngine } from "../../src/work/engine.ts";
import { processGone } from "../../src/work/proc_info.ts";

const ENTRY = new URL("./work_runner_entry.ts", import.meta.url).pathname;

/** Runner argv pointing at the test entry, in upstream's directive form. */
export function testRunnerArgv(command: string, params: string, unitdir: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--no-lock",
    ENTRY,
    "--node",
    "id=worker",
    "--log-level",
    "info",
    "--command-runner",
    `command=${command}`,
    `params=${params}`,
    `unitdir=${unitdir}`,
  ];
}

/** The work types the tests use. */
export const TEST_TYPES: WorkCommandConfig[] = [
  { worktype: "upper", command: "tr", params: "a-z A-Z" },
  { worktype: "fail3", command: "sh", params: `-c "echo oops >&2; echo out; exit 3"` },
  { worktype: "shell", command: "sh", allowruntimeparams: true },
  { worktype: "args", command: "printf", params: "'%s|'", allowruntimeparams: true },
  { worktype: "sleeper", command: "sleep", params: "100" },
  { worktype: "signed", command: "cat", verifysignature: true },
  { worktype: "nosuchcmd", command: "no-such-command-xyz" },
  { worktype: "badquote", command: "echo", params: `"unterminated` },
];

/** A logger that keeps lines for inspection. */
export function memLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ level: "debug", sink: (l) => lines.push(l) }), lines };
}

/** A WorkEngine on `dataDir` with the test types and the test runner entry. */
export async function makeEngine(
  dataDir: string,
  extra: Partial<WorkEngineOptions> = {},
): Promise<WorkEngine> {
  const e = new WorkEngine({
    nodeId: "node1",
    dataDir,
    logger: memLogger().logger,
    workTypes: TEST_TYPES,
    monitorMs: 100,
    releaseRetryMs: 50,
    ...extra,
  });
  await e.init();
  return e;
}

/** A stream of the given bytes/strings. */
export function streamOf(...parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(typeof p === "string" ? enc.encode(p) : p);
      c.close();
    },
  });
}

/** Collect a stream into one byte array. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return concatBytes(chunks);
}

/** Collect a stream as text. */
export async function collectText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await collect(stream));
}

/** Submit a unit through the engine: allocate, stdin, start. */
export async function submit(
  e: WorkEngine,
  type: string,
  payload: string | Uint8Array = "",
  params: Record<string, string> = {},
): Promise<string> {
  const id = await e.allocate(type, params);
  await e.writeStdin(id, streamOf(payload));
  await e.start(id);
  return id;
}

/** Wait for a unit to reach `state`. */
export function waitState(e: WorkEngine, id: string, state: number, timeoutMs = 20_000) {
  return waitFor(`unit ${id} state ${state}`, async () => {
    const s = await e.status(id);
    return s.State === state ? s : null;
  }, timeoutMs);
}

/** PID from a `Running: PID <n>` detail. */
export function detailPid(detail: string): number {
  const m = /^Running: PID (\d+)$/.exec(detail);
  if (!m) throw new Error(`not a running detail: ${detail}`);
  return Number(m[1]);
}

/** Wait until a process is gone (absent or zombie). */
export async function waitGone(pid: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(`pid ${pid} to exit`, () => processGone(pid), timeoutMs);
  assert(processGone(pid), `pid ${pid} still running`);
}

/** Make a temp data dir and remove it afterwards. */
export async function withDataDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "work_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn` with a fresh engine ({@link makeEngine}) in a temp data dir; closes and cleans up. */
export function withEngine(
  fn: (e: WorkEngine, dir: string) => Promise<void>,
  extra: Partial<WorkEngineOptions> = {},
): Promise<void> {
  return withDataDir(async (dir) => {
    const e = await makeEngine(dir, extra);
    try {
      await fn(e, dir);
    } finally {
      await e.close();
    }
  });
}
