/**
 * The work-deno grant check (src/work/deno_sandbox.ts): symlinks inside a grant that stay
 * inside are fine; ones that lead outside, dangle or hide in subdirectories are refused, per
 * kind of grant; paths are normalised without resolving symlinks.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { checkGrantSymlinks, normalizePath } from "../../src/work/deno_sandbox.ts";

Deno.test("deno sandbox: symlinks in grants are checked before granting", async () => {
  const d = await Deno.makeTempDir({ prefix: "receptor-sandbox-unit-" });
  try {
    for (const p of ["g/sub/deep", "out", "w"]) await Deno.mkdir(`${d}/${p}`, { recursive: true });
    await Deno.writeTextFile(`${d}/g/file.txt`, "in");
    await Deno.writeTextFile(`${d}/out/secret.txt`, "out");
    await Deno.symlink(`${d}/g/file.txt`, `${d}/g/inside-link`);
    await Deno.symlink(`${d}/g/sub`, `${d}/g/dir-inside`); // a loop-free inside link
    assertEquals(await checkGrantSymlinks("allowread", [`${d}/g`]), null, "inside links are fine");

    await Deno.symlink(`${d}/out`, `${d}/g/sub/deep/escape`);
    const bad = await checkGrantSymlinks("allowread", [`${d}/g`]);
    assert(bad !== null, "a nested link leading out is found");
    assertStringIncludes(bad, `symlink ${d}/g/sub/deep/escape leads outside the granted paths`);
    // granting the target too makes it fine
    assertEquals(await checkGrantSymlinks("allowread", [`${d}/g`, `${d}/out`]), null);

    await Deno.symlink(`${d}/nowhere`, `${d}/w/dangling`);
    const dangling = await checkGrantSymlinks("allowwrite", [`${d}/w`]);
    assertStringIncludes(dangling ?? "", "dangles");
    // a missing grant is Deno's business, not an error here
    assertEquals(await checkGrantSymlinks("allowread", [`${d}/missing`]), null);
  } finally {
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("deno sandbox: normalizePath", () => {
  assertEquals(normalizePath("/a/./b//c/../d/"), "/a/b/d");
  assertEquals(normalizePath("/../.."), "/");
});
