/**
 * Where the tests find their external peers (the real programs a user would talk to). Each peer
 * is installed or built by its installer in scripts/peers/ (run by `deno task test` through
 * scripts/test_setup.ts) at a well-known path: the project's `.venv`, the test cache
 * (`$RECEPTOR_TEST_CACHE`, default `$HOME/.cache/receptor-deno`) or the machine's PATH.
 * A missing peer makes the test that needs it FAIL with one line:
 * `missing <peer>: <how to get it>` — never an ignored test.
 * @module
 */
import {
  CHROMIUM_PATH,
  PLAYWRIGHT_CORE_VERSION,
  playwrightRoots,
} from "../../scripts/peers/browser.ts";
import { PROMTOOL_PATH } from "../../scripts/peers/prometheus.ts";

/** The repository root (absolute, with a trailing slash). */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The directory where installers cache slow builds (same rule as scripts/peers/common.ts). */
export function testCacheDir(): string {
  const env = Deno.env.get("RECEPTOR_TEST_CACHE");
  if (env) return env;
  return `${Deno.env.get("HOME") ?? "/tmp"}/.cache/receptor-deno`;
}

/** Thrown when a peer is not installed; its message is the one line the test fails with. */
export class MissingPeer extends Error {
  constructor(peer: string, how: string) {
    super(`missing ${peer}: ${how}`);
    this.name = "MissingPeer";
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The first `name` on PATH (or in `extraDirs`), or null. */
export function onPath(name: string, extraDirs: string[] = []): string | null {
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), ...extraDirs]) {
    if (dir && isFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return null;
}

const SETUP = "./node_modules/deno/deno run -A";

function installer(name: string): string {
  return `run \`${SETUP} scripts/peers/${name}.ts\` (or \`npx deno task test\`)`;
}

/** A file at `path`, or a {@link MissingPeer} naming `peer` and its installer. */
function atPath(peer: string, path: string, installerName: string): string {
  if (isFile(path)) return path;
  throw new MissingPeer(peer, `${path} not found; ${installer(installerName)}`);
}

/** The pinned `receptorctl` CLI in the project's .venv. */
export function receptorctl(): string {
  return atPath("receptorctl", `${REPO_ROOT}.venv/bin/receptorctl`, "receptorctl");
}

/** The .venv's Python, which can `import receptorctl` (the library AWX uses). */
export function receptorctlPython(): string {
  receptorctl();
  return atPath("receptorctl", `${REPO_ROOT}.venv/bin/python3`, "receptorctl");
}

/** The machine's Go toolchain. */
export function goTool(): string {
  const go = onPath("go", ["/usr/local/go/bin", "/usr/lib/go/bin"]);
  if (go) return go;
  throw new MissingPeer("go", `no \`go\` on PATH; ${installer("go_peers")}, or install Go`);
}

/** The machine's openssl CLI. */
export function opensslTool(): string {
  const o = onPath("openssl");
  if (o) return o;
  throw new MissingPeer("openssl", `no \`openssl\` on PATH; ${installer("openssl")}`);
}

/** The gorilla/websocket v1.5.3 test peer (tests/integration/backends_gorilla_peer). */
export function gorillaPeer(): string {
  return atPath("gorilla websocket peer", `${testCacheDir()}/bin/gorilla_peer`, "go_peers");
}

/** The quic-go v0.40.1 test peer (tests/interop/quic_go_peer). */
export function quicGoPeer(): string {
  return atPath("quic-go peer", `${testCacheDir()}/bin/quic_go_peer`, "go_peers");
}

/** The Go crypto/tls QUIC-API peer (tests/fixtures/tls/go_quic_tls_peer). */
export function goQuicTlsPeer(): string {
  return atPath("Go crypto/tls QUIC peer", `${testCacheDir()}/bin/go_quic_tls_peer`, "go_peers");
}

/** Debian's `promtool` (package prometheus), for `promtool check metrics`. */
export function promtool(): string {
  return atPath("promtool", PROMTOOL_PATH, "prometheus");
}

/** Debian's Chromium, driven by playwright-core in the live page test. */
export function chromium(): string {
  return atPath("chromium", CHROMIUM_PATH, "browser");
}

function versionIn(dir: string): string | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/playwright-core/package.json`)).version;
  } catch {
    return null;
  }
}

/**
 * The directory of the pinned playwright-core: the project's node_modules or, when that lacks
 * the pinned version (a shared install), the installer's cache (`$RECEPTOR_TEST_CACHE/npm`).
 */
export function playwrightCoreDir(): string {
  for (const dir of playwrightRoots(REPO_ROOT.replace(/\/$/, ""))) {
    if (versionIn(dir) === PLAYWRIGHT_CORE_VERSION) return `${dir}/playwright-core`;
  }
  throw new MissingPeer(
    `playwright-core ${PLAYWRIGHT_CORE_VERSION}`,
    `not in node_modules nor the test cache; ${installer("browser")}`,
  );
}

/** Why a test that needs a Go receptor binary is skipped (the only opt-in tests). */
export const GO_RECEPTOR_SKIP =
  "needs a Go receptor binary you build yourself: set RECEPTOR_GO_BINARY=/path/to/receptor";

/**
 * A test name for an opt-in Go receptor test: when RECEPTOR_GO_BINARY is unset the name carries
 * {@link GO_RECEPTOR_SKIP}, so the ignored test says why it did not run.
 */
export function goReceptorTestName(name: string): string {
  return goReceptorBinary() ? name : `${name} (skipped: ${GO_RECEPTOR_SKIP})`;
}

/** The opt-in Go receptor binary from RECEPTOR_GO_BINARY, or undefined. */
export function goReceptorBinary(): string | undefined {
  return Deno.env.get("RECEPTOR_GO_BINARY") || undefined;
}

/**
 * How long a test waits for a Go receptor node's OWN service advertisements to reach our node.
 * Go floods its ads ~5 s after a service starts listening, then every 60 s; but that first
 * request is a non-blocking channel send to the goroutine that runs the rounds (upstream
 * pkg/netceptor AddLocalServiceAdvertisement → pkg/tickrunner), lost when that goroutine is not
 * yet waiting — common on a loaded host (a lone Go node beside one CPU burner: 5 of 10 starts).
 * Its first ads then leave at the 60 s round, so a wait for them must outlast one round. Our
 * ads reach a Go node at link establishment: waits for those keep their short deadlines.
 */
export const GO_OWN_ADS_WAIT_MS = 75_000;

/**
 * Start the Go receptor binary on `config` with its output (stdout and stderr) in `logFile`,
 * for a failing test to print.
 */
export function spawnGoReceptor(config: string, logFile: string): Deno.ChildProcess {
  const bin = goReceptorBinary();
  if (!bin) throw new Error(GO_RECEPTOR_SKIP);
  return new Deno.Command("sh", {
    args: ["-c", `exec "$0" -c "$1" >"$2" 2>&1`, bin, config, logFile],
    stdin: "null",
  }).spawn();
}
