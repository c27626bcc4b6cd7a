import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { MetricsRegistry, parseMetrics } from "../../src/util/metrics.ts";

Deno.test("metrics: counters, gauges and histograms render in the text format", async () => {
  const r = new MetricsRegistry();
  const c = r.counter("receptor_test_total", "A test counter", { labels: ["peer"] });
  const g = r.gauge("receptor_test_gauge", "A gauge\nwith newline");
  const h = r.histogram("receptor_test_seconds", "Durations", [1, 5], { labels: ["type"] });
  c.inc({ peer: 'a"b\\c' }, 2);
  c.inc({ peer: 'a"b\\c' });
  g.set({}, 1.5);
  h.observe({ type: "echo" }, 0.5);
  h.observe({ type: "echo" }, 3);
  h.observe({ type: "echo" }, 10);
  const text = await r.render();
  assertEquals(
    text,
    [
      "# HELP receptor_test_total A test counter",
      "# TYPE receptor_test_total counter",
      'receptor_test_total{peer="a\\"b\\\\c"} 3',
      "# HELP receptor_test_gauge A gauge\\nwith newline",
      "# TYPE receptor_test_gauge gauge",
      "receptor_test_gauge 1.5",
      "# HELP receptor_test_seconds Durations",
      "# TYPE receptor_test_seconds histogram",
      'receptor_test_seconds_bucket{type="echo",le="1"} 1',
      'receptor_test_seconds_bucket{type="echo",le="5"} 2',
      'receptor_test_seconds_bucket{type="echo",le="+Inf"} 3',
      'receptor_test_seconds_sum{type="echo"} 13.5',
      'receptor_test_seconds_count{type="echo"} 3',
      "",
    ].join("\n"),
  );
  const samples = parseMetrics(text);
  assertEquals(samples[0], { name: "receptor_test_total", labels: { peer: 'a"b\\c' }, value: 3 });
  assertEquals(samples.length, 7);
});

Deno.test("metrics: series per metric are bounded and the limit is reported once", async () => {
  const told: string[] = [];
  const r = new MetricsRegistry((m) => told.push(m));
  const c = r.counter("x_total", "x", { labels: ["k"], maxSeries: 2 });
  for (let i = 0; i < 10; i++) c.inc({ k: String(i) });
  assertEquals(parseMetrics(await r.render()).length, 2);
  assertEquals(told.length, 1);
});

Deno.test("metrics: collectors run at render time; bad names are refused", async () => {
  const r = new MetricsRegistry();
  const g = r.gauge("live", "live", { labels: ["peer"] });
  let n = 0;
  r.collect(() => {
    g.reset();
    g.set({ peer: "p" }, ++n);
  });
  await r.render();
  assertEquals(parseMetrics(await r.render())[0].value, 2);
  assertThrows(() => r.gauge("bad-name", "x"));
  assertThrows(() => r.gauge("ok", "x", { labels: ["le"] }));
  assertThrows(() => r.gauge("live", "again"));
});
