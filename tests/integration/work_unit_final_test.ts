/**
 * The engine's unit-final hook (for the duration histogram) and owner labels, with real runners:
 * one event per unit reaching a final state, with type, state and seconds since its start; a
 * unit found on disk at start-up is not reported again; the owner label survives a restart.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import type { UnitFinalEvent } from "../../src/work/engine.ts";
import { waitFor } from "../helpers/net.ts";
import { makeEngine, submit, waitState, withDataDir } from "./work_helpers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...opts,
  name: "engine: onUnitFinal once per finished unit; owner label listed and kept over restart",
  fn: () =>
    withDataDir(async (dir) => {
      const e = await makeEngine(dir);
      const seen: UnitFinalEvent[] = [];
      const off = e.onUnitFinal((ev) => seen.push(ev));
      let ok = "";
      let bad = "";
      try {
        ok = await submit(e, "upper", "hi\n", { "receptor-owner": "alice" });
        bad = await submit(e, "fail3");
        await waitState(e, ok, 2);
        await waitState(e, bad, 3);
        await waitFor("two unit-final events", () => seen.length >= 2);
        const byId = new Map(seen.map((ev) => [ev.id, ev]));
        assertEquals(byId.get(ok)?.workType, "upper");
        assertEquals(byId.get(ok)?.stateName, "Succeeded");
        assertEquals(byId.get(bad)?.state, 3);
        for (const ev of seen) assert(ev.seconds !== null && ev.seconds >= 0, `${ev.seconds}`);
        await e.cancel(ok); // a finished unit stays finished: no second event
        assertEquals(seen.length, 2);
        const listed = (await e.list())[ok];
        assertEquals(listed.Owner, "alice");
        assert(typeof listed.Finished === "string");
        assertEquals((await e.list())[bad].Owner, undefined);
        assertEquals((await e.status(ok)).Owner, undefined, "work status: upstream keys only");
      } finally {
        off();
        await e.close();
      }
      const again = await makeEngine(dir);
      const after: UnitFinalEvent[] = [];
      again.onUnitFinal((ev) => after.push(ev));
      try {
        assertEquals((await again.list())[ok].Owner, "alice");
        assertEquals((await again.list(ok))[ok].Owner, "alice");
        assertEquals(after, [], "units already final at start-up are not reported");
        const view = await again.retentionView();
        assertEquals(view.map((u) => u.id).sort(), [ok, bad].sort());
        assert(view.every((u) => u.finishedAt !== null && !u.releasePending));
      } finally {
        await again.close();
      }
    }),
});
