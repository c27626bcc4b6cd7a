/**
 * An EC P-256 CA and leaf certificate for QUIC tests, made with the `openssl` CLI in a temp dir.
 * Cached per process.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import type { EndpointTlsOptions } from "../../src/quic/endpoint.ts";

/** A test identity: DER chain, key, and PEM forms (for Deno's built-in QUIC). */
export interface QuicTestCert {
  /** DER chain, leaf only. */
  chain: Uint8Array[];
  /** Private key. */
  key: KeyObject;
  /** PEM certificate. */
  certPem: string;
  /** PEM private key. */
  keyPem: string;
  /** PEM of the CA that signed the leaf (trust anchor for Deno's client). */
  caPem: string;
}

let cached: Promise<QuicTestCert> | undefined;

/** Creates (once) a CA and an EC P-256 leaf for CN/SAN `localhost` and 127.0.0.1. */
export function quicTestCert(): Promise<QuicTestCert> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "quic_cert_" });
    const run = async (args: string[]) => {
      const out = await new Deno.Command("openssl", {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
      }
    };
    try {
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
      await run([
        "req",
        "-x509",
        ...ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=quic test CA",
      ]);
      await run(["req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
      await Deno.writeTextFile(
        `${dir}/ext.cnf`,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
      );
      await run([
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
      ]);
      const certPem = await Deno.readTextFile(`${dir}/cert.pem`);
      const keyPem = await Deno.readTextFile(`${dir}/key.pem`);
      const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
      const der = new Uint8Array(new X509Certificate(certPem).raw);
      return { chain: [der], key: createPrivateKey(keyPem), certPem, keyPem, caPem };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return cached;
}

/** The TLS options of a test QUIC server: ALPN "netceptor", `cert`'s chain and key. */
export function serverTls(cert: QuicTestCert): () => EndpointTlsOptions {
  return () => ({
    role: "server",
    alpn: ["netceptor"],
    certificateChain: cert.chain,
    privateKey: cert.key,
  });
}

/** The TLS options of a test QUIC client: ALPN "netceptor". */
export const clientTls = (): EndpointTlsOptions => ({ role: "client", alpn: ["netceptor"] });
