/**
 * Results tailing (src/work/results_tail.ts) against real unit directories, with the status
 * read interposed so the runner's writes land exactly between the stream's "nothing to read"
 * observation and its status check — the window in which, under load, a fast job's whole
 * output used to be lost (`work submit -f` printed nothing).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { tailResults } from "../../src/work/results_tail.ts";
import {
  loadStatus,
  saveStatus,
  type StatusFileData,
  unitPaths,
  WorkState,
} from "../../src/work/status_file.ts";
import { FakeClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/log.ts";

async function unitDir(state: number, stdout: string | null): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "results_tail_test_" });
  await saveStatus(dir, {
    State: state,
    Detail: "",
    StdoutSize: stdout?.length ?? 0,
    WorkType: "echo",
    ExtraData: null,
  });
  if (stdout !== null) await Deno.writeTextFile(unitPaths(dir).stdout, stdout);
  return dir;
}

/** Drain a tail of `dir`; `onFirstStatus` runs (once) just before the stream's first status read. */
async function drain(
  dir: string,
  onFirstStatus: (dir: string) => Promise<void> = () => Promise.resolve(),
): Promise<{ text: string; statusReads: number }> {
  let statusReads = 0;
  const readStatus = async (d: string): Promise<StatusFileData> => {
    if (statusReads++ === 0) await onFirstStatus(d);
    return await loadStatus(d);
  };
  const stream = tailResults({
    unitId: "u1",
    dir,
    startpos: 0,
    pollMs: 1,
    signal: new AbortController().signal,
    clock: new FakeClock(),
    logger: silentLogger(),
    readStatus,
  });
  const text = await new Response(stream).text();
  return { text, statusReads };
}

/** What a fast runner does: write all its output, then its final status. */
async function finishRunner(dir: string, output: string, state: number): Promise<void> {
  const f = await Deno.open(unitPaths(dir).stdout, { append: true, create: true });
  await f.write(new TextEncoder().encode(output));
  f.close();
  const size = (await Deno.stat(unitPaths(dir).stdout)).size;
  await saveStatus(dir, {
    State: state,
    Detail: "",
    StdoutSize: size,
    WorkType: "echo",
    ExtraData: null,
  });
}

Deno.test("results tail: a job that creates stdout and finishes after the failed open is not lost", async () => {
  // Pending, no stdout yet: the open fails; before the status read the job runs to Succeeded.
  const dir = await unitDir(WorkState.Pending, null);
  try {
    const r = await drain(dir, (d) => finishRunner(d, "x y\n", WorkState.Succeeded));
    assertEquals(r.text, "x y\n");
    assert(r.statusReads >= 1, "the status was never read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results tail: output written just before a Canceled status is still sent", async () => {
  // Running, stdout empty: the read finds nothing; then the job writes and is Canceled.
  const dir = await unitDir(WorkState.Running, "");
  try {
    const r = await drain(dir, (d) => finishRunner(d, "last words\n", WorkState.Canceled));
    assertEquals(r.text, "last words\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results tail: a finished unit without stdout ends with no output", async () => {
  const dir = await unitDir(WorkState.Succeeded, null);
  try {
    const r = await drain(dir);
    assertEquals(r.text, "");
    assertEquals(r.statusReads, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results tail: a Canceled unit's existing output is drained", async () => {
  const dir = await unitDir(WorkState.Canceled, "partial\n");
  try {
    assertEquals((await drain(dir)).text, "partial\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results tail: a complete unit streams up to StdoutSize", async () => {
  const dir = await unitDir(WorkState.Succeeded, "all of it\n");
  try {
    assertEquals((await drain(dir)).text, "all of it\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
