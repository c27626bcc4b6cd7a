/**
 * Mixed mesh with a real Go receptor node (wire.md: "a Go receptor node and ours in one mesh,
 * routing and running each other's work"). Opt-in: set RECEPTOR_GO_BINARY to a Go receptor
 * executable you built yourself; this project ships nothing that builds it. Without the
 * variable the test is reported as ignored, not passed.
 *
 * Mesh: tsa (ours, listener) ← gob (Go) ← tsc (ours). Checks routing both ways, 2-hop ping
 * through the Go node, and remote work ours→Go, Go→ours, and ours→ours through Go (which
 * exercises our QUIC/TLS against quic-go in both roles).
 */
import { workYaml } from "../helpers/mesh.ts";
import {
  GO_OWN_ADS_WAIT_MS,
  goReceptorBinary,
  goReceptorTestName,
  spawnGoReceptor,
} from "../helpers/peers.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { NodeProcess, runReceptor, startNode, stopAll } from "../helpers/node_process.ts";
import { ReceptorClient } from "../../src/ctl/client.ts";
import {
  type SubmitOptions,
  submitWork,
  workResults,
  workStatus,
} from "../../src/ctl/work_client.ts";

const GO = goReceptorBinary();

async function results(sock: string, unit: string): Promise<string> {
  let out = "";
  for await (const c of await workResults(await ReceptorClient.connect(sock), unit)) {
    out += new TextDecoder().decode(c);
  }
  return out;
}

/** Run `worktype` on `node` from `sock`, wait until it Succeeded and return its results. */
async function runRemote(
  sock: string,
  node: string,
  worktype: string,
  text: string,
  opts: SubmitOptions = {},
) {
  const sub = await submitWork(await ReceptorClient.connect(sock), worktype, text, {
    node,
    ...opts,
  });
  const st = await waitFor(`unit ${sub.unitid} on ${node} to finish`, async () => {
    const c = await ReceptorClient.connect(sock);
    try {
      const st = await workStatus(c, sub.unitid);
      if (st.State === 3) throw new Error(`failed: ${st.Detail}`);
      return st.State === 2 ? st : null;
    } finally {
      c.close();
    }
  }, 30000);
  assertEquals(st.State, 2, `unit ${sub.unitid} state`);
  return await results(sock, sub.unitid);
}

/** The Go node's log (`file`) and our nodes' logs on stderr, for a failing test. */
async function printLogs(goLog: string, ours: (NodeProcess | undefined)[]): Promise<void> {
  for (const n of ours) if (n) console.error(`--- ${n.name}'s log:\n${n.logText()}`);
  console.error(`--- Go node's log:\n${await Deno.readTextFile(goLog).catch(() => "(none)")}`);
}

/** The advertisements `sock`'s node knows. */
async function adsOf<T>(sock: string): Promise<T[]> {
  const c = await ReceptorClient.connect(sock);
  try {
    return ((await c.status()).Advertisements ?? []) as T[];
  } finally {
    c.close();
  }
}

