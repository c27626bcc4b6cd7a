import { assertEquals } from "../helpers/assert.ts";
import { searchExecutable } from "../../src/work/path_search.ts";

function exe(path: string, mode = 0o755): void {
  Deno.writeTextFileSync(path, "#!/bin/sh\n");
  Deno.chmodSync(path, mode);
}

Deno.test("searchExecutable: remembered answers follow files created, removed and chmodded", () => {
  const root = Deno.makeTempDirSync({ prefix: "path-search-" });
  try {
    const a = `${root}/a`, b = `${root}/b`;
    Deno.mkdirSync(a);
    Deno.mkdirSync(b);
    const dirs = [a, b];
    // directories modified in the last seconds are never trusted: age them (each time to a
    // different mtime, as a real change would give)
    let age = 60_000;
    const old = () => {
      age += 1000;
      const t = new Date(Date.now() - age);
      Deno.utimeSync(a, t, t);
      Deno.utimeSync(b, t, t);
      Deno.utimeSync(root, t, t);
    };
    old();
    assertEquals(searchExecutable(dirs, "tool"), null);
    exe(`${b}/tool`);
    old();
    assertEquals(searchExecutable(dirs, "tool"), `${b}/tool`);
    assertEquals(searchExecutable(dirs, "tool"), `${b}/tool`, "remembered");
    // a file appearing in an earlier directory wins at once
    exe(`${a}/tool`);
    old();
    assertEquals(searchExecutable(dirs, "tool"), `${a}/tool`);
    Deno.removeSync(`${a}/tool`);
    old();
    assertEquals(searchExecutable(dirs, "tool"), `${b}/tool`);
    // present but not executable in the earlier directory, then made executable
    exe(`${a}/tool`, 0o644);
    old();
    assertEquals(searchExecutable(dirs, "tool"), `${b}/tool`);
    Deno.chmodSync(`${a}/tool`, 0o755);
    assertEquals(searchExecutable(dirs, "tool"), `${a}/tool`);
    // the remembered file loses its x bit
    Deno.chmodSync(`${a}/tool`, 0o644);
    assertEquals(searchExecutable(dirs, "tool"), `${b}/tool`);
    Deno.removeSync(`${b}/tool`);
    assertEquals(searchExecutable(dirs, "tool"), null);
    // a missing PATH directory that appears later, with the tool in it
    exe(`${b}/tool`);
    old();
    const withMissing = [`${root}/gone/bin`, a, b];
    assertEquals(searchExecutable(withMissing, "tool"), `${b}/tool`);
    assertEquals(searchExecutable(withMissing, "tool"), `${b}/tool`, "remembered");
    Deno.mkdirSync(`${root}/gone/bin`, { recursive: true });
    exe(`${root}/gone/bin/tool`);
    assertEquals(searchExecutable(withMissing, "tool"), `${root}/gone/bin/tool`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
