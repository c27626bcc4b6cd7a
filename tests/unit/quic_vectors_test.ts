import { assertHexEquals } from "../helpers/assert.ts";
import { hex } from "../helpers/data.ts";
/** RFC 9001 Appendix A test vectors for QUIC packet protection. */
import {
  hexBytes,
  initialKeys,
  initialSecrets,
  PacketKeys,
  protectHeader,
  retryIntegrityTag,
  unprotectHeader,
} from "../../src/quic/packet_protection.ts";
import { decodePacketNumber, parseHeader } from "../../src/quic/packet.ts";

const DCID = hexBytes("8394c8f03e515708");

const CLIENT_CRYPTO = `060040f1010000ed0303ebf8fa56f129 39b9584a3896472ec40bb863cfd3e868
04fe3a47f06a2b69484c000004130113 02010000c000000010000e00000b6578
616d706c652e636f6dff01000100000a 00080006001d00170018001000070005
04616c706e0005000501000000000033 00260024001d00209370b2c9caa47fba
baf4559fedba753de171fa71f50f1ce1 5d43e994ec74d748002b000302030400
0d0010000e0403050306030203080408 050806002d00020101001c0002400100
3900320408ffffffffffffffff050480 00ffff07048000ffff08011001048000
75300901100f088394c8f03e51570806 048000ffff`;

const CLIENT_PACKET_PREFIX = `c000000001088394c8f03e5157080000 449e7b9aec34d1b1c98dd7689fb8ec11
d242b123dc9bd8bab936b47d92ec356c 0bab7df5976d27cd449f63300099f399
1c260ec4c60d17b31f8429157bb35a12 82a643a8d2262cad67500cadb8e7378c`;
const CLIENT_PACKET_SUFFIX = `e221af44860018ab0856972e194cd934`;

Deno.test("RFC 9001 A.1: initial secrets and keys", () => {
  const s = initialSecrets(DCID);
  assertHexEquals(
    s.client,
    "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
    "client_initial_secret",
  );
  assertHexEquals(
    s.server,
    "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b",
    "server_initial_secret",
  );
  const k = initialKeys(DCID, true);
  assertHexEquals(k.write.key, "1f369613dd76d5467730efcbe3b1a22d", "client key");
  assertHexEquals(k.write.iv, "fa044b2f42a3fd3b46fb255c", "client iv");
  assertHexEquals(k.read.key, "cf3a5331653c364c88f0f379b6067e37", "server key");
  assertHexEquals(k.read.iv, "0ac1493ca1905853b0bba03e", "server iv");
  // hp keys are checked through the masks below
});

function seal(
  keys: PacketKeys,
  header: Uint8Array,
  payload: Uint8Array,
  pn: number,
  pnOffset: number,
  pnLen: number,
) {
  const out = new Uint8Array(header.length + payload.length + 16);
  out.set(header);
  keys.sealInto(pn, header, payload, out, header.length);
  protectHeader(keys.hp, out, pnOffset, pnLen);
  return out;
}

Deno.test("RFC 9001 A.2: client Initial is byte-exact", () => {
  const k = initialKeys(DCID, true);
  const header = hexBytes("c300000001088394c8f03e5157080000449e00000002");
  const payload = new Uint8Array(1162);
  payload.set(hexBytes(CLIENT_CRYPTO));
  const pkt = seal(k.write, header, payload, 2, 18, 4);
  assertHexEquals(
    hex(pkt).slice(0, CLIENT_PACKET_PREFIX.replace(/\s+/g, "").length),
    CLIENT_PACKET_PREFIX,
    "protected prefix",
  );
  assertHexEquals(hex(pkt.subarray(pkt.length - 16)), CLIENT_PACKET_SUFFIX, "protected suffix");
  if (pkt.length !== 1200) throw new Error(`length ${pkt.length}`);
  // And the server can open it.
  const sk = initialKeys(DCID, false);
  const h = parseHeader(pkt, 0, 8);
  if (typeof h === "string") throw new Error(h);
  const u = unprotectHeader(sk.read.hp, pkt, h.pnOffset)!;
  assertHexEquals(u.header, "c300000001088394c8f03e5157080000449e00000002", "unprotected header");
  const pn = decodePacketNumber(-1, u.truncatedPn, u.pnLen);
  const plain = sk.read.open(pn, u.header, pkt.subarray(h.pnOffset + u.pnLen, h.end))!;
  assertHexEquals(
    hex(plain.subarray(0, hexBytes(CLIENT_CRYPTO).length)),
    CLIENT_CRYPTO,
    "decrypted",
  );
});

Deno.test("RFC 9001 A.3: server Initial", () => {
  const k = initialKeys(DCID, false);
  const header = hexBytes("c1000000010008f067a5502a4262b50040750001");
  const payload = hexBytes(`02000000000600405a020000560303ee fce7f7b37ba1d1632e96677825ddf739
88cfc79825df566dc5430b9a045a1200 130100002e00330024001d00209d3c94
0d89690b84d08a60993c144eca684d10 81287c834d5311bcf32bb9da1a002b00
020304`);
  const pkt = seal(k.write, header, payload, 1, 18, 2);
  assertHexEquals(
    pkt,
    `cf000000010008f067a5502a4262b500 4075c0d95a482cd0991cd25b0aac406a
5816b6394100f37a1c69797554780bb3 8cc5a99f5ede4cf73c3ec2493a1839b3
dbcba3f6ea46c5b7684df3548e7ddeb9 c3bf9c73cc3f3bded74b562bfb19fb84
022f8ef4cdd93795d77d06edbb7aaf2f 58891850abbdca3d20398c276456cbc4
2158407dd074ee`,
    "server initial",
  );
});

Deno.test("RFC 9001 A.4: Retry integrity tag", () => {
  const retry = hexBytes(
    "ff000000010008f067a5502a4262b574 6f6b656e04a265ba2eff4d829058fb3f 0f2496ba",
  );
  const tag = retryIntegrityTag(DCID, retry.subarray(0, retry.length - 16));
  assertHexEquals(tag, hex(retry.subarray(retry.length - 16)), "retry tag");
});

Deno.test("RFC 9001 A.5: ChaCha20-Poly1305 short header", () => {
  const secret = hexBytes("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
  const keys = new PacketKeys({ hash: "sha256", aead: "chacha20-poly1305", keyLength: 32 }, secret);
  assertHexEquals(
    keys.key,
    "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8",
    "key",
  );
  assertHexEquals(keys.iv, "e0459b3474bdd0e44a41c144", "iv");
  assertHexEquals(keys.nonce(654360564), "e0459b3474bdd0e46d417eb0", "nonce");
  assertHexEquals(
    keys.next().secret,
    "1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9",
    "ku",
  );
  const pkt = seal(keys, hexBytes("4200bff4"), hexBytes("01"), 654360564, 1, 3);
  assertHexEquals(pkt, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb", "packet");
  const u = unprotectHeader(keys.hp, pkt, 1)!;
  assertHexEquals(u.header, "4200bff4", "unprotected");
  const pn = decodePacketNumber(654360500, u.truncatedPn, u.pnLen);
  if (pn !== 654360564) throw new Error(`pn ${pn}`);
  assertHexEquals(keys.open(pn, u.header, pkt.subarray(4))!, "01", "plaintext");
});
