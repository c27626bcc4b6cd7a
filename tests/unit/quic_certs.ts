/**
 * A self-signed EC P-256 certificate for QUIC tests, made with the `openssl` CLI in a temp dir.
 * Cached per process.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";

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
}

let cached: Promise<QuicTestCert> | undefined;

/** Creates (once) a self-signed certificate for CN/SAN `localhost`. */
export function quicTestCert(): Promise<QuicTestCert> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "quic_cert_" });
    try {
      const out = await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          "key.pem",
          "-out",
          "cert.pem",
          "-days",
          "2",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
      const certPem = await Deno.readTextFile(`${dir}/cert.pem`);
      const keyPem = await Deno.readTextFile(`${dir}/key.pem`);
      const der = new Uint8Array(new X509Certificate(certPem).raw);
      return { chain: [der], key: createPrivateKey(keyPem), certPem, keyPem };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return cached;
}
