/**
 * Helpers for TLS integration tests: a CA and node certificates made with our own
 * `receptor cert` tooling, openssl-made certificates with the node-ID otherName, YAML snippets
 * for `tls-server` / `tls-client`, and a raw node:tls client that reports what the server sent.
 * @module
 */
import * as tls from "node:tls";
import { runReceptor } from "./node_process.ts";
import { opensslTool } from "./peers.ts";

/** A CA made by `receptor cert init`. */
export interface TestCa {
  cert: string;
  key: string;
}

/** A certificate/key pair. */
export interface TestCert {
  cert: string;
  key: string;
}

async function receptor(args: string[]): Promise<void> {
  const r = await runReceptor(args);
  if (r.code !== 0) {
    throw new Error(`receptor ${args.join(" ")} failed (${r.code}):\n${r.stdout}${r.stderr}`);
  }
}

/** `receptor cert init` into `dir/<name>.crt|key`. */
export async function makeCa(dir: string, name = "ca"): Promise<TestCa> {
  const ca = { cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
  await receptor([
    "cert",
    "init",
    "--commonname",
    `${name} Receptor Test CA`,
    "--bits",
    "2048",
    "--outcert",
    ca.cert,
    "--outkey",
    ca.key,
  ]);
  return ca;
}

/** Options for {@link makeNodeCert}. */
export interface NodeCertOptions {
  /** Node IDs to put in the otherName SAN (default: [id]). */
  nodeIds?: string[];
  /** IP SANs (default ["127.0.0.1"]). */
  ips?: string[];
  /** RFC 3339 NotBefore. */
  notBefore?: string;
  /** RFC 3339 NotAfter. */
  notAfter?: string;
  /** File base name (default id). */
  file?: string;
}

/** `receptor cert makereq` + `receptor cert signreq` for node `id`, signed by `ca`. */
export async function makeNodeCert(
  dir: string,
  ca: TestCa,
  id: string,
  o: NodeCertOptions = {},
): Promise<TestCert> {
  const base = `${dir}/${o.file ?? id}`;
  const req = [
    "cert",
    "makereq",
    "--commonname",
    id,
    "--bits",
    "2048",
    "--outreq",
    `${base}.csr`,
    "--outkey",
    `${base}.key`,
  ];
  for (const n of o.nodeIds ?? [id]) req.push("--nodeid", n);
  for (const ip of o.ips ?? ["127.0.0.1"]) req.push("--ipaddress", ip);
  await receptor(req);
  const sign = [
    "cert",
    "signreq",
    "--req",
    `${base}.csr`,
    "--cacert",
    ca.cert,
    "--cakey",
    ca.key,
    "--outcert",
    `${base}.crt`,
    "--verify",
  ];
  if (o.notBefore) sign.push("--notbefore", o.notBefore);
  if (o.notAfter) sign.push("--notafter", o.notAfter);
  await receptor(sign);
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/** A tls-server / tls-client section: name, certificate, key, then `fields` and `extra`. */
function tlsSection(
  kind: "tls-server" | "tls-client",
  name: string,
  c: TestCert,
  fields: Record<string, string | boolean>,
  extra: Record<string, string | boolean>,
): string {
  const all = { name, cert: c.cert, key: c.key, ...fields, ...extra };
  return [`- ${kind}:`, ...Object.entries(all).map(([k, v]) => `    ${k}: ${v}`)].join("\n") + "\n";
}

/** `tls-server` YAML item requiring client certificates from `ca`. */
export function tlsServerYaml(
  name: string,
  c: TestCert,
  ca: TestCa,
  extra: Record<string, string | boolean> = {},
): string {
  return tlsSection("tls-server", name, c, { clientcas: ca.cert, requireclientcert: true }, extra);
}

/** `tls-client` YAML item trusting `ca`. */
export function tlsClientYaml(
  name: string,
  c: TestCert,
  ca: TestCa,
  extra: Record<string, string | boolean> = {},
): string {
  return tlsSection("tls-client", name, c, { rootcas: ca.cert }, extra);
}

/** What a raw TLS client saw. */
export interface RawTlsResult {
  /** Handshake completed on the client side. */
  connected: boolean;
  /** Server leaf certificate (when connected). */
  peer?: tls.PeerCertificate;
  /** Error text, if any. */
  error?: string;
}

/**
 * Connect with node:tls to `127.0.0.1:port` (optionally presenting `client`), read the server
 * certificate, then close. Never verifies the server: the test inspects it.
 */
export function rawTlsConnect(port: number, client?: TestCert): Promise<RawTlsResult> {
  return new Promise((resolve) => {
    const opts: tls.ConnectionOptions = {
      host: "127.0.0.1",
      port,
      rejectUnauthorized: false,
    };
    if (client) {
      opts.cert = Deno.readTextFileSync(client.cert);
      opts.key = Deno.readTextFileSync(client.key);
    }
    let settled = false;
    const done = (r: RawTlsResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      sock.destroy();
      resolve(r);
    };
    const sock = tls.connect(opts, () => {
      done({ connected: true, peer: sock.getPeerCertificate() });
    });
    sock.on("error", (e: Error) => done({ connected: false, error: e.message }));
    const t = setTimeout(() => done({ connected: false, error: "timeout" }), 10000);
  });
}

/**
 * Connect with node:tls (presenting `client` if given), keep the connection open for `holdMs` (so the
 * server runs its post-handshake checks), and resolve.
 */
export function rawTlsHold(port: number, client?: TestCert, holdMs = 1500): Promise<void> {
  return new Promise((resolve) => {
    const opts: tls.ConnectionOptions = { host: "127.0.0.1", port, rejectUnauthorized: false };
    if (client) {
      opts.cert = Deno.readTextFileSync(client.cert);
      opts.key = Deno.readTextFileSync(client.key);
    }
    const sock = tls.connect(opts);
    sock.on("error", () => {});
    const t = setTimeout(() => {
      sock.destroy();
      resolve();
    }, holdMs);
    sock.on("close", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Run openssl with `args`; throws with its output on failure. */
export async function openssl(args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(opensslTool(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`openssl ${args.join(" ")} failed:\n${text}`);
  return text;
}
