/**
 * Firewall rules (`node: firewallrules`, wire.md §9) seen from real node processes: a `reject`
 * tells the sender "blocked by firewall" at once while a `drop` leaves it to time out; rules
 * evaluated in transit on a middle node; a rule protecting a node's `control` service from the
 * rest of the mesh leaves its local Unix socket working; an invalid regular expression stops
 * the node at start-up with one line naming the rule.
 * @module
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { CtlConn, ctlJson, ctlStatus, nodeYaml, type PingReply } from "../helpers/mesh.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, runReceptor, startNode, stopAll } from "../helpers/node_process.ts";

/** A node config: `rules` are YAML lines (already indented under firewallrules). */
function fwNodeYaml(
  id: string,
  socket: string,
  o: { listen?: number; peers?: number[]; rules?: string[] },
): string {
  const nodeLines = o.rules?.length ? [`    firewallrules:`, ...o.rules] : [];
  return nodeYaml({ id, socket, port: o.listen, peers: o.peers, nodeLines, logLevel: null });
}

function rule(fields: Record<string, string>): string[] {
  const [first, ...rest] = Object.entries(fields);
  return [
    `      - ${first[0]}: "${first[1]}"`,
    ...rest.map(([k, v]) => `        ${k}: "${v}"`),
  ];
}

function ping(n: NodeProcess, target: string): Promise<PingReply> {
  return ctlJson<PingReply>(n.socket, `ping ${target}`, 20000);
}

async function traceroute(
  n: NodeProcess,
  target: string,
): Promise<{ From: string; Error?: string }[]> {
  const r = await ctlJson<Record<string, { From: string; Error?: string }>>(
    n.socket,
    `traceroute ${target}`,
    30000,
  );
  return Object.keys(r).sort((x, y) => Number(x) - Number(y)).map((k) => r[k]);
}

/** Start a line a - b - c (a and c dial b) with per-node rules. */
async function startLine(
  dir: string,
  rules: Record<string, string[]>,
): Promise<NodeProcess[]> {
  const port = freePort();
  const nodes: NodeProcess[] = [];
  try {
    for (const id of ["b", "a", "c"]) {
      await Deno.mkdir(`${dir}/${id}`);
      const o = id === "b" ? { listen: port } : { peers: [port] };
      nodes.push(
        await startNode(id, (_d, sock) => fwNodeYaml(id, sock, { ...o, rules: rules[id] }), {
          dir: `${dir}/${id}`,
        }),
      );
    }
    const [b, a, c] = nodes;
    await waitFor(
      "a and c route to each other via b",
      async () => {
        const sa = await ctlStatus(a.socket);
        const sc = await ctlStatus(c.socket);
        return sa.RoutingTable.c === "b" && sc.RoutingTable.a === "b" && !!b;
      },
      30000,
      200,
    );
    return nodes;
  } catch (e) {
    await stopAll(nodes);
    throw e;
  }
}

