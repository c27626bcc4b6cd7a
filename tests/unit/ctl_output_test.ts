/**
 * `receptor ctl` output pieces without a node: tables within 80 columns, the status layout on
 * a wide mesh, and the progress meter's rules (only on a terminal, only after a second).
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { table, wrap } from "../../src/ctl/table.ts";
import { formatStatus } from "../../src/ctl/format_status.ts";
import { formatBytes, formatElapsed, ProgressMeter } from "../../src/ctl/progress.ts";

Deno.test("ctl table: aligned columns, two spaces apart", () => {
  assertEquals(
    table([["Route", "Via"], ["b", "b"], ["long-node", "b"]]),
    [
      "Route      Via",
      "b          b",
      "long-node  b",
      "",
    ].join("\n"),
  );
});

Deno.test("ctl table: a wide table wraps its widest cells to fit 80 columns", () => {
  const conns = Array.from({ length: 30 }, (_, i) => `node-${i}: 1`).join(", ");
  const out = table([["Known Node", "Known Connections"], ["hub", conns], ["leaf", "hub: 1"]]);
  const lines = out.trimEnd().split("\n");
  for (const l of lines) assert(l.length <= 80, `line over 80 columns: ${JSON.stringify(l)}`);
  assert(lines.length > 3, "the long cell should wrap onto several lines");
  // Every piece of the wrapped cell is still there, in order, in the second column.
  const col = lines[0].indexOf("Known Connections");
  const second = lines.slice(1, -1).map((l) => l.slice(col)).join(" ");
  assertEquals(second.replace(/\s+/g, " "), conns.replace(/\s+/g, " "));
  assertEquals(lines.at(-1), "leaf".padEnd(col) + "hub: 1");
});

Deno.test("ctl table: wrap breaks at spaces or commas, else hard", () => {
  assertEquals(wrap("a, b, c, d", 5), ["a, b,", "c, d"]);
  assertEquals(wrap("one two three", 8), ["one two", "three"]);
  assertEquals(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assertEquals(wrap("short", 10), ["short"]);
});

Deno.test("ctl status: a 40-node status fits 80 columns", () => {
  const known: Record<string, Record<string, number>> = {};
  for (let i = 0; i < 40; i++) {
    known[`node-with-a-long-name-${i}`] = Object.fromEntries(
      Array.from({ length: 6 }, (_, j) => [`node-with-a-long-name-${(i + j + 1) % 40}`, 1]),
    );
  }
  const out = formatStatus({
    NodeID: "node-with-a-long-name-0",
    Version: "1.4.9",
    SystemCPUCount: 2,
    SystemMemoryMiB: 24000,
    Connections: [{ NodeID: "node-with-a-long-name-1", Cost: 1 }],
    KnownConnectionCosts: known,
    RoutingTable: { "node-with-a-long-name-1": "node-with-a-long-name-1" },
    Advertisements: [{
      NodeID: "node-with-a-long-name-1",
      Service: "control",
      ConnType: 1,
      Time: "2026-12-07 00:47:21.123456789 +0000 UTC",
      Tags: { type: "Control Service", note: "a tag value that is long enough to wrap" },
      WorkCommands: [{ WorkType: "echo", Secure: false }],
    }],
  });
  for (const l of out.split("\n")) assert(l.length <= 80, `over 80 columns: ${JSON.stringify(l)}`);
  assertStringIncludes(out, "node-with-a-long-name-39");
  assertStringIncludes(out, "node-with-a-long-name-1  control  Stream");
  assert(!/name-\d+:\n/.test(out), "a `node: cost` pair is never split across lines");
});

function fakeSink(tty: boolean) {
  let t = 0;
  const written: string[] = [];
  return {
    written,
    advance: (ms: number) => (t += ms),
    sink: { err: (s: string) => void written.push(s), isTerminal: () => tty, now: () => t },
  };
}

Deno.test("ctl progress: nothing for the first second, then bytes, rate and elapsed", () => {
  const f = fakeSink(true);
  const m = new ProgressMeter("Results", f.sink);
  m.add(1024);
  f.advance(900);
  m.add(1024);
  assertEquals(f.written, [], "nothing may be drawn before one second");
  f.advance(1100); // 2 s in, 3 MiB
  m.add(3 * 1048576 - 2048);
  assertEquals(f.written.length, 1);
  assertStringIncludes(f.written[0], "Results: 3.0 MiB  1.5 MiB/s  0:02");
  f.advance(100);
  m.add(10);
  assertEquals(f.written.length, 1, "redraws are rate-limited");
  m.done();
  assertStringIncludes(f.written.at(-1)!, ", done");
  assert(f.written.at(-1)!.endsWith("\n"));
});

Deno.test("ctl progress: never drawn when stderr is not a terminal or the transfer is short", () => {
  const piped = fakeSink(false);
  const m = new ProgressMeter("Payload", piped.sink);
  piped.advance(5000);
  m.add(100);
  m.done();
  assertEquals(piped.written, []);
  const quick = fakeSink(true);
  const q = new ProgressMeter("Payload", quick.sink);
  q.add(100);
  quick.advance(300);
  q.add(100);
  q.done();
  assertEquals(quick.written, [], "a transfer under a second prints nothing, not even done");
});

Deno.test("ctl progress: units and elapsed formats", () => {
  assertEquals(formatBytes(512), "512 B");
  assertEquals(formatBytes(1536), "1.5 KiB");
  assertEquals(formatBytes(5 * 1073741824), "5.0 GiB");
  assertEquals(formatElapsed(65_000), "1:05");
  assertEquals(formatElapsed(3_725_000), "1:02:05");
});
