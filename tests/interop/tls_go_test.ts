/**
 * TLS backends against Go's crypto/tls configured as Go receptor configures its backends
 * (pkg/netceptor/tlsconfig.go: TLS >= 1.2, curves P-521/P-384/P-256 only, Go's four TLS 1.2
 * suites, client certificates required and verified against the CA, server verified by the
 * dialed address). A small Go program (embedded below, built at test time) plays the peer:
 * as a client it dials our TLS listener; as a server it accepts our TLS dialer. Each side must
 * complete the handshake, verify the other's `receptor cert` certificate, and read our first
 * mesh frame (a routing update naming our node). Skipped without a Go toolchain.
 * @module
 */
import { goTool } from "../helpers/peers.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { freePort, tempDir, waitFor } from "../helpers/net.ts";
import { type NodeProcess, startNode, stopAll } from "../helpers/node_process.ts";
import { makeCa, makeNodeCert, tlsClientYaml, tlsServerYaml } from "../helpers/tls.ts";

const GO_PEER = `package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func config(ca, cert, key string) *tls.Config {
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		fail(err)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.CurveP521, tls.CurveP384, tls.CurveP256},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		},
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
}

func fail(err error) {
	out, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

func report(c *tls.Conn, maxVersion uint16) {
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if err := c.Handshake(); err != nil {
		fail(err)
	}
	st := c.ConnectionState()
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		fail(err)
	}
	msg := make([]byte, binary.LittleEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, msg); err != nil {
		fail(err)
	}
	out, _ := json.Marshal(map[string]any{
		"version":  tls.VersionName(st.Version),
		"suite":    tls.CipherSuiteName(st.CipherSuite),
		"peerCN":   st.PeerCertificates[0].Subject.CommonName,
		"msgType":  msg[0],
		"body":     string(msg[1:]),
	})
	fmt.Println(string(out))
}

func main() {
	mode, addr, ca, cert, key := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	cfg := config(ca, cert, key)
	var maxVersion uint16
	if len(os.Args) > 6 && os.Args[6] == "tls12" {
		cfg.MaxVersion = tls.VersionTLS12
		maxVersion = tls.VersionTLS12
	}
	if mode == "client" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			fail(err)
		}
		report(c, maxVersion)
		return
	}
	l, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		fail(err)
	}
	fmt.Println("{\\"listening\\":true}")
	raw, err := l.Accept()
	if err != nil {
		fail(err)
	}
	report(raw.(*tls.Conn), maxVersion)
}
`;

async function buildGoPeer(dir: string): Promise<string> {
  const src = `${dir}/gopeer`;
  await Deno.mkdir(src, { recursive: true });
  Deno.writeTextFileSync(`${src}/go.mod`, "module gopeer\n\ngo 1.22\n");
  Deno.writeTextFileSync(`${src}/main.go`, GO_PEER);
  const env: Record<string, string> = { GOTOOLCHAIN: "local", GOWORK: "off", GOFLAGS: "-mod=mod" };
  if (!Deno.env.get("GOCACHE") && !Deno.env.get("HOME") && !Deno.env.get("XDG_CACHE_HOME")) {
    env.GOCACHE = `${dir}/gocache`;
  }
  const out = await new Deno.Command(goTool(), {
    args: ["build", "-o", `${dir}/peer`, "."],
    cwd: src,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`go build: ${new TextDecoder().decode(out.stderr)}`);
  return `${dir}/peer`;
}

interface GoReport {
  error?: string;
  version?: string;
  suite?: string;
  peerCN?: string;
  msgType?: number;
  body?: string;
}

async function runPeer(bin: string, args: string[]): Promise<GoReport> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

Deno.test({
  name: "tls interop: Go crypto/tls with Go receptor's backend settings, both directions",
  fn: async () => {
    const dir = await tempDir("receptor-tls-go-");
    const nodes: NodeProcess[] = [];
    try {
      const bin = await buildGoPeer(dir);
      const ca = await makeCa(dir);
      const ours = await makeNodeCert(dir, ca, "denonode");
      const go = await makeNodeCert(dir, ca, "gonode");
      const listenPort = freePort();
      const goPort = freePort();
      await Deno.mkdir(`${dir}/denonode`);
      nodes.push(
        await startNode("denonode", (_d, sock) =>
          [
            `- node:`,
            `    id: denonode`,
            tlsServerYaml("srv", ours, ca).trimEnd(),
            tlsClientYaml("cli", ours, ca).trimEnd(),
            `- tcp-listener:`,
            `    bindaddr: 127.0.0.1`,
            `    port: ${listenPort}`,
            `    tls: srv`,
            `- tcp-peer:`,
            `    address: 127.0.0.1:${goPort}`,
            `    tls: cli`,
            `- control-service:`,
            `    filename: ${sock}`,
            "",
          ].join("\n"), { dir: `${dir}/denonode` }),
      );
      const node = nodes[0];
      // The control socket can be up a moment before the TLS listener: wait until it accepts.
      await waitFor(`denonode listening on ${listenPort}`, async () => {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: listenPort });
        c.close();
        return true;
      });

      // Go dials our listener (TLS 1.3, then TLS 1.2 with Go's suites).
      for (const extra of [[], ["tls12"]]) {
        const r = await runPeer(bin, [
          "client",
          `127.0.0.1:${listenPort}`,
          ca.cert,
          go.cert,
          go.key,
          ...extra,
        ]);
        assertEquals(r.error, undefined, `${JSON.stringify(r)}\n${node.logText()}`);
        assertEquals(r.version, extra.length ? "TLS 1.2" : "TLS 1.3");
        assertEquals(r.peerCN, "denonode");
        assertEquals(r.msgType, 1, "first frame is a routing update");
        assertEquals(JSON.parse(r.body!).NodeID, "denonode");
      }

      // Go listens; our tcp-peer (redialing every 5 s) connects with its client certificate.
      const child = new Deno.Command(bin, {
        args: ["server", `127.0.0.1:${goPort}`, ca.cert, go.cert, go.key],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const killer = setTimeout(() => child.kill("SIGKILL"), 40000);
      const out = await child.output().finally(() => clearTimeout(killer));
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      const r: GoReport = JSON.parse(lines[lines.length - 1]);
      assertEquals(r.error, undefined, `${JSON.stringify(r)}\n${node.logText()}`);
      assertEquals(r.version, "TLS 1.3");
      assertEquals(r.peerCN, "denonode", "Go verified our client certificate");
      assertEquals(r.msgType, 1);
      assertEquals(JSON.parse(r.body!).NodeID, "denonode");
      assert(!node.exited, "node must survive the Go peer going away");
    } finally {
      await stopAll(nodes);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
