import { assert, assertEquals } from "../helpers/assert.ts";
import { isValidUnitId, newUnitId } from "../../src/work/unit_id.ts";

Deno.test("unit id: 8 alphanumeric characters, distinct draws", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const id = newUnitId();
    assertEquals(id.length, 8);
    assert(/^[0-9a-zA-Z]{8}$/.test(id), id);
    assert(isValidUnitId(id));
    seen.add(id);
  }
  assert(seen.size > 495, "ids should practically never repeat");
});

Deno.test("unit id: path-like and odd inputs are rejected", () => {
  for (const bad of ["", "../x", "..", "a/b", "a b", "abc.", "é1234567", "x".repeat(65), 5, null]) {
    assert(!isValidUnitId(bad), `should reject ${String(bad)}`);
  }
  assert(isValidUnitId("Zq81aB2c"));
  assert(isValidUnitId("x".repeat(64)));
});
