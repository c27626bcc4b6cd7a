/**
 * Shared by the OpenSSL interop tests: running a command with optional stdin, a CA plus
 * `server-node` / `client-node` certificates (node-ID otherName, localhost, 127.0.0.1) made
 * with our own `receptor cert` actions, and a CA plus node certificate made by openssl the way
 * receptorctl's test helper makes them.
 * @module
 */
import { assertEquals } from "./assert.ts";
import { opensslTool } from "./peers.ts";
import { runTool } from "./run.ts";
import { certInit, certMakeReq, certSignReq } from "../../src/certs/actions.ts";

/** The node-ID otherName OID receptor puts in subjectAltName. */
export const OTHERNAME = "1.3.6.1.4.1.2312.19.1";

/** Runs `cmd` to completion, feeding `stdin` if given; returns exit code and decoded output. */
export async function run(cmd: string, args: string[], stdin?: string, cwd?: string) {
  const r = await runTool(cmd, args, stdin, 60_000, undefined, cwd);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

/** How {@link makeOurCaAndNodes} makes its certificates. */
export interface OurCertOptions {
  /** RSA key size (default 2048; 1024 where only speed matters). */
  bits?: number;
  /** DNS SANs of node `n` (default ["localhost"]). */
  dns?: (n: string) => string[];
  /** IP SANs (default ["127.0.0.1"]). */
  ips?: string[];
  /** CA common name (default "Mesh CA"). */
  caName?: string;
}

/**
 * With our own cert actions (in-process): ca.crt/key and, for each node, `<n>.crt/key/csr`
 * carrying the node-ID otherName `n`, in `dir`.
 */
export async function makeOurCaAndNodes(
  dir: string,
  nodes: string[],
  o: OurCertOptions = {},
): Promise<void> {
  const bits = o.bits ?? 2048;
  await certInit({
    commonname: o.caName ?? "Mesh CA",
    bits,
    outcert: `${dir}/ca.crt`,
    outkey: `${dir}/ca.key`,
  });
  for (const n of nodes) {
    await certMakeReq({
      commonname: n,
      bits,
      dnsname: o.dns?.(n) ?? ["localhost"],
      ipaddress: o.ips ?? ["127.0.0.1"],
      nodeid: [n],
      outreq: `${dir}/${n}.csr`,
      outkey: `${dir}/${n}.key`,
    });
    await certSignReq({
      req: `${dir}/${n}.csr`,
      cacert: `${dir}/ca.crt`,
      cakey: `${dir}/ca.key`,
      outcert: `${dir}/${n}.crt`,
      verify: true,
    });
  }
}

/** Writes ca.crt/key and {server,client}-node.crt/key/csr into `dir`. */
export async function makeOurCerts(dir: string) {
  await makeOurCaAndNodes(dir, ["server-node", "client-node"]);
}

/** A function running `openssl ARGS` in `dir` that fails the test unless it exits 0. */
export function opensslIn(dir: string): (args: string[]) => Promise<void> {
  return async (args) => {
    const r = await run(opensslTool(), args, undefined, dir);
    assertEquals(r.code, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  };
}

/**
 * With openssl, as receptorctl's test helper does: ca.key/ca.crt, and node.key/node.csr/node.crt
 * for `node1` (subjectAltName DNS:localhost plus the node-ID otherName) signed by that CA.
 */
export async function makeOpensslCerts(dir: string): Promise<void> {
  const o = opensslIn(dir);
  await o(["genrsa", "-out", "ca.key", "2048"]);
  const caSubj = "/OU=ReceptorTesting/CN=ca";
  await o([
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-key",
    "ca.key",
    "-subj",
    caSubj,
    "-sha256",
    "-out",
    "ca.crt",
  ]);
  Deno.writeTextFileSync(
    `${dir}/node.ext`,
    `subjectAltName=DNS:localhost,otherName:${OTHERNAME};UTF8:node1`,
  );
  await o(["genrsa", "-out", "node.key", "2048"]);
  const nodeSubj = "/OU=ReceptorTesting/CN=node1";
  await o(["req", "-new", "-sha256", "-key", "node.key", "-subj", nodeSubj, "-out", "node.csr"]);
  await o([
    "x509",
    "-req",
    "-extfile",
    "node.ext",
    "-in",
    "node.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "node.crt",
    "-sha256",
  ]);
}
