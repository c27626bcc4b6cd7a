import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { SpareDirs } from "../../src/work/spare_dirs.ts";
import { loadStatus, saveStatus } from "../../src/work/status_file.ts";
import { readRc } from "../../src/work/sh_runner.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spare-dirs-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A unit directory with the files a finished unit has. */
async function unitDir(path: string): Promise<void> {
  await Deno.mkdir(path);
  await saveStatus(path, {
    State: 2,
    Detail: "exit status 0",
    StdoutSize: 3,
    WorkType: "t",
    ExtraData: { Pid: 7 },
  });
  await Deno.writeTextFile(`${path}/stdin`, "in");
  await Deno.writeTextFile(`${path}/stdout`, "out");
  await Deno.writeTextFile(`${path}/rc`, "0\n");
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("spare dirs: a retired unit directory is emptied and reused (same inode)", () =>
  withTemp(async (tmp) => {
    const spares = new SpareDirs(`${tmp}/spare`);
    await spares.init();
    await unitDir(`${tmp}/a`);
    const ino = Deno.statSync(`${tmp}/a`).ino;
    const statusIno = Deno.statSync(`${tmp}/a/status`).ino;
    await spares.retire(`${tmp}/a`);
    assert(!names(tmp).includes("a"), "the unit directory left its place");
    assertEquals(spares.size, 1);
    assert(spares.take(`${tmp}/b`));
    assertEquals(spares.size, 0);
    assertEquals(Deno.statSync(`${tmp}/b`).ino, ino);
    assertEquals(Deno.statSync(`${tmp}/b/status`).ino, statusIno);
    // job files are gone; the status is empty (a crash now leaves an unreadable unit)
    assertEquals(names(`${tmp}/b`), ["rc", "status", "status.lock"]);
    await assertRejects(() => loadStatus(`${tmp}/b`), "invalid JSON");
    assertEquals(readRc(`${tmp}/b`), null, "an emptied rc reads as not finished");
    await saveStatus(`${tmp}/b`, {
      State: 0,
      Detail: "Unit Created",
      StdoutSize: 0,
      WorkType: "u",
      ExtraData: null,
    });
    assertEquals((await loadStatus(`${tmp}/b`)).Detail, "Unit Created");
    assert(!spares.take(`${tmp}/c`), "no spare left");
  }));

Deno.test("spare dirs: at most `limit` are kept, the rest deleted; a missing dir throws", () =>
  withTemp(async (tmp) => {
    const spares = new SpareDirs(`${tmp}/spare`, 2);
    await spares.init();
    for (const n of ["a", "b", "c"]) await unitDir(`${tmp}/${n}`);
    await Promise.all(["a", "b", "c"].map((n) => spares.retire(`${tmp}/${n}`)));
    assertEquals(spares.size, 2);
    assertEquals(names(tmp), ["spare"]);
    assertEquals(names(`${tmp}/spare`).length, 2);
    await assertRejects(() => spares.retire(`${tmp}/nope`), "No such file");
  }));

Deno.test("spare dirs: init wipes what an earlier process left", () =>
  withTemp(async (tmp) => {
    await Deno.mkdir(`${tmp}/spare`);
    await unitDir(`${tmp}/spare/1`);
    const spares = new SpareDirs(`${tmp}/spare`);
    await spares.init();
    assertEquals(names(`${tmp}/spare`), []);
    assert(!spares.take(`${tmp}/x`));
  }));

Deno.test("spare dirs: without its root a retired directory is deleted as before", () =>
  withTemp(async (tmp) => {
    const spares = new SpareDirs(`${tmp}/never-created`);
    await unitDir(`${tmp}/a`);
    await spares.retire(`${tmp}/a`);
    assertEquals(names(tmp), []);
    assertEquals(spares.size, 0);
  }));
