/**
 * Work-signing key files as operators make them, with the real `ssh-keygen` and `openssl`:
 * OpenSSH private keys and `ssh-rsa` public lines, PKCS#1/PKCS#8 private PEM, PKIX and
 * PKCS#1 public PEM. Keys are read when used and re-read when the file changes; start-up
 * only checks that the files exist (upstream's Prepare), naming section, field and value.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../helpers/assert.ts";
import { run } from "../helpers/openssl.ts";
import { loadWorkSigning, loadWorkVerifier } from "../../src/work/signing.ts";
import { parseVerifyingKeyText } from "../../src/work/signing.ts";

async function tool(cmd: string, args: string[], pkg: string): Promise<void> {
  let r;
  try {
    r = await run(cmd, args);
  } catch {
    throw new Error(`missing ${cmd}: apt-get install -y ${pkg}`);
  }
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
}

const sshKeygen = (args: string[]) => tool("ssh-keygen", args, "openssh-client");
const openssl = (args: string[]) => tool("openssl", args, "openssl");

/** Key files in `dir`, named by format; every pair holds the same key. */
async function makeKeys(dir: string) {
  await sshKeygen(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "op@host", "-f", `${dir}/id`]);
  await sshKeygen(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-m", "PEM", "-f", `${dir}/pem`]);
  await sshKeygen(["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/ed`]);
  await sshKeygen(["-q", "-t", "rsa", "-b", "2048", "-N", "secret", "-f", `${dir}/enc`]);
  await openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    `${dir}/p8.key`,
  ]);
  await openssl(["pkey", "-in", `${dir}/p8.key`, "-pubout", "-out", `${dir}/p8.pub`]);
  await openssl(["rsa", "-in", `${dir}/p8.key`, "-RSAPublicKey_out", "-out", `${dir}/p1.pub`]);
  await openssl(["rsa", "-in", `${dir}/p8.key`, "-traditional", "-out", `${dir}/p1.key`]);
}

/** Sign with the private file and verify with the public file (both loaded lazily). */
async function roundTrip(priv: string, pub: string): Promise<void> {
  const { signer, verifier } = loadWorkSigning([
    { kind: "work-signing", privatekey: priv, tokenexpiration: 0 } as { kind: string },
    { kind: "work-verification", publickey: pub } as { kind: string },
  ], "exec");
  const token = await signer!.signWork("exec");
  await verifier!.verify(token);
}

Deno.test("signing keys: every format ssh-keygen and openssl write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-keys-" });
  try {
    await makeKeys(dir);
    assert((await Deno.readTextFile(`${dir}/id`)).startsWith("-----BEGIN OPENSSH PRIVATE KEY"));
    assert((await Deno.readTextFile(`${dir}/id.pub`)).startsWith("ssh-rsa AAAA"));
    assert((await Deno.readTextFile(`${dir}/pem`)).startsWith("-----BEGIN RSA PRIVATE KEY"));
    assert((await Deno.readTextFile(`${dir}/p8.key`)).startsWith("-----BEGIN PRIVATE KEY"));
    assert((await Deno.readTextFile(`${dir}/p1.pub`)).startsWith("-----BEGIN RSA PUBLIC KEY"));
    await roundTrip(`${dir}/id`, `${dir}/id.pub`); // OpenSSH private + ssh-rsa line
    await roundTrip(`${dir}/pem`, `${dir}/pem.pub`); // PKCS#1 private + ssh-rsa line
    await roundTrip(`${dir}/p8.key`, `${dir}/p8.pub`); // PKCS#8 + PKIX
    await roundTrip(`${dir}/p1.key`, `${dir}/p1.pub`); // PKCS#1 + PKCS#1 public
    // The OpenSSH key and its .pub describe the same key as ssh-keygen's PKIX export.
    const r = await run("ssh-keygen", ["-e", "-m", "PKCS8", "-f", `${dir}/id.pub`]);
    const a = parseVerifyingKeyText(r.stdout).export({ format: "jwk" });
    const b = parseVerifyingKeyText(await Deno.readTextFile(`${dir}/id.pub`)).export({
      format: "jwk",
    });
    assertEquals(a, b);
    // A token signed with one key does not verify with another.
    const other = loadWorkSigning([
      { kind: "work-signing", privatekey: `${dir}/id`, tokenexpiration: 0 } as { kind: string },
    ], "exec").signer!;
    const v = loadWorkVerifier({ publickey: `${dir}/p8.pub` }, "exec");
    await assertRejects(
      async () => v.verify(await other.signWork("exec")),
      "could not verify signature: crypto/rsa: verification error",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signing keys: unsupported keys fail only the signature, with a clear reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-keys-" });
  try {
    await makeKeys(dir);
    const sign = (priv: string) =>
      loadWorkSigning([
        { kind: "work-signing", privatekey: priv, tokenexpiration: 0 } as { kind: string },
      ], "exec").signer!.signWork("exec");
    await assertRejects(
      () => sign(`${dir}/enc`),
      "could not load signing key file: encrypted OpenSSH private keys are not supported",
    );
    await assertRejects(
      () => sign(`${dir}/ed`),
      "could not load signing key file: OpenSSH private key is ssh-ed25519, not ssh-rsa",
    );
    await assertRejects(
      () => loadWorkVerifier({ publickey: `${dir}/ed.pub` }, "n").verify("x.y.z"),
      "could not load verifying key file: public key is ssh-ed25519, not ssh-rsa",
    );
    await Deno.writeTextFile(`${dir}/junk`, "hello\n");
    await assertRejects(
      () => sign(`${dir}/junk`),
      "could not load signing key file: failed to decode PEM block",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signing keys: re-read when the file changes; missing file names its section", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-keys-" });
  try {
    await makeKeys(dir);
    const priv = `${dir}/live`;
    await Deno.copyFile(`${dir}/ed`, priv);
    const { signer } = loadWorkSigning([
      { kind: "work-signing", privatekey: priv, tokenexpiration: 0 } as { kind: string },
    ], "exec");
    await assertRejects(() => signer!.signWork("exec"), "not ssh-rsa");
    await Deno.copyFile(`${dir}/id`, priv); // the operator fixes the file; no restart
    const tok = await signer!.signWork("exec");
    const v = loadWorkVerifier({ publickey: `${dir}/id.pub` }, "exec");
    await v.verify(tok);
    await Deno.copyFile(`${dir}/p8.key`, priv); // rotated again: new key used at once
    await assertRejects(async () => v.verify(await signer!.signWork("exec")), "verification");
    await v.verify(tok); // the old token still verifies with the old public key
    const e = assertThrows(() =>
      loadWorkSigning([{
        kind: "work-signing",
        source: "node.yaml",
        privatekey: "/nonexistent.key",
        tokenexpiration: 0,
      } as { kind: string }], "exec")
    );
    assertEquals(
      e.message,
      "/nonexistent.key does not exist (work-signing from node.yaml, privatekey: /nonexistent.key)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
