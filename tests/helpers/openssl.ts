/**
 * Shared by the OpenSSL interop tests: running a command with optional stdin, a CA plus
 * `server-node` / `client-node` certificates (node-ID otherName, localhost, 127.0.0.1) made
 * with our own `receptor cert` actions, and a CA plus node certificate made by openssl the way
 * receptorctl's test helper makes them.
 * @module
 */
import { assertEquals } from "./assert.ts";
import { certInit, certMakeReq, certSignReq } from "../../src/certs/actions.ts";

/** The node-ID otherName OID receptor puts in subjectAltName. */
export const OTHERNAME = "1.3.6.1.4.1.2312.19.1";

/** Runs `cmd` to completion, feeding `stdin` if given; returns exit code and decoded output. */
export async function run(cmd: string, args: string[], stdin?: string, cwd?: string) {
  const p = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await p.output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

/** Writes ca.crt/key and {server,client}-node.crt/key/csr into `dir`. */
export async function makeOurCerts(dir: string) {
  await certInit({
    commonname: "Mesh CA",
    bits: 2048,
    outcert: `${dir}/ca.crt`,
    outkey: `${dir}/ca.key`,
  });
  for (const n of ["server-node", "client-node"]) {
    await certMakeReq({
      commonname: n,
      bits: 2048,
      dnsname: ["localhost"],
      ipaddress: ["127.0.0.1"],
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

/** A function running `openssl ARGS` in `dir` that fails the test unless it exits 0. */
export function opensslIn(dir: string): (args: string[]) => Promise<void> {
  return async (args) => {
    const r = await run("openssl", args, undefined, dir);
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