Deno.test("firewall: reject answers 'blocked by firewall', drop times out (at target and in transit)", async () => {
  const dir = await tempDir("receptor-fw-");
  let nodes: NodeProcess[] = [];
  try {
    nodes = await startLine(dir, {
      // On the target: a's pings are rejected, b's are dropped.
      c: [
        ...rule({ action: "reject", fromnode: "a", toservice: "ping" }),
        ...rule({ action: "drop", fromnode: "b", toservice: "ping" }),
      ],
      // In transit on b: c's pings to a are rejected by b, whatever their case.
      b: [...rule({ action: "reject", fromnode: "c", tonode: "/(?i)A/", toservice: "ping" })],
    });
    const [b, a, c] = nodes;

    let t0 = Date.now();
    const rej = await ping(a, "c");
    const rejMs = Date.now() - t0;
    assertEquals(rej.Success, false, JSON.stringify(rej));
    assert(/blocked by firewall/.test(rej.Error ?? ""), `reject: ${JSON.stringify(rej)}`);
    assert(rejMs < 5000, `reject must answer at once, took ${rejMs} ms`);

    t0 = Date.now();
    const drop = await ping(b, "c");
    const dropMs = Date.now() - t0;
    assertEquals(drop.Success, false, JSON.stringify(drop));
    assert(
      !/blocked by firewall/.test(drop.Error ?? ""),
      `drop is silent: ${JSON.stringify(drop)}`,
    );
    assert(/timeout/i.test(drop.Error ?? ""), `drop must time out: ${JSON.stringify(drop)}`);
    assert(dropMs >= 9000, `drop must wait for the ping timeout, took ${dropMs} ms`);

    const transit = await ping(c, "a");
    assertEquals(transit.Success, false, JSON.stringify(transit));
    assert(/blocked by firewall/.test(transit.Error ?? ""), `transit: ${JSON.stringify(transit)}`);

    // Who answered: traceroute shows the rejecting node on the failed hop.
    const trA = await traceroute(a, "c");
    const lastA = trA[trA.length - 1];
    assertEquals(lastA.From, "c", `target rejects: ${JSON.stringify(trA)}`);
    assert(/blocked by firewall/.test(lastA.Error ?? ""), JSON.stringify(trA));
    const trC = await traceroute(c, "a");
    const lastC = trC[trC.length - 1];
    assertEquals(lastC.From, "b", `middle node rejects: ${JSON.stringify(trC)}`);
    assert(/blocked by firewall/.test(lastC.Error ?? ""), JSON.stringify(trC));

    // Traffic the rules do not match still flows.
    const ok1 = await ping(c, "b");
    assert(ok1.Success && ok1.From === "b", `c->b: ${JSON.stringify(ok1)}`);
    const ok2 = await ping(a, "b");
    assert(ok2.Success && ok2.From === "b", `a->b: ${JSON.stringify(ok2)}`);
    const ok3 = await ping(b, "a");
    assert(ok3.Success && ok3.From === "a", `b->a: ${JSON.stringify(ok3)}`);
  } finally {
    await stopAll(nodes);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("firewall: an invalid regular expression is a start-up error naming the rule", async () => {
  const dir = await tempDir("receptor-fw-bad-");
  try {
    const cases: [string, string[], RegExp][] = [
      [
        "badregex",
        rule({ action: "accept", fromnode: "/(unclosed/" }),
        /^Error: firewall rule 0: fromnode pattern "\/\(unclosed\/" is not a valid regular expression/,
      ],
      [
        "noclose",
        [...rule({ action: "drop" }), ...rule({ action: "reject", toservice: "/abc" })],
        /^Error: firewall rule 1: toservice pattern "\/abc" lacks the closing \//,
      ],
    ];
    for (const [name, rules, re] of cases) {
      const cfg = `${dir}/${name}.yaml`;
      Deno.writeTextFileSync(
        cfg,
        [`- node:`, `    id: n1`, `    firewallrules:`, ...rules, `- local-only:`, ""].join("\n"),
      );
      const r = await runReceptor(["-c", cfg]);
      const out = (r.stdout + r.stderr).trim();
      assertEquals(r.code, 1, `${name}: exit code; output:\n${out}`);
      assertEquals(out.split("\n").length, 1, `${name}: one line expected:\n${out}`);
      assert(re.test(out), `${name}: ${out} does not match ${re}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("firewall: a rule shields a node's control service from the mesh; its Unix socket works", async () => {
  const dir = await tempDir("receptor-fw-ctl-");
  let nodes: NodeProcess[] = [];
  try {
    nodes = await startLine(dir, {
      c: rule({ action: "reject", tonode: "c", toservice: "control" }),
    });
    const [_b, a, c] = nodes;

    // Without a rule, a reaches b's control service over the mesh.
    const open = await CtlConn.open(a.socket);
    try {
      assertEquals(await open.command("connect b control", 30000), "Connecting");
      const banner = await open.readLine(20000);
      assert(/node b\b/.test(banner ?? ""), `b's banner over the mesh: ${banner}`);
    } finally {
      open.close();
    }

    // c's control service is shielded: the dial from a fails.
    const shut = await CtlConn.open(a.socket);
    try {
      const t0 = Date.now();
      const reply = await shut.command("connect c control", 40000);
      assert(reply.startsWith("ERROR:"), `connect to a shielded control service: ${reply}`);
      // A rejected dial is not told "service unknown" (which fails at once): it times out.
      assert(/timeout/i.test(reply), reply);
      assert(Date.now() - t0 >= 10000, `dial gave up after ${Date.now() - t0} ms`);
    } finally {
      shut.close();
    }

    // Other traffic to c still flows, and c's local Unix socket is unaffected.
    const p = await ping(a, "c");
    assert(p.Success && p.From === "c", JSON.stringify(p));
    const s = await ctlStatus(c.socket);
    assertEquals(s.NodeID, "c");
  } finally {
    await stopAll(nodes);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
