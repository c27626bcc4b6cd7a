/**
 * The duplicate-notice credibility rule (README "Duplicate node IDs (credibility rule)"), with
 * the fake clock. By default (`duplicateNotice: stay`) no notice ever stops us, however it
 * arrives. Under the opt-in `exit` (Go's behaviour, set explicitly in the tests of the rule): a
 * real duplicate whose notices reach us over two links stops us; a forger over one link, or a
 * real duplicate we only hear over one link, never does — we stay up, log, and re-announce with
 * a doubling back-off.
 */
import { Sim, sorted } from "./mesh_sim.ts";
import { HostilePeer, update } from "./mesh_hostile_helpers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { decodeMessage, MSG_ROUTE } from "../../src/mesh/messages.ts";
import type { RouterOptions } from "../../src/mesh/router.ts";
import {
  DEFAULT_DUPLICATE_NOTICE_POLICY,
  DuplicateNotices,
  REANNOUNCE_MAX_MS,
  REANNOUNCE_MIN_MS,
} from "../../src/mesh/duplicate_notice.ts";

/** The opt-in policy under which the credibility rule decides (the default `stay` never exits). */
const EXIT: Partial<RouterOptions> = { duplicateNotice: "exit" };
/** What a node logs for a credible notice it does not act on (src/mesh/routing_updates.ts). */
const KEPT_UP = "duplicatenotice: stay keeps us up; set duplicatenotice: exit";

const logsOf = (sim: Sim, k: string) => sim.rec(k).logs.join("\n");
const count = (s: string, needle: string) => s.split(needle).length - 1;

/**
 * `forger` sends a notice naming `victim`'s current epoch every `everyMs` for `ms` (announcing
 * itself every 5 s so its link stays up); returns the sim times at which the epoch changed.
 */
function forge(
  sim: Sim,
  forger: HostilePeer,
  victim: string,
  ms: number,
  everyMs = 100,
  bigEpoch = false,
): number[] {
  const changes: number[] = [];
  let last = sim.r(victim).epoch;
  for (let t = 0; t < ms; t += everyMs) {
    const e = sim.r(victim).epoch;
    forger.sendUpdate(update({
      NodeID: victim,
      UpdateEpoch: bigEpoch ? e + 1000n : e - 1n,
      SuspectedDuplicate: e,
    }));
    sim.run(everyMs);
    if (t % 5000 < everyMs) forger.announce();
    if (sim.rec(victim).shutdown !== undefined) break;
    if (sim.r(victim).epoch !== last) {
      last = sim.r(victim).epoch;
      changes.push(sim.clock.now());
    }
  }
  return changes;
}

/** The re-announcements follow the doubling back-off: each gap at least the previous one. */
function assertBackoff(changes: number[], ms: number): void {
  // back-off 1, 2, 4, 8, 16, 32 s…: at most 1 + log2(ms / 1 s) re-announcements
  const most = 1 + Math.ceil(Math.log2(ms / REANNOUNCE_MIN_MS));
  assert(changes.length >= 3, `re-announced ${changes.length} times`);
  assert(changes.length <= most, `re-announced ${changes.length} times (at most ${most})`);
  for (let i = 2; i < changes.length; i++) {
    const gap = changes[i] - changes[i - 1], prev = changes[i - 1] - changes[i - 2];
    assert(gap >= prev && gap >= REANNOUNCE_MIN_MS, `gaps ${changes.join(", ")}`);
  }
}

/** Two routers v —— m, converged; v under `exit`, so only the credibility rule keeps it up. */
function pairVM(): Sim {
  const sim = new Sim();
  sim.addNode("v", EXIT);
  sim.addNode("m");
  sim.connect("v", "m");
  sim.run(500);
  return sim;
}

