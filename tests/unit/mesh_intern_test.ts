import { assert, assertEquals } from "../helpers/assert.ts";
import {
  internAscii,
  internedCount,
  internRef,
  internText,
  MAX_INTERN_LENGTH,
  MAX_INTERNED,
} from "../../src/mesh/intern.ts";
import { nameBytesUsed } from "../../src/mesh/name_bytes.ts";
import { hashName } from "../../src/util/seeded_hash.ts";

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

Deno.test("intern: the table grows with what it holds and keeps (nearly) every name through growth", () => {
  // emptied first: fill up to the bound so the next name empties the table
  for (let i = 0; internedCount() < MAX_INTERNED; i++) internText(`fill${i}`, 0, `fill${i}`.length);
  internText("first", 0, 5);
  assertEquals(internedCount(), 1, "emptied when full, then holds the new name");
  const n = 5000; // 1,024 slots at first: grows 4 times on the way
  for (let i = 0; i < n; i++) assertEquals(internText(`g${i}`, 0, `g${i}`.length), `g${i}`);
  const held = internedCount();
  // a name whose probe run is full (8 slots, table at most half full) is simply not held
  assert(held > n * 0.98 && held <= n + 1, `held ${held}`);
  for (let i = 0; i < n; i++) internText(`g${i}`, 0, `g${i}`.length);
  assert(internedCount() - held < n * 0.02, "the names held are found again (not added twice)");
});

Deno.test("intern: names keep their places in the shared bytes as the table grows", () => {
  const names = Array.from({ length: 3000 }, (_, i) => `place-${i}`);
  const refs = names.map((n) => internRef(n));
  const used = nameBytesUsed();
  for (let i = 0; i < 3000; i++) internText(`more-${i}`, 0, `more-${i}`.length); // growth
  const again = names.map((n) => internRef(n));
  let same = 0;
  for (let i = 0; i < names.length; i++) if (refs[i] >= 0 && again[i] === refs[i]) same++;
  // a name that did not fit its probe run after growth is placed again (costs room only)
  assert(same > names.length * 0.98, `same places ${same}`);
  assert(nameBytesUsed() - used < 3000 * 9 + names.length * 0.02 * 12, "no wholesale re-placing");
});

Deno.test("intern: a name whose probe run is full takes no room in the name byte store, however often seen", () => {
  // nine names whose slots agree in the low 15 bits (the table's largest mask): the ninth
  // finds its 8-slot probe run full in any table
  const home = (s: string) => (hashName(s) >> 1) & 0x7fff;
  const want = home("c0"), names = ["c0"];
  for (let i = 1; names.length < 9; i++) if (home(`c${i}`) === want) names.push(`c${i}`);
  if (internedCount() + 20 >= MAX_INTERNED) {
    for (let i = 0; internedCount() >= 20; i++) internText(`e${i}`, 0, `e${i}`.length);
  }
  const enc = new TextEncoder();
  const intern = () => {
    for (const n of names) assertEquals(internAscii(enc.encode(n), 0, n.length), n);
  };
  intern();
  const used = nameBytesUsed();
  for (let k = 0; k < 5; k++) intern();
  assertEquals(nameBytesUsed(), used, "names seen again are not placed again");
  assertEquals(internRef(names[8]), -1, "the ninth has no place");
});
