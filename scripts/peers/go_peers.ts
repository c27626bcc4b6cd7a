/**
 * Builds the Go test peers through the Go module proxy (the machine's GOPROXY setting, never
 * GOPROXY=off) into `$RECEPTOR_TEST_CACHE/bin`:
 * - gorilla_peer: gorilla/websocket v1.5.3 (tests/integration/backends_gorilla_peer),
 * - quic_go_peer: quic-go v0.40.1 (tests/interop/quic_go_peer),
 * - go_quic_tls_peer: Go's crypto/tls QUIC API, Go >= 1.24 (tests/fixtures/tls/go_quic_tls_peer;
 *   an older local Go fetches the 1.24 toolchain through the proxy, GOTOOLCHAIN=auto).
 * A peer is rebuilt only when its sources (main.go, go.mod, go.sum) changed: their sha256 is kept
 * beside the binary. Installs Debian's golang-go when no Go toolchain is found. The sources'
 * go.sum files are complete, so the build never rewrites them (`-mod=readonly`).
 * @module
 */
import { aptInstall, fail, onPath, REPO_ROOT, run, tail, testCacheDir } from "./lib/common.ts";

const PEERS: { name: string; dir: string }[] = [
  { name: "gorilla_peer", dir: `${REPO_ROOT}tests/integration/backends_gorilla_peer` },
  { name: "quic_go_peer", dir: `${REPO_ROOT}tests/interop/quic_go_peer` },
  { name: "go_quic_tls_peer", dir: `${REPO_ROOT}tests/fixtures/tls/go_quic_tls_peer` },
];

const GO_DIRS = ["/usr/local/go/bin", "/usr/lib/go/bin"];

async function findGo(): Promise<string> {
  const go = onPath("go", GO_DIRS);
  if (go) return go;
  const apt = await aptInstall("golang-go");
  const again = onPath("go", GO_DIRS);
  if (!again) {
    fail("go peers", `no Go toolchain and apt-get install golang-go failed: ${tail(apt.out)}`);
  }
  return again;
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

async function sourceHash(dir: string): Promise<string> {
  const h = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(
        ["main.go", "go.mod", "go.sum"].map((f) => `${f}\n${readOrEmpty(`${dir}/${f}`)}`)
          .join("\n"),
      ),
    ),
  );
  return [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function build(go: string, peer: { name: string; dir: string }, bin: string): Promise<void> {
  const out = `${bin}/${peer.name}`;
  const stamp = `${out}.sha256`;
  const hash = await sourceHash(peer.dir);
  try {
    if (Deno.readTextFileSync(stamp) === hash && Deno.statSync(out).isFile) {
      console.log(`${peer.name} ready (cached): ${out}`);
      return;
    }
  } catch { /* not built yet */ }
  const env: Record<string, string> = { GOFLAGS: "-mod=readonly", GOWORK: "off" };
  if (Deno.env.get("GOPROXY") === "off") env.GOPROXY = "https://proxy.golang.org,direct";
  const r = await run(go, ["build", "-o", `${out}.tmp`, "."], { cwd: peer.dir, env });
  if (!r.ok) fail(peer.name, `go build: ${tail(r.out)}`);
  await Deno.rename(`${out}.tmp`, out);
  Deno.writeTextFileSync(stamp, hash);
  console.log(`${peer.name} ready (built): ${out}`);
}

if (import.meta.main) {
  const go = await findGo();
  const bin = `${testCacheDir()}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  for (const peer of PEERS) await build(go, peer, bin);
}
