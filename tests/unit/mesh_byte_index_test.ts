import { assertEquals } from "../helpers/assert.ts";
import { ByteIndex } from "../../src/mesh/byte_index.ts";

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