Deno.test("duplicate notice: a forger on one link following every epoch for 60 s does not stop the node", () => {
  const sim = pairVM();
  const evil = new HostilePeer(sim, "v", "evil");
  const e0 = sim.r("v").epoch;
  const changes = forge(sim, evil, "v", 60_000);
  assertEquals(sim.rec("v").shutdown, undefined);
  assert(sim.r("v").epoch > e0);
  assertBackoff(changes, 60_000);
  const logs = logsOf(sim, "v");
  assertEquals(count(logs, "DUPLICATE NODE NOTICE"), changes.length);
  assert(!logs.includes("We are a duplicate node"));
  assert(logs.includes("more held since the last one"), "held notices are counted in the log");
  const st = sim.r("v").stats();
  assert(st.duplicateNotices >= 500, `${st.duplicateNotices} notices counted`);
  assertEquals(st.duplicateReannounced, changes.length);
  // still routable both ways, and the link to the forger was kept
  assertEquals(sorted(sim.r("m").status().routingTable).v, "v");
  assert(sim.isOpen(evil.linkId));
});

Deno.test("duplicate notice: a forger two hops away (one link into the node) does not stop it", () => {
  const sim = pairVM();
  const evil = new HostilePeer(sim, "m", "evil");
  // every 1.5 s (each notice past the old rule's one-second merge window) with a large epoch
  const changes = forge(sim, evil, "v", 60_000, 1500, true);
  assertEquals(sim.rec("v").shutdown, undefined);
  assertBackoff(changes, 60_000);
  assertEquals(sorted(sim.r("m").status().routingTable).v, "v");
});

Deno.test("duplicate notice: a held notice with a larger epoch is answered with a counter-notice", () => {
  const sim = pairVM();
  const evil = new HostilePeer(sim, "v", "evil");
  const e0 = sim.r("v").epoch;
  evil.sendUpdate(update({ NodeID: "v", UpdateEpoch: e0 - 1n, SuspectedDuplicate: e0 }));
  sim.run(100);
  const e1 = sim.r("v").epoch;
  assert(e1 > e0, "re-announced with a new epoch");
  // within the back-off: no new epoch, but a notice naming the forged epoch, so Go nodes that
  // adopted it (wire.md §5.4 step 4) return to our real epoch
  evil.captured.length = 0;
  evil.sendUpdate(update({ NodeID: "v", UpdateEpoch: e1 + 1000n, SuspectedDuplicate: e1 }));
  sim.run(100);
  assertEquals(sim.r("v").epoch, e1);
  const named = evil.captured.map((b) => decodeMessage(b)).flatMap((d) =>
    d.ok && d.value.type === MSG_ROUTE ? [d.value.update] : []
  ).filter((u) => u.NodeID === "v" && u.SuspectedDuplicate !== 0n);
  assertEquals(named.map((u) => [u.UpdateEpoch, u.SuspectedDuplicate]), [[e1, e1 + 1000n]]);
  assertEquals(sim.rec("v").shutdown, undefined);
});

/**
 * a1 (older) and a2 (newer) share ID `a`; a1–b, b–c, b–d; a2 (options `a2`) is attached to
 * `links` (not to b: b is connected to a1 already and would refuse a second `a`).
 */
function twoInstances(links: string[], a2: Partial<RouterOptions> = {}): Sim {
  const sim = new Sim();
  sim.addNode("a", { epoch: 1000n << 24n }, "a1");
  for (const id of ["b", "c", "d"]) sim.addNode(id);
  sim.connect("a1", "b");
  sim.connect("b", "c");
  sim.connect("b", "d");
  sim.run(1000);
  sim.addNode("a", { epoch: 2000n << 24n, ...a2 }, "a2");
  for (const l of links) sim.connect("a2", l);
  return sim;
}

Deno.test("duplicate notice: under exit, a real duplicate heard over two links shuts down after ~20 s, as Go's", () => {
  const sim = twoInstances(["c", "d"], EXIT);
  sim.run(2000);
  // one notice is not credible: a2 stays up with a new, larger epoch
  assertEquals(sim.rec("a2").shutdown, undefined);
  assert(sim.r("a2").epoch > 2000n << 24n, "a2 re-announced with a new epoch");
  assert(logsOf(sim, "a2").includes("DUPLICATE NODE NOTICE"));
  assert(logsOf(sim, "a1").includes("Duplicate node ID a detected"));
  // the real duplicate answers each new epoch; its notices reach a2 via c and via d: after 3
  // epochs over ~20 s (two update periods, a little under from start-up) a2 goes
  sim.run(20_500);
  assert(sim.rec("a2").shutdown !== undefined, "a2 shut down");
  assertEquals(sim.rec("a1").shutdown, undefined);
  assert(logsOf(sim, "a2").includes("We are a duplicate node"));
  assert(/via (c, d|d, c)/.test(logsOf(sim, "a2")), "both links named");
  assertEquals(sim.r("a2").pollTimeout(), undefined);
  sim.run(30_000);
  assertEquals(sorted(sim.r("c").status().routingTable), { a: "b", b: "b", d: "b" });
});

