/**
 * Shared by the OpenSSL interop tests: running a command with optional stdin, and a CA plus
 * `server-node` / `client-node` certificates (node-ID otherName, localhost, 127.0.0.1) made
 * with our own `receptor cert` actions.
 * @module
 */
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
