/**
 * Work signing (control.md §7): RS512 tokens with `aud:[node]` and `exp`, verification
 * with upstream's refusal texts, PKCS#1/PKCS#8/SPKI key loading and the one-block rule.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../helpers/assert.ts";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import {
  loadWorkSigner,
  loadWorkSigning,
  loadWorkVerifier,
  makeWorkSigner,
  makeWorkVerifier,
  parseSigningKeyPem,
  parseVerifyingKeyPem,
  signWork,
} from "../../src/work/signing.ts";

function rsaPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

const A = rsaPair();
const B = rsaPair();
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function decodePart(tok: string, i: number): Record<string, unknown> {
  const p = tok.split(".")[i].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(p));
}

Deno.test("signWork: RS512 JWT with aud array and exp = now + lifetime", async () => {
  const signer = makeWorkSigner(A.privateKey, 60_000, () => T0);
  const tok = await signer.signWork("bar");
  assertEquals(decodePart(tok, 0), { alg: "RS512", typ: "JWT" });
  assertEquals(decodePart(tok, 1), { aud: ["bar"], exp: T0 / 1000 + 60 });
  await makeWorkVerifier(A.publicKey, "bar", () => T0 + 1000).verify(tok);
  assertEquals(await signWork(signer, "bar") !== "", true);
  await assertRejects(() => signWork(null, "bar"), "cannot sign work: signing key is empty");
});

Deno.test("verify: refusals carry upstream texts", async () => {
  const signer = makeWorkSigner(A.privateKey, 60_000, () => T0);
  const tok = await signer.signWork("bar");
  const v = makeWorkVerifier(A.publicKey, "bar", () => T0);
  await assertRejects(() => v.verify(""), "could not verify signature: signature is empty");
  await assertRejects(
    () => makeWorkVerifier(B.publicKey, "bar", () => T0).verify(tok),
    "could not verify signature: crypto/rsa: verification error",
  );
  await assertRejects(
    () => makeWorkVerifier(A.publicKey, "other", () => T0).verify(tok),
    "token audience did not match node ID",
  );
  const late = makeWorkVerifier(A.publicKey, "bar", () => T0 + 90_000);
  await assertRejects(
    () => late.verify(tok),
    "could not verify signature: token is expired by 30s",
  );
  await assertRejects(
    () => v.verify("abc.def"),
    "could not verify signature: token contains an invalid number of segments",
  );
  // tampered payload
  const parts = tok.split(".");
  const forged = btoa(JSON.stringify({ aud: ["bar"], exp: T0 / 1000 + 9999 }))
    .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  await assertRejects(
    () => v.verify(`${parts[0]}.${forged}.${parts[2]}`),
    "crypto/rsa: verification error",
  );
});

Deno.test("verify: other RSA algorithms, string aud, nbf/iat", async () => {
  const v = makeWorkVerifier(A.publicKey, "bar", () => T0);
  for (const alg of ["RS256", "RS384", "PS256", "PS384", "PS512"]) {
    const tok = await new SignJWT({ aud: "bar", exp: T0 / 1000 + 10 })
      .setProtectedHeader({ alg }).sign(A.privateKey);
    await v.verify(tok);
  }
  const early = await new SignJWT({ aud: ["bar"], nbf: T0 / 1000 + 100 })
    .setProtectedHeader({ alg: "RS512" }).sign(A.privateKey);
  await assertRejects(() => v.verify(early), "token is not valid yet");
  const hs = await new SignJWT({ aud: ["bar"] }).setProtectedHeader({ alg: "HS256" })
    .sign(new Uint8Array(32));
  await assertRejects(() => v.verify(hs), "key is of invalid type");
  const noAud = await new SignJWT({ exp: T0 / 1000 + 10 }).setProtectedHeader({ alg: "RS512" })
    .sign(A.privateKey);
  await assertRejects(() => v.verify(noAud), "token audience did not match node ID");
});

Deno.test("keys: PKCS#1 and PKCS#8 private keys, SPKI public key; one block only", async () => {
  const pkcs1 = A.privateKey.export({ format: "pem", type: "pkcs1" }) as string;
  const pkcs8 = A.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const spki = A.publicKey.export({ format: "pem", type: "spki" }) as string;
  const rsaPub = A.publicKey.export({ format: "pem", type: "pkcs1" }) as string;
  assert(pkcs1.includes("BEGIN RSA PRIVATE KEY") && pkcs8.includes("BEGIN PRIVATE KEY"));
  const v = makeWorkVerifier(parseVerifyingKeyPem(spki), "n", () => T0);
  for (const pem of [pkcs1, pkcs8]) {
    const tok = await makeWorkSigner(parseSigningKeyPem(pem), 1000, () => T0).signWork("n");
    await v.verify(tok);
  }
  assertThrows(
    () => parseSigningKeyPem(pkcs1 + pkcs8),
    "private key file should contain exactly one item",
  );
  assertThrows(
    () => parseVerifyingKeyPem(spki + spki),
    "public key file should contain exactly one item",
  );
  assertThrows(() => parseVerifyingKeyPem(rsaPub), "unknown block type RSA PUBLIC KEY");
  assertThrows(
    () => parseSigningKeyPem(spki),
    "private key file does not contain private key data",
  );
  assertThrows(
    () => parseVerifyingKeyPem(pkcs8),
    "public key file does not contain public key data",
  );
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  assertThrows(
    () => parseSigningKeyPem(ec.privateKey.export({ format: "pem", type: "pkcs8" }) as string),
    "private key file does not contain private key data",
  );
});

Deno.test("load from files: missing file, two blocks, sections", async () => {
  const dir = await Deno.makeTempDir({ prefix: "receptor-signing-" });
  try {
    const priv = `${dir}/priv.pem`;
    const pub = `${dir}/pub.pem`;
    const two = `${dir}/two.pem`;
    await Deno.writeTextFile(priv, A.privateKey.export({ format: "pem", type: "pkcs1" }) as string);
    await Deno.writeTextFile(pub, A.publicKey.export({ format: "pem", type: "spki" }) as string);
    await Deno.writeTextFile(two, (await Deno.readTextFile(pub)).repeat(2));
    assertThrows(
      () => loadWorkSigner({ privatekey: `${dir}/nope.pem`, tokenexpiration: 0 }),
      `${dir}/nope.pem does not exist`,
    );
    // Start-up checks only that the files exist; a bad key fails the signature that needs it.
    const badVerifier = loadWorkVerifier({ publickey: two }, "n");
    await assertRejects(
      () => badVerifier.verify("a.b.c"),
      "could not load verifying key file: public key file should contain exactly one item",
    );
    const badSigner = loadWorkSigner({ privatekey: pub });
    await assertRejects(
      () => badSigner.signWork("n"),
      "could not load signing key file: private key file does not contain private key data",
    );
    const { signer, verifier } = loadWorkSigning(
      [
        { kind: "node" },
        { kind: "work-signing", privatekey: priv, tokenexpiration: 0 } as { kind: string },
        { kind: "work-verification", publickey: pub } as { kind: string },
      ],
      "n",
      () => T0,
    );
    assert(signer && verifier);
    const tok = await signer.signWork("n");
    assertEquals(decodePart(tok, 1).exp, T0 / 1000 + 300); // default 5 minutes
    assertEquals(signer.lifetimeMs, 300_000);
    await verifier.verify(tok);
    const none = loadWorkSigning([{ kind: "node" }], "n");
    assertEquals(none, { signer: null, verifier: null });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
