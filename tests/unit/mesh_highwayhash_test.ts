import { highwayHash64, nodeHash, NodeHashCache } from "../../src/mesh/highwayhash.ts";
import { assertEquals } from "../helpers/assert.ts";

// Google's published 64-bit reference vectors: key bytes 00..1f, input bytes 00..n-1.
const EXPECTED64: bigint[] = [
  0x907A56DE22C26E53n,
  0x7EAB43AAC7CDDD78n,
  0xB8D0569AB0B53D62n,
  0x5C6BEFAB8A463D80n,
  0xF205A46893007EDAn,
  0x2B8A1668E4A94541n,
  0xBD4CCC325BEFCA6Fn,
  0x4D02AE1738F59482n,
  0xE1205108E55F3171n,
  0x32D2644EC77A1584n,
  0xF6E10ACDB103A90Bn,
  0xC3BBF4615B415C15n,
  0x243CC2040063FA9Cn,
  0xA89A58CE65E641FFn,
  0x24B031A348455A23n,
  0x40793F86A449F33Bn,
  0xCFAB3489F97EB832n,
  0x19FE67D2C8C5C0E2n,
  0x04DD90A69C565CC2n,
  0x75D9518E2371C504n,
  0x38AD9B1141D3DD16n,
  0x0264432CCD8A70E0n,
  0xA9DB5A6288683390n,
  0xD7B05492003F028Cn,
  0x205F615AEA59E51En,
  0xEEE0C89621052884n,
  0x1BFC1A93A7284F4Fn,
  0x512175B5B70DA91Dn,
  0xF71F8976A0A2C639n,
  0xAE093FEF1F84E3E7n,
  0x22CA92B01161860Fn,
  0x9FC7007CCF035A68n,
  0xA0C964D9ECD580FCn,
  0x2C90F73CA03181FCn,
  0x185CF84E5691EB9En,
  0x4FC1F5EF2752AA9Bn,
  0xF5B7391A5E0A33EBn,
  0xB9B84B83B4E96C9Cn,
  0x5E42FE712A5CD9B4n,
  0xA150F2F90C3F97DCn,
  0x7FA522D75E2D637Dn,
  0x181AD0CC0DFFD32Bn,
  0x3889ED981E854028n,
  0xFB4297E8C586EE2Dn,
  0x6D064A45BB28059Cn,
  0x90563609B3EC860Cn,
  0x7AA4FCE94097C666n,
  0x1326BAC06B911E08n,
  0xB926168D2B154F34n,
  0x9919848945B1948Dn,
  0xA2A98FC534825EBEn,
  0xE9809095213EF0B6n,
  0x582E5483707BC0E9n,
  0x086E9414A88A6AF5n,
  0xEE86B98D20F6743Dn,
  0xF89B7FF609B1C0A7n,
  0x4C7D9CC19E22C3E8n,
  0x9A97005024562A6Fn,
  0x5DD41CF423E6EBEFn,
  0xDF13609C0468E227n,
  0x6E0DA4F64188155An,
  0xB755BA4B50D7D4A1n,
  0x887A3484647479BDn,
  0xAB8EEBE9BF2139A0n,
  0x75542C5D4CD2A6FFn,
];

const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

Deno.test("highwayhash: 65 published reference vectors", () => {
  const key = seq(32);
  for (let n = 0; n <= 64; n++) {
    assertEquals(highwayHash64(seq(n), key).toString(16), EXPECTED64[n].toString(16), `n=${n}`);
  }
});

Deno.test("highwayhash: extra reference vectors with key words 1,2,3,4", () => {
  const key = new Uint8Array(32);
  [1, 2, 3, 4].forEach((w, i) => key[8 * i] = w);
  assertEquals(highwayHash64(seq(33, 0x80), key), 0x53C516CCE478CAD7n);
  assertEquals(highwayHash64(Uint8Array.of(0xff), key), 0x7858f24d2d79b2b2n);
});

Deno.test("highwayhash: wire.md §15.1 node-name table (zero key)", () => {
  const table: [string, bigint][] = [
    ["", 0x7035da75b9d54469n],
    ["node1", 0x61052d2b582eb15en],
    ["node2", 0x51bcc6e14eb3fee1n],
    ["node3", 0x2b1efddaab3bdbdcn],
    ["foo", 0xef7a78b67f92bdf7n],
    ["bar", 0x14ef88ca522894d1n],
    ["control", 0x3bdee1e3b5f2dbcdn],
    ["ping", 0xe98e3242f8b15e51n],
    ["unreach", 0xe05eac0110f1ce44n],
  ];
  const cache = new NodeHashCache(4);
  for (const [name, h] of table) {
    assertEquals(nodeHash(name), h, name);
    assertEquals(cache.hash(name), h, name);
    assertEquals(cache.hash(name), h, name);
  }
});
