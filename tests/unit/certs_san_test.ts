/**
 * Node-ID otherName SAN: the wire.md §13.3 DER vector, long IDs, other string types, IP text.
 * @module
 */
import { fromHex } from "../helpers/data.ts";
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import {
  decodeOtherNameNodeId,
  decodeSubjectAltName,
  encodeNodeIdOtherName,
  encodeReceptorSan,
  RECEPTOR_NODE_ID_OID,
} from "../../src/certs/node_id_san.ts";
import { formatIp, parseIp } from "../../src/certs/ip.ts";
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralNames } from "@peculiar/asn1-x509";

const VECTOR = fromHex("30 16 a0 14 06 09 2b 06 01 04 01 92 08 13 01 a0 07 0c 05 6e 6f 64 65 31");

Deno.test("SAN with node ID node1 encodes to the wire.md §13.3 bytes", () => {
  assertEquals(encodeReceptorSan({ nodeIds: ["node1"] }), VECTOR);
});

Deno.test("SAN vector decodes to node1", () => {
  assertEquals(decodeSubjectAltName(VECTOR), { dnsNames: [], ipAddresses: [], nodeIds: ["node1"] });
});

Deno.test("200-byte node ID round-trips with long-form DER lengths and parses with asn1-x509", () => {
  const id = "n".repeat(150) + "é".repeat(25); // 200 bytes of UTF-8
  assertEquals(new TextEncoder().encode(id).length, 200);
  const san = encodeReceptorSan({ dnsNames: ["a.example"], nodeIds: [id, "short"] });
  assertEquals(decodeSubjectAltName(san).nodeIds, [id, "short"]);
  const gn = AsnConvert.parse(san, GeneralNames);
  assertEquals(gn.length, 3);
  assertEquals(gn[1].otherName?.typeId, RECEPTOR_NODE_ID_OID);
  // otherName element itself uses a long-form length (0x81 or 0x82)
  const el = encodeNodeIdOtherName(id);
  assertEquals(el[0], 0xa0);
  assert(el[1] === 0x81 || el[1] === 0x82, "long-form length expected");
});

Deno.test("DNS, IPv4, IPv6 and node IDs keep upstream order", () => {
  const san = encodeReceptorSan({
    dnsNames: ["h.example", "h2"],
    ipAddresses: [parseIp("10.1.2.3")!, parseIp("2001:db8::1")!],
    nodeIds: ["x"],
  });
  const d = decodeSubjectAltName(san);
  assertEquals(d.dnsNames, ["h.example", "h2"]);
  assertEquals(d.ipAddresses.map(formatIp), ["10.1.2.3", "2001:db8::1"]);
  assertEquals(d.ipAddresses[0].length, 4);
  assertEquals(d.nodeIds, ["x"]);
  const gn = AsnConvert.parse(san, GeneralNames);
  assertEquals(gn[0].dNSName, "h.example");
  assertEquals(gn[2].iPAddress, "10.1.2.3");
});

Deno.test("empty SAN is an empty SEQUENCE", () => {
  assertEquals(encodeReceptorSan({}), Uint8Array.of(0x30, 0x00));
});

Deno.test("PrintableString and IA5String node IDs are accepted; other OIDs ignored", () => {
  const oid = fromHex("06 09 2b 06 01 04 01 92 08 13 01");
  const printable = Uint8Array.of(...oid, 0xa0, 0x04, 0x13, 0x02, 0x61, 0x62);
  assertEquals(decodeOtherNameNodeId(printable), "ab");
  const ia5 = Uint8Array.of(...oid, 0xa0, 0x04, 0x16, 0x02, 0x63, 0x64);
  assertEquals(decodeOtherNameNodeId(ia5), "cd");
  const otherOid = Uint8Array.of(0x06, 0x03, 0x2a, 0x03, 0x04, 0xa0, 0x03, 0x0c, 0x01, 0x7a);
  assertEquals(decodeOtherNameNodeId(otherOid), null);
  const bad = Uint8Array.of(...oid, 0xa0, 0x03, 0x02, 0x01, 0x05); // INTEGER value
  assertThrows(() => decodeOtherNameNodeId(bad), "asn1");
});

Deno.test("malformed SAN is reported, not crashed on", () => {
  assertThrows(
    () => decodeSubjectAltName(Uint8Array.of(0x30, 0x05, 0xa0)),
    "malformed subjectAltName",
  );
  // upstream's short-length bug output for a 113-byte ID: header says 0x81 but bytes were cut
  assertThrows(() => decodeSubjectAltName(Uint8Array.of(0x30, 0x03, 0xa0, 0x81, 0x80)));
});

Deno.test("IP parsing and formatting follow Go", () => {
  assertEquals(parseIp("1.2.3.4"), Uint8Array.of(1, 2, 3, 4));
  assertEquals(parseIp("::ffff:1.2.3.4"), Uint8Array.of(1, 2, 3, 4));
  assertEquals(parseIp("01.2.3.4"), null);
  assertEquals(parseIp("1.2.3"), null);
  assertEquals(parseIp("example.com"), null);
  assertEquals(parseIp("1::2::3"), null);
  assertEquals(formatIp(parseIp("::1")!), "::1");
  assertEquals(formatIp(parseIp("2001:DB8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  assertEquals(formatIp(parseIp("fe80::1.2.3.4")!), "fe80::102:304");
  assertEquals(parseIp("1:2:3:4:5:6:7:8")!.length, 16);
  assertEquals(parseIp("1:2:3:4:5:6:7:8:9"), null);
});
