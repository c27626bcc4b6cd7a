import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import {
  decodeStatus,
  encodeStatus,
  isComplete,
  isFinal,
  loadStatus,
  saveStatus,
  stateName,
  updateBasicStatus,
  updateStatus,
  withStatusLock,
} from "../../src/work/status_file.ts";

Deno.test("status: state names", () => {
  assertEquals([0, 1, 2, 3, 4].map(stateName), [
    "Pending",
    "Running",
    "Succeeded",
    "Failed",
    "Canceled",
  ]);
  assertEquals(stateName(7), "Unknown: 7");
  assertEquals(stateName(-1), "Unknown: -1");
  assert(isComplete(2) && isComplete(3) && !isComplete(4) && !isComplete(1));
  assert(isFinal(4) && !isFinal(0));
});

Deno.test("status: encoding is one compact line in upstream key order", () => {
  const line = encodeStatus({
    ExtraData: { Pid: 4239, Params: `-c "cat" <&>` },
    WorkType: "echo",
    StdoutSize: 120,
    Detail: "Running: PID 4242",
    State: 1,
  });
  assertEquals(
    line,
    `{"State":1,"Detail":"Running: PID 4242","StdoutSize":120,"WorkType":"echo",` +
      `"ExtraData":{"Pid":4239,"Params":"-c \\"cat\\" \\u003c\\u0026\\u003e"}}\n`,
  );
  assertEquals(decodeStatus(line).ExtraData, { Pid: 4239, Params: `-c "cat" <&>` });
});

Deno.test("status: decoding defaults and errors", () => {
  assertEquals(decodeStatus(`{"State":3}`), {
    State: 3,
    Detail: "",
    StdoutSize: 0,
    WorkType: "",
    ExtraData: null,
  });
  assertEquals(decodeStatus(`{"ExtraData":"Unknown WorkType"}`).ExtraData, "Unknown WorkType");
  assertThrows(() => decodeStatus("not json", "/x/status"), "/x/status: invalid JSON");
  assertThrows(() => decodeStatus("[1]"), "not a JSON object");
  assertThrows(() => decodeStatus(`{"State":"1"}`), "State is not a number");
});

Deno.test("status: file save/load/update with 0600 files and a lock file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveStatus(dir, {
      State: 0,
      Detail: "Unit Created",
      StdoutSize: 0,
      WorkType: "echo",
      ExtraData: null,
    });
    assertEquals((await Deno.stat(`${dir}/status`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/status.lock`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/status.lock`)).size, 0);
    // shrink: truncation must not leave trailing bytes
    await saveStatus(dir, {
      State: 0,
      Detail: "a much longer detail string than the next",
      StdoutSize: 0,
      WorkType: "echo",
      ExtraData: { Pid: 1, Params: "" },
    });
    const after = await updateBasicStatus(dir, 3, "x", -1);
    assertEquals(after.ExtraData, { Pid: 1, Params: "" });
    const text = await Deno.readTextFile(`${dir}/status`);
    assertEquals(
      text,
      `{"State":3,"Detail":"x","StdoutSize":0,"WorkType":"echo","ExtraData":{"Pid":1,"Params":""}}\n`,
    );
    assertEquals((await loadStatus(dir)).State, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status: concurrent read-modify-writes are serialized by the flock", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveStatus(dir, { State: 1, Detail: "", StdoutSize: 0, WorkType: "t", ExtraData: null });
    // 20 concurrent increments from this process (separate descriptors, so flock applies)
    await Promise.all(
      Array.from({ length: 20 }, () => updateStatus(dir, (s) => void (s.StdoutSize += 1))),
    );
    assertEquals((await loadStatus(dir)).StdoutSize, 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status: a lock held by another process blocks updates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveStatus(dir, { State: 1, Detail: "", StdoutSize: 0, WorkType: "t", ExtraData: null });
    // flock(1) holds the lock in a child process for a moment
    const child = new Deno.Command("flock", {
      args: [`${dir}/status.lock`, "-c", "echo locked; sleep 0.6"],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // "locked"
    reader.releaseLock();
    const t0 = performance.now();
    await updateBasicStatus(dir, 2, "done", 5);
    const waited = performance.now() - t0;
    await child.status;
    await child.stdout.cancel();
    assert(waited > 300, `update should wait for the lock (waited ${waited} ms)`);
    assertEquals((await loadStatus(dir)).Detail, "done");
    // and our own lock excludes others while held
    await withStatusLock(dir, async () => {
      const r = await new Deno.Command("flock", { args: ["-n", `${dir}/status.lock`, "true"] })
        .output();
      assert(!r.success, "flock -n must fail while we hold the lock");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status: a shorter rewrite leaves exactly one line; old bytes after it are ignored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveStatus(dir, {
      State: 1,
      Detail: "a long detail that makes the first line longer than the next one",
      StdoutSize: 0,
      WorkType: "echo",
      ExtraData: null,
    });
    await updateStatus(dir, (s) => {
      s.State = 2;
      s.Detail = "short";
    });
    const text = await Deno.readTextFile(`${dir}/status`);
    assertEquals(text.split("\n"), [
      `{"State":2,"Detail":"short","StdoutSize":0,"WorkType":"echo","ExtraData":null}`,
      "",
    ]);
    // an interrupted rewrite (new line written, not yet cut to length) still reads as the new
    await Deno.writeTextFile(`${dir}/status`, text + `Detail":"left over"}\n`);
    assertEquals((await loadStatus(dir)).Detail, "short");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
