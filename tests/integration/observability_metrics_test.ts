/**
 * The `observability` endpoint on real node processes: after known traffic (pings, a remote work
 * unit with results, a local unit that runs a few seconds) `/metrics` passes `promtool check
 * metrics` and its values parse back as expected; `/health` follows `minpeers`; `/ready` is 200.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { startMesh } from "../helpers/mesh.ts";
import { freePort, waitFor } from "../helpers/net.ts";
import { runReceptor } from "../helpers/node_process.ts";
import { promtool } from "../helpers/peers.ts";
import { parseMetrics, type Sample } from "../../src/util/metrics.ts";

async function promtoolCheck(text: string): Promise<{ code: number; out: string }> {
  const p = new Deno.Command(promtool(), {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const o = await p.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout) + d.decode(o.stderr) };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) =>
    x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)
  );
  return s?.value ?? NaN;
}

Deno.test("observability: /metrics passes promtool and reports known traffic", async () => {
  promtool();
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const mesh = await startMesh({
    nodes: ["a", "b"],
    edges: [["a", "b"]],
    extraYaml: (id) =>
      id === "a"
        ? [
          "- observability:",
          `    address: 127.0.0.1:${port}`,
          "    minpeers: 1",
          "- work-command:",
          "    worktype: slow",
          "    command: sleep",
          "    params: 4",
          "",
        ].join("\n")
        : ["- work-command:", "    worktype: echo", "    command: cat", ""].join("\n"),
  }, { tempPrefix: "receptor-obs-" });
  try {
    await mesh.waitConverged();
    const sockA = mesh.node("a").socket;
    for (let i = 0; i < 3; i++) assert((await mesh.ping("a", "b")).Success, "ping b");
    const payload = "hello metrics ".repeat(100);
    const sub = await runReceptor([
      "ctl",
      "--socket",
      sockA,
      "work",
      "submit",
      "echo",
      "--node",
      "b",
      "-l",
      payload,
      "-f",
    ]);
    assertEquals(sub.code, 0, sub.stderr);
    assertStringIncludes(sub.stdout, payload);
    const slow = await runReceptor(["ctl", "--socket", sockA, "work", "submit", "slow", "-n"]);
    assertEquals(slow.code, 0, slow.stderr);

    // The local unit finishes: one duration observation (from the engine's unit-final event),
    // and the units gauge (re-read right after) shows both units finished.
    const text = await waitFor(
      "a finished unit in the duration histogram and the units gauge",
      async () => {
        const t = await (await fetch(`${base}/metrics`)).text();
        const s = parseMetrics(t);
        const done = { work_type: "slow", state: "Succeeded" };
        const n = value(s, "receptor_work_unit_duration_seconds_count", done);
        const remote = value(s, "receptor_work_units", { work_type: "remote", state: "Succeeded" });
        return n === 1 && value(s, "receptor_work_units", done) === 1 && remote === 1 ? t : null;
      },
      30000,
      500,
    );

    const check = await promtoolCheck(text);
    assertEquals(check.code, 0, `promtool check metrics failed:\n${check.out}\n${text}`);
    assertEquals(check.out.trim(), "", `promtool lint findings:\n${check.out}`);

    const s = parseMetrics(text);
    assertEquals(
      value(s, "receptor_links", { peer: "b", backend: "tcp-peer", state: "established" }),
      1,
    );
    assertEquals(value(s, "receptor_link_cost", { peer: "b" }), 1);
    assertEquals(value(s, "receptor_known_nodes"), 2);
    assertEquals(value(s, "receptor_routes"), 1);
    assertEquals(value(s, "receptor_routing_update_origins"), 1);
    assert(value(s, "receptor_route_changes_total") >= 1, "route changes");
    assert(value(s, "receptor_routing_updates_received_total", { origin: "neighbour" }) >= 1);
    assert(value(s, "receptor_routing_updates_originated_total") >= 1);
    assertEquals(value(s, "receptor_duplicate_notices_total", { outcome: "held" }), 0);
    assertEquals(value(s, "receptor_duplicate_notices_total", { outcome: "reannounced" }), 0);
    assertEquals(value(s, "receptor_duplicate_notices_total", { outcome: "ignored" }), 0);
    for (const direction of ["in", "out"]) {
      const l = { peer: "b", backend: "tcp-peer", direction };
      assert(value(s, "receptor_link_messages_total", l) >= 6, `messages ${direction}`);
      assert(value(s, "receptor_link_bytes_total", l) > payload.length, `bytes ${direction}`);
    }
    assertEquals(
      value(s, "receptor_control_commands_total", { command: "ping", outcome: "ok" }),
      3,
    );
    assertEquals(
      value(s, "receptor_control_commands_total", { command: "work_submit", outcome: "ok" }),
      2,
    );
    assert(value(s, "receptor_control_sessions_total", { transport: "unix" }) >= 5, "sessions");
    assert(value(s, "receptor_work_results_bytes_total") >= payload.length, "results bytes");
    assertEquals(value(s, "receptor_work_units", { work_type: "remote", state: "Succeeded" }), 1);
    assertEquals(value(s, "receptor_work_units", { work_type: "slow", state: "Succeeded" }), 1);
    assert(value(s, "receptor_streams_opened_total") >= 1, "streams opened");
    assert(value(s, "receptor_quic_packets_sent_total") > 0, "quic packets");
    assert(value(s, "receptor_quic_packets_lost_total") >= 0, "quic lost present");
    assert(value(s, "process_resident_memory_bytes") > 1e6, "rss");
    assert(value(s, "receptor_event_loop_lag_seconds") >= 0, "lag present");
    assertEquals(value(s, "receptor_ready"), 1);
    // Node IDs as label values only for direct neighbours (and this node's own build info).
    for (const x of s) {
      for (const [k, v] of Object.entries(x.labels)) {
        if (k === "peer") assert(v === "b" || v === "", `peer label ${v} on ${x.name}`);
      }
    }
    await waitFor(
      "a ping RTT to b",
      async () => {
        const t = parseMetrics(await (await fetch(`${base}/metrics`)).text());
        return value(t, "receptor_peer_ping_rtt_seconds", { peer: "b" }) > 0;
      },
      20000,
      500,
    );
    const rtt = value(
      parseMetrics(await (await fetch(`${base}/metrics`)).text()),
      "receptor_peer_ping_rtt_seconds",
      { peer: "b" },
    );
    assert(rtt > 0, `ping RTT to b: ${rtt}`);

    const h = await fetch(`${base}/health`);
    assertEquals(h.status, 200);
    assertEquals((await h.json()).peers, 1);
    const r = await fetch(`${base}/ready`);
    assertEquals(r.status, 200);
    await r.body?.cancel();
    const nf = await fetch(`${base}/nope`);
    assertEquals(nf.status, 404);
    await nf.body?.cancel();

    await mesh.kill("b");
    const down = await waitFor(
      "/health 503 below minpeers",
      async () => {
        const res = await fetch(`${base}/health`);
        const j = await res.json();
        return res.status === 503 ? j : null;
      },
      30000,
      200,
    );
    assertEquals(down.status, "too few peers");
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${mesh.logs()}`);
  } finally {
    await mesh.stop();
  }
});
