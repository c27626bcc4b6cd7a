/**
 * RFC 8448 §3 "Simple 1-RTT Handshake": the TLS 1.3 key schedule, transcript hashes, Finished
 * values and the server's RSA-PSS CertificateVerify, checked byte-exact against the published
 * trace (inputs are the trace's handshake messages and ECDHE shared secret).
 */
import { hex } from "../helpers/data.ts";
import { X509Certificate } from "node:crypto";
import { assertEquals } from "../helpers/assert.ts";
import {
  deriveSecret,
  digest,
  finishedKey,
  finishedVerifyData,
  KeySchedule,
  Transcript,
} from "../../src/quic/tls/key_schedule.ts";
import { hkdfExpandLabel } from "../../src/quic/hkdf.ts";
import { certificateVerifyContent, verifyContent } from "../../src/quic/tls/signatures.ts";
import {
  decodeCertificate,
  decodeCertificateVerify,
  decodeClientHello,
  decodeServerHello,
} from "../../src/quic/tls/messages.ts";
import { decodeClientShares, decodeServerShare, Ext } from "../../src/quic/tls/extensions.ts";

function unhex(s: string): Uint8Array {
  const c = s.replace(/\s+/g, "");
  return Uint8Array.from(c.match(/../g)!.map((h) => parseInt(h, 16)));
}

// Handshake messages of RFC 8448 §3 (4-byte handshake header included).
const CLIENT_HELLO = unhex(
  "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302" +
    "010000910000000b0009000006736572766572ff01000100000a00140012001d00170018001901000101010201030104" +
    "00230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b" +
    "0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c" +
    "00024001",
);
const SERVER_HELLO = unhex(
  "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024" +
    "001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304",
);
const ENCRYPTED_EXTENSIONS = unhex(
  "080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000",
);
const CERTIFICATE = unhex(
  "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c300a" +
    "06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335395a300e310c300a" +
    "0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902818100b4bb498f8279303d98" +
    "0836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c7ced4312" +
    "0998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c8ca9d9efbfae8ea6d1d0" +
    "3e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d1304023000300b060355" +
    "1d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5b9276b908c65f73a7267170618a54c5f" +
    "8a7b337d2df7a594365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102" +
    "702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8" +
    "f8961229ac9187b42b4de10000",
);
const CERTIFICATE_VERIFY = unhex(
  "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78e2d3" +
    "3a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46445c" +
    "9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfacd42f74f3",
);
const SERVER_FINISHED = unhex(
  "140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718",
);
const CLIENT_FINISHED = unhex(
  "14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61",
);
const ECDHE = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d";

Deno.test("RFC 8448 §3: early, handshake and master secrets and traffic secrets", () => {
  const t = new Transcript();
  t.add(CLIENT_HELLO);
  t.add(SERVER_HELLO);
  const helloHash = t.hash("sha256");
  assertEquals(hex(helloHash), "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8");

  const ks = new KeySchedule("sha256");
  assertEquals(
    hex(ks.earlySecret),
    "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a",
  );
  assertEquals(
    hex(deriveSecret("sha256", ks.earlySecret, "derived", digest("sha256", new Uint8Array(0)))),
    "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba",
  );
  const hs = ks.handshake(unhex(ECDHE), helloHash);
  assertEquals(
    hex(hs.handshakeSecret),
    "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac",
  );
  assertEquals(
    hex(hs.clientHandshakeTraffic),
    "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
  );
  assertEquals(
    hex(hs.serverHandshakeTraffic),
    "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
  );
  // Server handshake write key/iv (QUIC derives its own with "quic key", but the label
  // machinery is the same).
  assertEquals(
    hex(hkdfExpandLabel("sha256", hs.serverHandshakeTraffic, "key", new Uint8Array(0), 16)),
    "3fce516009c21727d0f2e4e86ee403bc",
  );
  assertEquals(
    hex(hkdfExpandLabel("sha256", hs.serverHandshakeTraffic, "iv", new Uint8Array(0), 12)),
    "5d313eb2671276ee13000b30",
  );

  // Finished keys and verify_data.
  assertEquals(
    hex(finishedKey("sha256", hs.serverHandshakeTraffic)),
    "008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8",
  );
  assertEquals(
    hex(finishedKey("sha256", hs.clientHandshakeTraffic)),
    "b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4",
  );
  t.add(ENCRYPTED_EXTENSIONS);
  t.add(CERTIFICATE);
  t.add(CERTIFICATE_VERIFY);
  assertEquals(
    hex(t.hash("sha256")),
    "edb7725fa7a3473b031ec8ef65a2485493900138a2b91291407d7951a06110ed",
  );
  assertEquals(
    hex(finishedVerifyData("sha256", hs.serverHandshakeTraffic, t.hash("sha256"))),
    hex(SERVER_FINISHED.subarray(4)),
  );
  t.add(SERVER_FINISHED);
  const finHash = t.hash("sha256");
  assertEquals(hex(finHash), "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13");

  const app = ks.application(finHash);
  assertEquals(
    hex(app.masterSecret),
    "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919",
  );
  assertEquals(
    hex(app.clientApplicationTraffic),
    "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
  );
  assertEquals(
    hex(app.serverApplicationTraffic),
    "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
  );
  assertEquals(
    hex(app.exporterMaster),
    "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50",
  );
  assertEquals(
    hex(finishedVerifyData("sha256", hs.clientHandshakeTraffic, finHash)),
    hex(CLIENT_FINISHED.subarray(4)),
  );
});

Deno.test("RFC 8448 §3: message decoders parse the trace's hellos", () => {
  const ch = decodeClientHello(CLIENT_HELLO.subarray(4));
  assertEquals(ch.cipherSuites, [0x1301, 0x1303, 0x1302]);
  assertEquals(ch.sessionId.length, 0);
  const shares = decodeClientShares(ch.extensions.get(Ext.keyShare)!);
  assertEquals(shares.length, 1);
  assertEquals(shares[0].group, 0x001d);
  assertEquals(
    hex(shares[0].key),
    "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c",
  );
  const sh = decodeServerHello(SERVER_HELLO.subarray(4));
  assertEquals(sh.isHelloRetry, false);
  assertEquals(sh.cipherSuite, 0x1301);
  assertEquals(
    hex(decodeServerShare(sh.extensions.get(Ext.keyShare)!).key),
    "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f",
  );
});

Deno.test("RFC 8448 §3: the server's rsa_pss_rsae_sha256 CertificateVerify verifies", () => {
  const cert = decodeCertificate(CERTIFICATE.subarray(4));
  assertEquals(cert.certificates.length, 1);
  const key = new X509Certificate(cert.certificates[0]).publicKey;
  const cv = decodeCertificateVerify(CERTIFICATE_VERIFY.subarray(4));
  assertEquals(cv.scheme, 0x0804);
  const t = new Transcript();
  for (const m of [CLIENT_HELLO, SERVER_HELLO, ENCRYPTED_EXTENSIONS, CERTIFICATE]) t.add(m);
  const content = certificateVerifyContent(true, t.hash("sha256"));
  verifyContent(cv.scheme, key, content, cv.signature); // throws on failure
  // A flipped bit must not verify.
  const bad = cv.signature.slice();
  bad[10] ^= 1;
  let alert = 0;
  try {
    verifyContent(cv.scheme, key, content, bad);
  } catch (e) {
    alert = (e as { alert: number }).alert;
  }
  assertEquals(alert, 51);
});