Deno.test("duplicate notice: under exit, a real duplicate heard over one link only stays up, re-announcing with back-off", () => {
  const sim = twoInstances(["c"], EXIT);
  const changes: number[] = [];
  let last = sim.r("a2").epoch;
  for (let t = 0; t < 120_000; t += 500) {
    sim.run(500);
    if (sim.r("a2").epoch !== last) changes.push(sim.clock.now()), last = sim.r("a2").epoch;
  }
  assertEquals(sim.rec("a2").shutdown, undefined);
  assertEquals(sim.rec("a1").shutdown, undefined);
  assertBackoff(changes, 120_000);
  const logs = logsOf(sim, "a2");
  assertEquals(count(logs, "DUPLICATE NODE NOTICE"), changes.length);
  assert(logs.includes("If another node really uses this ID, fix it."));
});

Deno.test("duplicate notice: the credibility state alone under exit (links, strikes, span, back-off, forgetting)", () => {
  const d = new DuplicateNotices(10_000, "exit");
  let e = 100n;
  // strikes and span reached, but all over one link: never believed
  for (let t = 0; t <= 40_000; t += 10_000) {
    const v = d.notice(e, e, "p", t);
    assert(v.kind !== "believe");
    if (v.kind === "reannounce") d.reannounced(++e);
  }
  // the current epoch named over a second link: believed
  assertEquals(d.notice(e, e, "p", 40_001).kind, "hold");
  assertEquals(d.notice(e, e, "q", 40_002).kind, "believe");
  // a fresh state: two links for the first epoch, then enough epochs over enough time
  const f = new DuplicateNotices(10_000, "exit");
  e = 200n;
  assertEquals(f.notice(e, e, "p", 0).kind, "reannounce");
  f.reannounced(++e);
  assertEquals(f.notice(e - 1n, e, "q", 1).kind, "hold"); // a late copy of the first notice
  assertEquals(f.notice(e, e, "p", 10_000).kind, "reannounce");
  f.reannounced(++e);
  assertEquals(f.notice(e, e, "p", 12_000).kind, "reannounce"); // 3 epochs, span too short
  f.reannounced(++e);
  assertEquals(f.notice(999n, e, "q", 14_000).kind, "hold"); // never our epoch: not about us
  assertEquals(f.notice(e, e, "p", 15_000).kind, "believe");
  // back-off doubles up to the cap, and is forgotten after 30 quiet periods
  const g = new DuplicateNotices(10_000, "exit");
  const gaps: number[] = [];
  let at = 0, prev = -1;
  e = 300n;
  for (let t = 0; t < 3_000_000; t += 500) {
    const v = g.notice(e, e, "p", t);
    if (v.kind === "reannounce") {
      g.reannounced(++e);
      if (prev >= 0) gaps.push(t - prev);
      prev = t;
      assertEquals(v.nextInMs, Math.min(REANNOUNCE_MAX_MS, REANNOUNCE_MIN_MS * 2 ** gaps.length));
    }
    at = t;
  }
  assertEquals(Math.max(...gaps), REANNOUNCE_MAX_MS);
  const v = g.notice(e, e, "p", at + 300_001);
  assert(v.kind === "reannounce" && v.nextInMs === REANNOUNCE_MIN_MS, "forgotten after quiet");
});

/**
 * The ring v–m, v–n, m–n (v with options `opts`): evil is attached to m only, but m floods its
 * notices to v and to n, and n to v, so v hears them over two links, as it would a real
 * duplicate's.
 */
