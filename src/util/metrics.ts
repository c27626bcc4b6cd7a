/**
 * A tiny metrics registry rendering the Prometheus text exposition format (version 0.0.4):
 * counters, gauges and histograms with a fixed set of label names and a bounded number of
 * series per metric. No global state: whoever serves `/metrics` owns a registry, registers
 * metrics and collectors, and calls {@link MetricsRegistry.render} per scrape. Collectors read
 * the node's existing state at scrape time, so hot paths need no increments for most metrics.
 * @module
 */

/** Label values of one series, by label name. */
export type Labels = Readonly<Record<string, string>>;

/** Default limit of series per metric (a bound against label explosions). */
export const DEFAULT_MAX_SERIES = 500;

/** Default histogram buckets, in seconds (work unit durations: 100 ms … 1 h). */
export const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = "counter" | "gauge" | "histogram";

/** Escape a label value for the text format. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Format a sample value (Go/Prometheus spelling of infinities and NaN). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

abstract class Metric<S> {
  readonly series = new Map<string, { labels: Labels; value: S }>();
  #warned = false;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
    readonly labelNames: readonly string[],
    readonly maxSeries: number,
    readonly onLimit: (msg: string) => void,
  ) {
    if (!NAME_RE.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith("__") || l === "le") {
        throw new Error(`invalid label name ${l} for metric ${name}`);
      }
    }
  }

  /** The series for `labels`, created with `init` if new; undefined when the limit is hit. */
  protected slot(labels: Labels, init: () => S): { labels: Labels; value: S } | undefined {
    const key = this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    let s = this.series.get(key);
    if (s) return s;
    if (this.series.size >= this.maxSeries) {
      if (!this.#warned) {
        this.#warned = true;
        this.onLimit(
          `metric ${this.name} reached its limit of ${this.maxSeries} series; ` +
            `new label values are dropped`,
        );
      }
      return undefined;
    }
    const copy: Record<string, string> = {};
    for (const n of this.labelNames) copy[n] = labels[n] ?? "";
    s = { labels: copy, value: init() };
    this.series.set(key, s);
    return s;
  }

  /** Forget every series (collectors rebuilding gauges from current state). */
  reset(): void {
    this.series.clear();
  }

  /** The label part `{a="x",b="y"}` ("" without labels), with optional extra labels. */
  protected labelText(labels: Labels, extra?: [string, string]): string {
    const parts = this.labelNames.map((n) => `${n}="${escapeLabel(labels[n] ?? "")}"`);
    if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
    return parts.length ? `{${parts.join(",")}}` : "";
  }

  /** Sample lines of this metric. */
  abstract lines(): string[];
}

/** A monotonically increasing count (`…_total`). */
export class Counter extends Metric<number> {
  /** Add `n` (≥ 0) to the series for `labels`. */
  inc(labels: Labels = {}, n = 1): void {
    if (!(n >= 0)) return;
    const s = this.slot(labels, () => 0);
    if (s) s.value += n;
  }

  /** Set the series from a monotonic source read at scrape time (e.g. a stats getter). */
  set(labels: Labels, total: number): void {
    const s = this.slot(labels, () => 0);
    if (s) s.value = total;
  }

  /** Current value (0 for an unknown series). */
  get(labels: Labels = {}): number {
    const key = this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    return this.series.get(key)?.value ?? 0;
  }

  lines(): string[] {
    return [...this.series.values()].map((s) =>
      `${this.name}${this.labelText(s.labels)} ${formatValue(s.value)}`
    );
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric<number> {
  /** Set the series for `labels`. */
  set(labels: Labels, v: number): void {
    const s = this.slot(labels, () => 0);
    if (s) s.value = v;
  }

  /** Add `n` (may be negative). */
  add(labels: Labels, n: number): void {
    const s = this.slot(labels, () => 0);
    if (s) s.value += n;
  }

  lines(): string[] {
    return [...this.series.values()].map((s) =>
      `${this.name}${this.labelText(s.labels)} ${formatValue(s.value)}`
    );
  }
}

interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted in cumulative buckets (`_bucket`, `_sum`, `_count`). */
export class Histogram extends Metric<HistogramData> {
  readonly buckets: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
    maxSeries: number,
    onLimit: (msg: string) => void,
  ) {
    super(name, help, "histogram", labelNames, maxSeries, onLimit);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  /** Record one observation. */
  observe(labels: Labels, v: number): void {
    const s = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    if (!s) return;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) s.value.counts[i]++;
    s.value.sum += v;
    s.value.count++;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        const l = this.labelText(s.labels, ["le", formatValue(b)]);
        out.push(`${this.name}_bucket${l} ${s.value.counts[i]}`);
      });
      out.push(`${this.name}_bucket${this.labelText(s.labels, ["le", "+Inf"])} ${s.value.count}`);
      out.push(`${this.name}_sum${this.labelText(s.labels)} ${formatValue(s.value.sum)}`);
      out.push(`${this.name}_count${this.labelText(s.labels)} ${s.value.count}`);
    }
    return out;
  }
}

/** Options of a metric at registration. */
export interface MetricOptions {
  labels?: readonly string[];
  /** Series limit (default {@link DEFAULT_MAX_SERIES}). */
  maxSeries?: number;
}

/** Owns metrics and scrape-time collectors; renders the text format. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric<unknown>>();
  readonly #collectors: (() => void | Promise<void>)[] = [];
  readonly #onLimit: (msg: string) => void;

  /** `onLimit` is told (once per metric) when a metric hits its series limit. */
  constructor(onLimit: (msg: string) => void = () => {}) {
    this.#onLimit = onLimit;
  }

  #add<M extends Metric<unknown>>(m: M): M {
    if (this.#metrics.has(m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.#metrics.set(m.name, m);
    return m;
  }

  /** Register a counter; by convention its name ends in `_total`. */
  counter(name: string, help: string, o: MetricOptions = {}): Counter {
    return this.#add(
      new Counter(
        name,
        help,
        "counter",
        o.labels ?? [],
        o.maxSeries ?? DEFAULT_MAX_SERIES,
        this.#onLimit,
      ),
    );
  }

  /** Register a gauge. */
  gauge(name: string, help: string, o: MetricOptions = {}): Gauge {
    return this.#add(
      new Gauge(
        name,
        help,
        "gauge",
        o.labels ?? [],
        o.maxSeries ?? DEFAULT_MAX_SERIES,
        this.#onLimit,
      ),
    );
  }

  /** Register a histogram with upper bucket bounds `buckets`. */
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    o: MetricOptions = {},
  ): Histogram {
    return this.#add(
      new Histogram(
        name,
        help,
        o.labels ?? [],
        buckets,
        o.maxSeries ?? DEFAULT_MAX_SERIES,
        this.#onLimit,
      ),
    );
  }

  /** Run `fn` before every render (it sets gauges / collected counters from live state). */
  collect(fn: () => void | Promise<void>): void {
    this.#collectors.push(fn);
  }

  /** Run the collectors, then render every metric in registration order. */
  async render(): Promise<string> {
    for (const c of this.#collectors) await c();
    const out: string[] = [];
    for (const m of this.#metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${m.name} ${m.kind}`);
      out.push(...m.lines());
    }
    return out.join("\n") + "\n";
  }
}

/** One parsed sample of the text format (for tests and tools). */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse sample lines of the text format (comments skipped). Throws on a malformed line. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = re.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${line}`);
    const labels: Record<string, string> = {};
    const lre = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (let l; (l = lre.exec(m[2] ?? ""));) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    }
    const v = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}
