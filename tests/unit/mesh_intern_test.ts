import { assert, assertEquals } from "../helpers/assert.ts";
import {
  internAscii,
  internedCount,
  internText,
  MAX_INTERN_LENGTH,
  MAX_INTERNED,
} from "../../src/mesh/intern.ts";

Deno.test("intern: a name read twice (from text or ASCII bytes) reads as its slice (identity is not observable in JS)", () => {
  const t = 'x"node-17"y';
  const a = internText(t, 2, 9);
  assertEquals(a, "node-17");
  const b = internText(`zz${t}`, 4, 11);
  assertEquals(a, b);
  const bytes = new TextEncoder().encode('{"node-17"}');
  assertEquals(internAscii(bytes, 2, 9), a);
  assertEquals(internText("é-ü-名", 0, 5), "é-ü-名");
});

Deno.test("intern: endless new names keep the table bounded and every reading exact", () => {
  for (let i = 0; i < MAX_INTERNED * 3; i++) {
    const s = `n${i}`;
    assertEquals(internText(s, 0, s.length), s);
    assert(internedCount() <= MAX_INTERNED);
  }
  const long = "a".repeat(MAX_INTERN_LENGTH + 1);
  assertEquals(internText(long, 0, long.length), long);
  assertEquals(internText("", 0, 0), "");
});
