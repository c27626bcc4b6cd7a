/**
 * A `status` asked the instant the control socket is bound (issue 11: the socket is bound
 * before the work engine has scanned its units and the node's own control service is
 * advertised) gets the same answer as one asked later: the node's `control` advertisement with
 * its work commands. The node here has many finished units to scan, so its start-up work after
 * the bind is long enough for an early question to arrive during it.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort } from "../helpers/net.ts";
import { NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { nodeYaml } from "../helpers/mesh.ts";
import { encodeStatus } from "../../src/work/status_file.ts";

/** Finished units left by an earlier run, to make the start-up scan long. */
const UNITS = 400;

/** One `status` over a fresh connection; throws while the socket is not there yet. */
async function statusOnce(socket: string): Promise<Record<string, unknown>> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await conn.write(new TextEncoder().encode('{"command":"status"}\n'));
    let text = "";
    const buf = new Uint8Array(64 * 1024);
    while (text.split("\n").length < 3) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const [banner, reply] = text.split("\n");
    assertEquals(banner, "Receptor Control, node early");
    return JSON.parse(reply);
  } finally {
    conn.close();
  }
}

/** Ask as fast as possible from spawn until the first answer. */
async function firstStatus(node: NodeProcess): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      return await statusOnce(node.socket);
    } catch (e) {
      if (node.exited) throw new Error(`node exited:\n${node.logText()}`);
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

function controlAd(status: Record<string, unknown>): Record<string, unknown> | undefined {
  const ads = status.Advertisements as Record<string, unknown>[] | null;
  return ads?.find((a) => a.NodeID === "early" && a.Service === "control");
}

Deno.test("control: status asked the instant the socket binds carries the node's control ad", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-early-" });
  const unitsDir = `${dir}/data/early`;
  for (let i = 0; i < UNITS; i++) {
    const unit = `${unitsDir}/done${i}`;
    await Deno.mkdir(unit, { recursive: true });
    await Deno.writeTextFile(
      `${unit}/status`,
      encodeStatus({ State: 2, Detail: "", StdoutSize: 0, WorkType: "echo", ExtraData: null }),
    );
    await Deno.writeTextFile(`${unit}/stdout`, "");
  }
  const extra = "- work-command:\n    worktype: echo\n    command: cat\n";
  const port = freePort();
  const node = await startNode(
    "early",
    (_d, socket) => nodeYaml({ id: "early", socket, port, logLevel: "error", extra }),
    { dir, waitSocket: false },
  );
  try {
    const first = await firstStatus(node);
    assertEquals(first.NodeID, "early");
    const ad = controlAd(first);
    assert(ad, `first status has the node's control advertisement: ${JSON.stringify(first)}`);
    assertEquals(ad.WorkCommands, [{ WorkType: "echo", Secure: false }]);
    // The same advertisement later, once start-up is long over.
    const later = await statusOnce(node.socket);
    assertEquals(controlAd(later)?.WorkCommands, ad.WorkCommands);
  } finally {
    await stopAll([node]);
  }
});
