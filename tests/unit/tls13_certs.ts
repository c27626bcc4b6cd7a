/**
 * Test certificates for the TLS 1.3 engine tests, made with the `openssl` CLI in a temp dir:
 * a P-256 CA and leaves with RSA-2048, EC P-256, EC P-384, EC P-521 and Ed25519 keys, plus a client cert.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";

/** A DER chain (leaf first) and the leaf's private key. */
export interface TestIdentity {
  /** DER certificates, leaf first (leaf, CA). */
  chain: Uint8Array[];
  /** Leaf private key. */
  key: KeyObject;
  /** PEM of the chain (leaf, CA) for other TLS stacks. */
  chainPem: string;
  /** PEM (PKCS#8) of the private key. */
  keyPem: string;
  /** The leaf's DNS name (subjectAltName), `<name>.test`. */
  dnsName: string;
}

/** All identities used by the tests. */
export interface TestCerts {
  /** The CA certificate (DER). */
  ca: Uint8Array;
  /** The CA certificate (PEM). */
  caPem: string;
  /** Server leaves by key type. */
  rsa: TestIdentity;
  /** EC P-256 leaf. */
  p256: TestIdentity;
  /** EC P-384 leaf. */
  p384: TestIdentity;
  /** EC P-521 leaf. */
  p521: TestIdentity;
  /** Ed25519 leaf. */
  ed25519: TestIdentity;
  /** A client certificate (EC P-256). */
  client: TestIdentity;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const KEY_ARGS: Record<string, string[]> = {
  rsa: ["-newkey", "rsa:2048"],
  p256: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
  p521: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
  ed25519: ["-newkey", "ed25519"],
  client: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
};

let cached: Promise<TestCerts> | undefined;

/** Generates (once per process) the test CA and leaves; the temp dir is removed afterwards. */
export function testCerts(): Promise<TestCerts> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "tls13_certs_" });
  try {
    const caArgs = ["req", "-x509", ...KEY_ARGS.p256, "-nodes", "-keyout", "ca.key"];
    await openssl(dir, [...caArgs, "-out", "ca.pem", "-days", "2", "-subj", "/CN=tls13 test CA"]);
    const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
    const ca = new Uint8Array(new X509Certificate(caPem).raw);
    const ids: Record<string, TestIdentity> = {};
    let serial = 2;
    for (const name of Object.keys(KEY_ARGS)) {
      const dnsName = `${name}.test`;
      await Deno.writeTextFile(
        `${dir}/${name}.cnf`,
        `subjectAltName=DNS:${dnsName}\nextendedKeyUsage=serverAuth,clientAuth\n` +
          "basicConstraints=CA:FALSE\n",
      );
      const reqArgs = ["req", ...KEY_ARGS[name], "-nodes", "-keyout", `${name}.key`];
      await openssl(dir, [...reqArgs, "-out", `${name}.csr`, "-subj", `/CN=${dnsName}`]);
      await openssl(dir, [
        ...["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key"],
        ...["-set_serial", String(serial++), "-days", "2", "-extfile", `${name}.cnf`],
        ...["-out", `${name}.pem`],
      ]);
      const pem = await Deno.readTextFile(`${dir}/${name}.pem`);
      const keyPem = await Deno.readTextFile(`${dir}/${name}.key`);
      ids[name] = {
        chain: [new Uint8Array(new X509Certificate(pem).raw), ca],
        key: createPrivateKey(keyPem),
        chainPem: pem + caPem,
        keyPem,
        dnsName,
      };
    }
    return {
      ca,
      caPem,
      rsa: ids.rsa,
      p256: ids.p256,
      p384: ids.p384,
      p521: ids.p521,
      ed25519: ids.ed25519,
      client: ids.client,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