function ring(opts: Partial<RouterOptions>): { sim: Sim; evil: HostilePeer } {
  const sim = new Sim();
  sim.addNode("v", opts);
  for (const id of ["m", "n"]) sim.addNode(id);
  sim.connect("v", "m");
  sim.connect("v", "n");
  sim.connect("m", "n");
  sim.run(500);
  return { sim, evil: new HostilePeer(sim, "m", "evil") };
}

Deno.test("duplicate notice (under exit, documented boundary): a forger whose notices come back over two links still stops the node", () => {
  // README "What is not protected": with the opt-in `exit`, only authenticated peers keep such
  // a forger out
  const { sim, evil } = ring(EXIT);
  forge(sim, evil, "v", 30_000, 1000);
  assert(sim.rec("v").shutdown !== undefined, "v shut down");
  assert(/via (m, n|n, m)/.test(logsOf(sim, "v")), "both links named");
  assert(logsOf(sim, "v").includes("We are a duplicate node"));
});

for (
  const [name, opts] of [["by default", {}], ["with stay", { duplicateNotice: "stay" }]] as const
) {
  Deno.test(`duplicate notice: ${name}, the ring forger does not stop the node`, () => {
    const { sim, evil } = ring(opts);
    const changes = forge(sim, evil, "v", 120_000, 1000);
    assertEquals(sim.rec("v").shutdown, undefined);
    assertBackoff(changes, 120_000);
    const logs = logsOf(sim, "v");
    assert(!logs.includes("We are a duplicate node"));
    // credible (the same notices stop a node under `exit`, test above), logged at error level
    // once per re-announcement, naming `exit` as the way to Go's behaviour, counted apart from
    // the notices that are not credible
    const credible = logs.split("\n").filter((l) => l.includes(KEPT_UP));
    assert(credible.length >= 1, logs);
    assert(credible.every((l) => l.includes("ERROR")), credible.join("\n"));
    assert(/via (m, n|n, m)/.test(credible[0]), "both links named");
    assertEquals(count(logs, "DUPLICATE NODE NOTICE"), changes.length);
    const st = sim.r("v").stats();
    assert(st.duplicateIgnored >= 60, `${st.duplicateIgnored} credible notices ignored`);
    assertEquals(st.duplicateReannounced + credible.length, changes.length);
    // still routable both ways through the ring
    assertEquals(sorted(sim.r("n").status().routingTable).v, "v");
    assertEquals(sorted(sim.r("v").status().routingTable), { evil: "m", m: "m", n: "n" });
  });
}

Deno.test("duplicate notice: by default, a real duplicate heard over two links stays up too", () => {
  const sim = twoInstances(["c", "d"]);
  sim.run(60_000);
  assertEquals(sim.rec("a2").shutdown, undefined);
  assertEquals(sim.rec("a1").shutdown, undefined);
  assert(logsOf(sim, "a2").includes(KEPT_UP));
  assert(sim.r("a2").stats().duplicateIgnored > 0);
});

Deno.test("duplicate notice: the credibility state under stay (the default) never believes", () => {
  assertEquals(DEFAULT_DUPLICATE_NOTICE_POLICY, "stay");
  for (const d of [new DuplicateNotices(10_000), new DuplicateNotices(10_000, "stay")]) {
    let e = 100n;
    const kinds: string[] = [];
    for (let t = 0; t <= 60_000; t += 500) {
      for (const peer of ["p", "q"]) {
        const v = d.notice(e, e, peer, t);
        kinds.push(v.kind);
        if (v.kind === "reannounce") d.reannounced(++e);
      }
    }
    assert(!kinds.includes("believe"));
    assert(d.counters.ignored > 0 && d.counters.believed === 0, JSON.stringify(d.counters));
  }
  // the same notices under the opt-in `exit` are believed
  const x = new DuplicateNotices(10_000, "exit");
  let e = 100n;
  let believed = false;
  for (let t = 0; t <= 60_000 && !believed; t += 500) {
    for (const peer of ["p", "q"]) {
      const v = x.notice(e, e, peer, t);
      if (v.kind === "believe") believed = true;
      if (v.kind === "reannounce") x.reannounced(++e);
    }
  }
  assert(believed, "exit believes");
});
