import { assert, assertEquals } from "../helpers/assert.ts";
import { NameTable } from "../../src/mesh/name_table.ts";

Deno.test("name table: noted names resolve on lookup; the table never holds more than maxNames", () => {
  const t = new NameTable(100);
  const refused: string[] = [];
  t.onFull = (n) => refused.push(n);
  t.add("self");
  for (let i = 0; i < 60; i++) t.note(`n${i}`);
  for (let i = 0; i < 60; i++) t.note(`n${i}`); // noted twice (dropped and seen again)
  assert(t.size <= 100, `${t.size} names`);
  assertEquals(t.lookup(t.hash("n7")), "n7");
  assertEquals(t.lookup(t.hash("self")), "self");
  assertEquals(t.size, 61, "each name registered once");
  for (let i = 60; i < 200; i++) t.note(`n${i}`);
  assert(t.size <= 100, `${t.size} names after a burst`);
  assertEquals(refused.length, 200 - 99, "every name past the limit is reported once");
  assertEquals(t.lookup(t.hash("n98")), "n98");
  assertEquals(t.lookup(t.hash("n150")), undefined);
});