Deno.test({
  name: goReceptorTestName("interop: Go receptor node in our mesh routes and runs work both ways"),
  ignore: !GO,
  async fn() {
    const dir = await tempDir("receptor-go-");
    const pa = freePort(), pb = freePort();
    const goSock = `${dir}/gob.sock`;
    let tsa: NodeProcess | undefined, tsc: NodeProcess | undefined;
    let gob: Deno.ChildProcess | undefined;
    try {
      tsa = await startNode(
        "tsa",
        (d, s) =>
          `- node:\n    id: tsa\n    datadir: ${d}\n- tcp-listener:\n    port: ${pa}\n    bindaddr: 127.0.0.1\n` +
          `- control-service:\n    filename: ${s}\n`,
      );
      await Deno.writeTextFile(
        `${dir}/gob.yaml`,
        `- node:\n    id: gob\n    datadir: ${dir}\n- log-level:\n    level: debug\n` +
          `- tcp-peer:\n    address: 127.0.0.1:${pa}\n` +
          `- tcp-listener:\n    port: ${pb}\n    bindaddr: 127.0.0.1\n- control-service:\n    filename: ${goSock}\n` +
          `- work-command:\n    worktype: goupper\n    command: tr\n    params: a-z A-Z\n`,
      );
      gob = spawnGoReceptor(`${dir}/gob.yaml`, `${dir}/gob.log`);
      tsc = await startNode(
        "tsc",
        (d, s) =>
          `- node:\n    id: tsc\n    datadir: ${d}\n- tcp-peer:\n    address: 127.0.0.1:${pb}\n` +
          `- control-service:\n    filename: ${s}\n` +
          workYaml("upper"),
      );
      // the Go node has our ads at once; ours gets the Go node's within one Go round
      for (const [sock, ms] of [[goSock, 30000], [tsa.socket, GO_OWN_ADS_WAIT_MS]] as const) {
        type Ad = { NodeID: string; WorkCommands: unknown[] | null };
        const workers = async () =>
          (await adsOf<Ad>(sock)).filter((a) => a.WorkCommands).map((a) => a.NodeID);
        const both = (ids: string[]) => ["gob", "tsc"].every((n) => ids.includes(n));
        await waitFor(`${sock} to see all work types`, async () => both(await workers()), ms);
        const seen = await workers();
        assert(both(seen), `${sock} sees work types from ${seen}`);
      }
      const c = await ReceptorClient.connect(tsa.socket);
      const ping = await c.ping("tsc");
      c.close();
      assert(ping.Success, `ping through the Go node: ${ping.Error}`);
      assertEquals(ping.From, "tsc");
      assertEquals(await runRemote(tsa.socket, "gob", "goupper", "ours to go"), "OURS TO GO");
      assertEquals(await runRemote(goSock, "tsc", "upper", "go to ours"), "GO TO OURS");
      assertStringIncludes(await runRemote(tsa.socket, "tsc", "upper", "via go"), "VIA GO");
    } catch (e) {
      await printLogs(`${dir}/gob.log`, [tsa, tsc]);
      throw e;
    } finally {
      gob?.kill("SIGTERM");
      await gob?.status;
      await stopAll([tsa, tsc]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: goReceptorTestName(
    "interop: TLS mesh with a Go receptor node, certificates made by `receptor cert`",
  ),
  ignore: !GO,
  async fn() {
    const dir = await tempDir("receptor-go-tls-");
    const port = freePort();
    const goSock = `${dir}/gonode.sock`;
    let ts: NodeProcess | undefined;
    let go: Deno.ChildProcess | undefined;
    const cert = async (...args: string[]) => {
      const r = await runReceptor(["cert", ...args], { cwd: dir });
      assertEquals(r.code, 0, `receptor cert ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    };
    const tlsYaml = (id: string) =>
      `- tls-server:\n    name: srv\n    cert: ${dir}/${id}.crt\n    key: ${dir}/${id}.key\n` +
      `    clientcas: ${dir}/ca.crt\n    requireclientcert: true\n` +
      `- tls-client:\n    name: cli\n    cert: ${dir}/${id}.crt\n    key: ${dir}/${id}.key\n` +
      `    rootcas: ${dir}/ca.crt\n`;
    try {
      await cert(
        "init",
        "--commonname",
        "Mesh CA",
        "--bits",
        "2048",
        "--outcert",
        "ca.crt",
        "--outkey",
        "ca.key",
      );
      for (const id of ["gonode", "tsnode"]) {
        await cert(
          "makereq",
          "--bits",
          "2048",
          "--commonname",
          id,
          "--nodeid",
          id,
          "--ipaddress",
          "127.0.0.1",
          "--outreq",
          `${id}.csr`,
          "--outkey",
          `${id}.key`,
        );
        await cert(
          "signreq",
          "--req",
          `${id}.csr`,
          "--cacert",
          "ca.crt",
          "--cakey",
          "ca.key",
          "--outcert",
          `${id}.crt`,
          "--verify",
        );
      }
      await Deno.writeTextFile(
        `${dir}/gonode.yaml`,
        `- node:\n    id: gonode\n    datadir: ${dir}\n- log-level:\n    level: debug\n` +
          tlsYaml("gonode") +
          `- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1\n    tls: srv\n` +
          `- control-service:\n    filename: ${goSock}\n    tls: srv\n` +
          `- work-command:\n    worktype: goupper\n    command: tr\n    params: a-z A-Z\n`,
      );
      go = spawnGoReceptor(`${dir}/gonode.yaml`, `${dir}/gonode.log`);
      ts = await startNode(
        "tsnode",
        (d, s) =>
          `- node:\n    id: tsnode\n    datadir: ${d}\n` + tlsYaml("tsnode") +
          `- tcp-peer:\n    address: 127.0.0.1:${port}\n    tls: cli\n` +
          `- control-service:\n    filename: ${s}\n    tls: srv\n` +
          workYaml("upper"),
      );
      // The Go node has our StreamTLS ad at once (we send our ads when a link comes up); ours
      // gets the Go node's within one Go round (its first request may be lost: see
      // GO_OWN_ADS_WAIT_MS; then its debug log has no "Sending service advertisement").
      for (const [sock, ms] of [[goSock, 30000], [ts.socket, GO_OWN_ADS_WAIT_MS]] as const) {
        type Ad = { NodeID: string; ConnType: number };
        const tlsNodes = async () =>
          (await adsOf<Ad>(sock)).filter((a) => a.ConnType === 2).map((a) => a.NodeID);
        const both = (ids: string[]) => ["gonode", "tsnode"].every((n) => ids.includes(n));
        const what = `${sock} to see both control services as StreamTLS`;
        const t0 = Date.now();
        await waitFor(what, async () => both(await tlsNodes()), ms);
        const seen = await tlsNodes();
        assert(both(seen), `${sock} sees StreamTLS control services on ${seen}`);
        console.log(
          `${sock.replace(/.*\//, "")}: both StreamTLS ads in ${(Date.now() - t0) / 1000} s`,
        );
      }
      const remote = (sock: string, node: string, worktype: string, text: string) =>
        runRemote(sock, node, worktype, text, { tlsclient: "cli" });
      assertEquals(await remote(ts.socket, "gonode", "goupper", "ours to go"), "OURS TO GO");
      assertEquals(await remote(goSock, "tsnode", "upper", "go to ours"), "GO TO OURS");
    } catch (e) {
      await printLogs(`${dir}/gonode.log`, [ts]);
      throw e;
    } finally {
      go?.kill("SIGTERM");
      await go?.status;
      await stopAll([ts]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** Seconds until `sock` lists an ad from `node` with work commands (deadline `ms`). */
async function secondsUntilAd(sock: string, node: string, ms: number): Promise<number> {
  const t0 = Date.now();
  type Ad = { NodeID: string; WorkCommands: unknown[] | null };
  const has = async () => (await adsOf<Ad>(sock)).some((a) => a.NodeID === node && a.WorkCommands);
  await waitFor(`${sock} to see ${node}'s work advertisement`, has, ms);
  const seconds = (Date.now() - t0) / 1000;
  assert(await has(), `${sock} lists ${node}'s work advertisement`);
  return seconds;
}

Deno.test({
  name: goReceptorTestName(
    "interop: a node joining behind a Go relay gets our ads within seconds, not a minute",
  ),
  ignore: !GO,
  async fn() {
    // ours A (listener) ← Go B, started 3 s later ← ours C, started after B. A Go relay does not
    // hand stored ads to C; A's rounds (5 s after start, and ~1 s after C becomes reachable)
    // must reach C. Without them C waited for A's 60 s round.
    const dir = await tempDir("receptor-go-ads-");
    const pa = freePort(), pb = freePort();
    let a: NodeProcess | undefined, c: NodeProcess | undefined;
    let b: Deno.ChildProcess | undefined;
    try {
      a = await startNode(
        "tsa",
        (d, s) =>
          `- node:\n    id: tsa\n    datadir: ${d}\n- tcp-listener:\n    port: ${pa}\n    bindaddr: 127.0.0.1\n` +
          `- control-service:\n    filename: ${s}\n` +
          `- work-command:\n    worktype: upper\n    command: tr\n    params: a-z A-Z\n`,
      );
      const aStarted = Date.now();
      await waitFor("3 s after A started", () => Date.now() - aStarted >= 3000, 5000);
      await Deno.writeTextFile(
        `${dir}/gob.yaml`,
        `- node:\n    id: gob\n    datadir: ${dir}\n- tcp-peer:\n    address: 127.0.0.1:${pa}\n` +
          `- tcp-listener:\n    port: ${pb}\n    bindaddr: 127.0.0.1\n`,
      );
      b = new Deno.Command(GO!, { args: ["-c", `${dir}/gob.yaml`], stdout: "null", stderr: "null" })
        .spawn();
      // C joins well after A's first (5 s) round has gone by.
      await waitFor("8 s after A started", () => Date.now() - aStarted >= 8000, 10000);
      c = await startNode(
        "tsc",
        (d, s) =>
          `- node:\n    id: tsc\n    datadir: ${d}\n- tcp-peer:\n    address: 127.0.0.1:${pb}\n` +
          `- control-service:\n    filename: ${s}\n`,
      );
      const secs = await secondsUntilAd(c.socket, "tsa", 15000);
      console.log(
        `tsc saw tsa's work advertisement ${secs.toFixed(1)} s after its socket appeared`,
      );
    } finally {
      b?.kill("SIGTERM");
      await b?.status;
      await stopAll([a, c]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: goReceptorTestName(
    "interop: Go middle hop killed and restarted: our results stream resumes within seconds",
  ),
  ignore: !GO,
  async fn() {
    // ours tss ← Go gom → ours tse (gom dials both). kill -9 gom mid-stream, restart it: once
    // tss has its route to tse again, the stream resumes (stateless reset to the probe PING)
    // and the mirrored stdout is byte-exact.
    const lines = 250;
    const expected = Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join("");
    const dir = await tempDir("receptor-go-mid-");
    const ps = freePort(), pe = freePort();
    let tss: NodeProcess | undefined, tse: NodeProcess | undefined;
    let gom: Deno.ChildProcess | undefined;
    const startGo = () =>
      new Deno.Command(GO!, { args: ["-c", `${dir}/gom.yaml`], stdout: "null", stderr: "null" })
        .spawn();
    const route = async (to: string) => {
      const c = await ReceptorClient.connect(tss!.socket);
      const s = await c.status();
      c.close();
      return !!(s.RoutingTable as Record<string, string>)[to];
    };
    try {
      tse = await startNode(
        "tse",
        (d, s) =>
          `- node:\n    id: tse\n    datadir: ${d}\n- tcp-listener:\n    port: ${pe}\n    bindaddr: 127.0.0.1\n` +
          `- control-service:\n    filename: ${s}\n- work-command:\n    worktype: slow\n    command: sh\n` +
          `    params: -c 'for i in $(seq 1 ${lines}); do echo line $i; sleep 0.1; done'\n`,
      );
      tss = await startNode(
        "tss",
        (d, s) =>
          `- node:\n    id: tss\n    datadir: ${d}\n- tcp-listener:\n    port: ${ps}\n    bindaddr: 127.0.0.1\n` +
          `- control-service:\n    filename: ${s}\n`,
      );
      await Deno.writeTextFile(
        `${dir}/gom.yaml`,
        `- node:\n    id: gom\n    datadir: ${dir}\n- tcp-peer:\n    address: 127.0.0.1:${ps}\n` +
          `- tcp-peer:\n    address: 127.0.0.1:${pe}\n`,
      );
      gom = startGo();
      await waitFor("tss has a route to tse", () => route("tse"), 30000);
      const sub = await submitWork(await ReceptorClient.connect(tss.socket), "slow", "", {
        node: "tse",
      });
      const out = `${tss.dir}/tss/${sub.unitid}/stdout`;
      const size = async () => (await Deno.stat(out).catch(() => ({ size: 0 }))).size;
      await waitFor("first mirrored lines", async () => (await size()) > 40, 30000);
      gom.kill("SIGKILL");
      await gom.status;
      gom = undefined;
      await waitFor("tss loses its route to tse", async () => !(await route("tse")), 30000);
      const downAt = Date.now();
      await waitFor("3 s with gom down", () => Date.now() - downAt > 3000, 6000);
      const before = await size();
      gom = startGo();
      await waitFor("tss's route to tse is back", () => route("tse"), 30000);
      const back = Date.now();
      await waitFor("the results stream resumes", async () => (await size()) > before, 8000);
      console.log(`stream resumed ${((Date.now() - back) / 1000).toFixed(1)} s after the route`);
      await waitFor(`unit ${sub.unitid} complete`, async () => {
        const c = await ReceptorClient.connect(tss!.socket);
        try {
          const st = await workStatus(c, sub.unitid);
          return st.State === 2 && (await size()) >= st.StdoutSize;
        } finally {
          c.close();
        }
      }, 60000);
      assertEquals(await Deno.readTextFile(out), expected);
    } finally {
      gom?.kill("SIGKILL");
      await gom?.status;
      await stopAll([tss, tse]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
