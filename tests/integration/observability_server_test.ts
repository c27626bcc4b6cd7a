/**
 * The observability endpoint in-process (real HTTP on loopback, a real MeshNode and WorkEngine):
 * /ready before and after start-up, /health and /ready while shutting down, the live feed's
 * client limit, methods and paths it refuses, and `meshpage: false`.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/net.ts";
import { MeshNode } from "../../src/mesh/mesh_node.ts";
import { WorkEngine } from "../../src/work/engine.ts";
import { ControlStats } from "../../src/control/control_stats.ts";
import { Logger } from "../../src/log.ts";
import type { ObservabilitySection } from "../../src/config/types.ts";
import { MAX_EVENT_CLIENTS, startObservability } from "../../src/node/http/server.ts";

async function setup(meshpage: boolean) {
  const lines: string[] = [];
  const logger = new Logger({ level: "info", sink: (l) => lines.push(l) });
  const dir = await tempDir("receptor-obs-server-");
  const mesh = new MeshNode({ nodeId: "solo", logger });
  const work = new WorkEngine({ nodeId: "solo", dataDir: dir, logger, workTypes: [] });
  await work.init();
  const section: ObservabilitySection = {
    kind: "observability",
    source: "test",
    address: "127.0.0.1:0",
    tls: "",
    minpeers: 0,
    meshpage,
  } as ObservabilitySection;
  const ep = await startObservability(section, {
    nodeId: "solo",
    version: "test",
    mesh,
    work,
    control: new ControlStats(),
    logger,
  });
  const close = async () => {
    await ep.close();
    await work.close();
    mesh.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return { ep, lines, close };
}

async function status(url: string, init?: RequestInit): Promise<number> {
  const r = await fetch(url, init);
  await r.body?.cancel();
  return r.status;
}

Deno.test("observability server: ready, shutting down, live feed limit, refusals", async () => {
  const { ep, lines, close } = await setup(true);
  const streams: Response[] = [];
  try {
    assertEquals(await status(`${ep.url}ready`), 503);
    assertEquals(await status(`${ep.url}health`), 200);
    ep.setReady();
    assertEquals(await status(`${ep.url}ready`), 200);
    assertEquals(await status(`${ep.url}metrics`, { method: "POST" }), 405);
    assertEquals(await status(`${ep.url}nothing`), 404);
    const js = await fetch(`${ep.url}app.js`);
    assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertStringIncludes(await js.text(), 'new EventSource("/events")');

    // The first event of the live feed is the snapshot.
    const first = await fetch(`${ep.url}events`);
    assertEquals(first.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = first.body!.pipeThrough(new TextDecoderStream()).getReader();
    let got = "";
    while (!got.includes("\n\n")) got += (await reader.read()).value ?? "";
    assertStringIncludes(got, "event: mesh\ndata: {");
    assertStringIncludes(got, '"nodeId":"solo"');
    await reader.cancel();
    for (let i = 0; i < MAX_EVENT_CLIENTS; i++) streams.push(await fetch(`${ep.url}events`));
    assertEquals(await status(`${ep.url}events`), 503);
    assertEquals(lines.filter((l) => l.includes("refusing a live-page client")).length, 1);

    ep.setShuttingDown();
    const h = await fetch(`${ep.url}health`);
    assertEquals(h.status, 503);
    assertEquals((await h.json()).status, "shutting down");
    assertEquals(await status(`${ep.url}ready`), 503);
  } finally {
    for (const s of streams) await s.body?.cancel().catch(() => {});
    await close();
  }
});

Deno.test("observability server: meshpage false serves only metrics, health and ready", async () => {
  const { ep, close } = await setup(false);
  try {
    assertEquals(await status(ep.url), 404);
    assertEquals(await status(`${ep.url}events`), 404);
    assertEquals(await status(`${ep.url}metrics`), 200);
  } finally {
    await close();
  }
});
