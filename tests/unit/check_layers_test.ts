/**
 * The import-order check flags upward and sideways imports and passes downward ones.
 * @module
 */
import { assertEquals } from "../helpers/assert.ts";
import { importsOf, violationsOf } from "../../scripts/check_layers.ts";

Deno.test("check_layers: downward and same-folder imports pass", () => {
  const text = 'import { a } from "../util/delay.ts";\nimport { b } from "./engine.ts";\n';
  assertEquals(violationsOf("src/work/remote_unit.ts", text), []);
});

Deno.test("check_layers: an upward import is one line naming file, import and layers", () => {
  const v = violationsOf("src/work/x.ts", 'import { c } from "../control/session.ts";\n');
  assertEquals(v, [
    "src/work/x.ts: imports ../control/session.ts — upward: src/work/ (layer 4) -> src/control/ (layer 5)",
  ]);
});

Deno.test("check_layers: sibling cores may not import each other", () => {
  const v = violationsOf("src/mesh/x.ts", 'export { q } from "../quic/frame.ts";\n');
  assertEquals(v.length, 1);
  assertEquals(v[0].includes("sideways"), true);
});

Deno.test("check_layers: imports inside comments are ignored, dynamic ones are not", () => {
  const text =
    '/**\n * import { x } from "../cli/a.ts";\n */\nconst m = await import("../cli/b.ts");\n';
  assertEquals(importsOf(text), ["../cli/b.ts"]);
});
