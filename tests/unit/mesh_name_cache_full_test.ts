/**
 * The process-wide name caches (intern table, shared name bytes) say when they reach their
 * bound, and a router turns that into a limit log line. Own file: it fills process-wide tables.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { internText, MAX_INTERN_LENGTH, MAX_INTERNED } from "../../src/mesh/intern.ts";
import { MAX_NAME_BYTES, nameBytesUsed, setNameCacheFullHook } from "../../src/mesh/name_bytes.ts";
import { Sim } from "./mesh_sim.ts";

Deno.test("name caches: emptying the intern table and a full byte store are each told; readings stay exact", () => {
  const told: string[] = [];
  setNameCacheFullHook((what) => told.push(what));
  try {
    const pad = "x".repeat(MAX_INTERN_LENGTH - 8);
    const n = Math.max(Math.ceil(MAX_NAME_BYTES / MAX_INTERN_LENGTH), 3 * MAX_INTERNED);
    for (let i = 0; i < n; i++) {
      const s = `${pad}${String(i).padStart(8, "0")}`;
      assertEquals(internText(s, 0, s.length), s);
    }
    assert(nameBytesUsed() <= MAX_NAME_BYTES, "the byte store stays within its bound");
    assert(n > MAX_INTERNED);
    assert(told.some((w) => w.includes("intern table") && w.includes("emptied")), told.join("; "));
    assertEquals(told.filter((w) => w.includes("name byte store is full")).length, 1);
  } finally {
    setNameCacheFullHook(undefined);
  }
});

Deno.test("name caches: a router logs a cache at its bound as a mesh limit", () => {
  const sim = new Sim();
  sim.addNode("a");
  // the hook is process-wide: the router made last holds it
  const pad = "y".repeat(MAX_INTERN_LENGTH - 8);
  for (let i = 0; i <= 3 * MAX_INTERNED; i++) {
    const s = `${pad}${String(i).padStart(8, "0")}`;
    internText(s, 0, s.length);
  }
  assert(sim.r("a").limitLog.hits.get("nameCache")! >= 1);
  assert(sim.rec("a").logs.some((l) => l.includes("mesh limit nameCache reached")));
});
