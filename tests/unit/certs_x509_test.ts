/**
 * PEM decoding rules (Go's pem.Decode behaviour), DER length encoding, Go-style name rendering
 * and parse errors for malformed certificates.
 * @module
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { parsePemItems, pemDecodeAll, pemEncode } from "../../src/certs/pem.ts";
import { concatBytes as concat } from "../../src/util/bytes.ts";
import { encodeLength, encodeOid, readTlv, seq, set, TAG, tlv } from "../../src/certs/der.ts";
import {
  commonNames,
  nameToString,
  parseCertificate,
  parseCsr,
} from "../../src/certs/x509_parse.ts";

Deno.test("DER lengths: short and long forms, strict reading", () => {
  assertEquals(encodeLength(0x7f), Uint8Array.of(0x7f));
  assertEquals(encodeLength(0x80), Uint8Array.of(0x81, 0x80));
  assertEquals(encodeLength(0x1234), Uint8Array.of(0x82, 0x12, 0x34));
  assertEquals(encodeLength(0x10000), Uint8Array.of(0x83, 0x01, 0x00, 0x00));
  const big = tlv(TAG.OCTET_STRING, new Uint8Array(70000));
  assertEquals(readTlv(big, 0, "x").content.length, 70000);
  assertThrows(
    () => readTlv(Uint8Array.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0, "x"),
    "non-minimal",
  );
  assertThrows(() => readTlv(Uint8Array.of(0x04, 0x80), 0, "x"), "indefinite");
  assertThrows(() => readTlv(Uint8Array.of(0x04, 0x05, 1), 0, "x"), "runs past the end");
  assertEquals(
    encodeOid("1.3.6.1.4.1.2312.19.1"),
    Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x92, 0x08, 0x13, 0x01),
  );
});

Deno.test("PEM: junk before blocks is skipped, trailing whitespace ok, trailing junk fails", () => {
  const a = pemEncode("CERTIFICATE REQUEST", Uint8Array.of(1, 2, 3));
  assertEquals(a, "-----BEGIN CERTIFICATE REQUEST-----\nAQID\n-----END CERTIFICATE REQUEST-----\n");
  const blocks = pemDecodeAll(
    "Bag Attributes: x\n" + a + "\n\n" + pemEncode("X", new Uint8Array(100)) + "\n  \n",
  );
  assertEquals(blocks.map((b) => [b.type, b.der.length]), [["CERTIFICATE REQUEST", 3], ["X", 100]]);
  assertThrows(() => pemDecodeAll(a + "trailing junk"), "failed to decode PEM block");
  assertThrows(() => pemDecodeAll("-----BEGIN X-----\nAQID\n"), "failed to decode PEM block");
  const enc =
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
  assert(pemDecodeAll(enc)[0].hasHeaders, "headers detected");
  assertThrows(() => parsePemItems(enc), "encrypted PEM keys are not supported");
  assertThrows(
    () => parsePemItems(pemEncode("EC PRIVATE KEY", Uint8Array.of(1))),
    "unknown block type EC PRIVATE KEY",
  );
  assertThrows(
    () => parsePemItems(pemEncode("CERTIFICATE", Uint8Array.of(0x30, 0x00))),
    "x509: malformed certificate",
  );
  assertThrows(
    () => parsePemItems(pemEncode("CERTIFICATE REQUEST", Uint8Array.of(0x30, 0x00))),
    "x509: malformed certificate request",
  );
});

const utf8 = (s: string) => new TextEncoder().encode(s);
const atv = (oid: string, tag: number, v: string) => set(seq(encodeOid(oid), tlv(tag, utf8(v))));

Deno.test("names render like Go's pkix.Name.String (reverse order, escaping)", () => {
  const name = seq(
    atv("2.5.4.6", TAG.PRINTABLE_STRING, "US"),
    atv("2.5.4.11", TAG.UTF8_STRING, "ReceptorTesting"),
    atv("2.5.4.3", TAG.UTF8_STRING, "node,1"),
  );
  assertEquals(nameToString(name), "CN=node\\,1,OU=ReceptorTesting,C=US");
  assertEquals(commonNames(name), ["node,1"]);
  const odd = seq(atv("1.2.840.113549.1.9.1", TAG.IA5_STRING, "a@b"));
  assertEquals(nameToString(odd), "1.2.840.113549.1.9.1=#1603614062");
  assertEquals(nameToString(seq()), "");
});

Deno.test("parse errors are typed and name the structure", () => {
  assertThrows(() => parseCertificate(Uint8Array.of(1, 2, 3)), "x509: malformed certificate");
  assertThrows(
    () => parseCertificate(concat(seq(seq(), seq()), Uint8Array.of(0))),
    "trailing data",
  );
  assertThrows(
    () => parseCsr(seq(seq(tlv(TAG.INTEGER, Uint8Array.of(0))))),
    "x509: malformed certificate request",
  );
});
