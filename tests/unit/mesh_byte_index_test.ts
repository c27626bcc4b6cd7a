import { assert, assertEquals } from "../helpers/assert.ts";
import { ByteIndex } from "../../src/mesh/byte_index.ts";
import { MAX_NAME_BYTES, NAME_BYTES, nameBytesUsed, placeName } from "../../src/mesh/name_bytes.ts";
import { internRef } from "../../src/mesh/intern.ts";

const enc = new TextEncoder();

Deno.test("byte index: names found by string and by bytes, deletions keep the rest found", () => {
  const names: string[] = [];
  const ix = new ByteIndex(names);
  const n = 2000;
  for (let i = 0; i < n; i++) {
    names[i] = `node-${i}`;
    ix.set(names[i], i);
  }
  assertEquals(ix.size, n);
  const msg = enc.encode(`xx"node-1234"yy`);
  assertEquals(ix.getBytes(msg, 3, 12), 1234);
  assertEquals(ix.getBytes(msg, 3, 11), 123, "a prefix is another name");
  assertEquals(ix.get("node-77"), 77);
  assertEquals(ix.get("node-2000"), -1);
  // delete every third (backward shift must keep every other probe run intact)
  for (let i = 0; i < n; i += 3) ix.delete(names[i]);
  for (let i = 0; i < n; i++) {
    const want = i % 3 === 0 ? -1 : i;
    assertEquals(ix.get(names[i]), want, names[i]);
    const b = enc.encode(names[i]);
    assertEquals(ix.getBytes(b, 0, b.length), want, names[i]);
  }
  ix.delete("not held");
  assertEquals(ix.size, n - Math.ceil(n / 3));
});

Deno.test("byte index: a non-ASCII name is found by string; its UTF-8 bytes are not it", () => {
  const names = ["é", "e"];
  const ix = new ByteIndex(names);
  ix.set("é", 0);
  ix.set("e", 1);
  assertEquals(ix.get("é"), 0);
  const b = enc.encode("é");
  assertEquals(ix.getBytes(b, 0, b.length), -1);
  assertEquals(ix.getBytes(enc.encode("e"), 0, 1), 1);
});

Deno.test("byte index: names without a shared byte copy (long, non-printable) are compared as strings", () => {
  const names = ["x".repeat(300), "tab\there", "node-1", "node-1~"];
  const ix = new ByteIndex(names);
  names.forEach((n, i) => ix.set(n, i));
  assertEquals(internRef(names[0]), -1, "longer than 255 bytes");
  assertEquals(internRef(names[1]), -1, "a control character");
  assert(internRef(names[2]) >= 0);
  for (let i = 0; i < names.length; i++) {
    const b = enc.encode(`"${names[i]}"`);
    assertEquals(ix.getBytes(b, 1, b.length - 1), i, names[i].slice(0, 10));
  }
  assertEquals(ix.getBytes(enc.encode("x".repeat(299)), 0, 299), -1);
  assertEquals(ix.getBytes(enc.encode("node-"), 0, 5), -1);
});

Deno.test("name bytes: a name keeps its place; a full store gives -1 and lookups stay exact", () => {
  const a = internRef("node-77");
  internRef("node-78"); // another name in between: found through the intern table
  assertEquals(internRef(["node", "-77"].join("")), a, "found again, not placed again");
  assertEquals(a & 255, 7);
  assertEquals(new TextDecoder().decode(NAME_BYTES.subarray(a >>> 8, (a >>> 8) + 7)), "node-77");
  // fill the store (bounded), then a new name gets no place and is still found by its bytes
  for (let i = 0; nameBytesUsed() + 255 <= MAX_NAME_BYTES; i++) {
    if (placeName(`${i}`.padStart(255, "f")) < 0) break;
  }
  while (placeName("f") >= 0); // the last bytes
  assertEquals(nameBytesUsed(), MAX_NAME_BYTES);
  const late = "late-name-after-the-store-is-full".padEnd(60, "z");
  assertEquals(internRef(late), -1);
  const names = [late, "node-77"];
  const ix = new ByteIndex(names);
  ix.set(late, 0);
  ix.set("node-77", 1);
  const b = enc.encode(late);
  assertEquals(ix.getBytes(b, 0, b.length), 0);
  assertEquals(ix.getBytes(enc.encode("node-77"), 0, 7), 1);
  assertEquals(ix.get(late), 0);
  assertEquals(ix.get("node-77"), 1);
  assertEquals(internRef("node-77"), a, "places already given stay");
});

Deno.test("byte index: a lookup by the name just placed matches by place, others by string", () => {
  const names = ["node-a1", "node-b2", "node-c3"];
  const ix = new ByteIndex(names);
  names.forEach((n, i) => ix.set(n, i));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < names.length; i++) {
      internRef(names[i]); // now the recent name (as the decoder leaves its NodeID)
      assertEquals(ix.get(names[i]), i);
      assertEquals(ix.get(["node-", names[i].slice(5)].join("")), i, "an equal string");
    }
  }
  internRef("node-zz");
  assertEquals(ix.get("node-zz"), -1, "placed but not held");
  ix.delete("node-b2");
  internRef("node-b2");
  assertEquals(ix.get("node-b2"), -1, "deleted");
  assertEquals(ix.get("node-c3"), 2);
});
