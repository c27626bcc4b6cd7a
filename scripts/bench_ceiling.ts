/**
 * The highest mesh-stream rate this machine allows before any of our own code runs: measures,
 * in the bench process, what no implementation of the measurement can avoid per byte —
 * the bench's sha256 at each end, sealing plus header protection of each full mesh QUIC
 * datagram (ChaCha20-Poly1305 through node:crypto, the cheapest AEAD Deno offers here) at the
 * sender, opening at the receiver — and the kernel's share of the raw TCP run. With one
 * process per end on `cores` cores, the rate can exceed neither one core per end nor the
 * machine's total (which relays share: each hop costs at least one raw TCP transfer).
 * @module
 */
import { createCipheriv, createHash } from "node:crypto";
import {
  PacketKeys,
  protectHeader,
  type SuiteParams,
  TAG_LEN,
  unprotectHeader,
} from "../src/quic/packet_protection.ts";
import { MESH_QUIC_DATAGRAM } from "../src/streams/stream_service.ts";

const MiB = 1024 * 1024;
const CHACHA: SuiteParams = { hash: "sha256", aead: "chacha20-poly1305", keyLength: 32 };

/** Per-MiB CPU seconds of each unavoidable step, and the ceiling they imply. */
export interface Ceiling {
  /** sha256 over 1 MiB chunks, as both ends of the bench compute it. */
  hashSecPerMiB: number;
  /** Seal + header-protect full datagrams (sender). */
  sealSecPerMiB: number;
  /** Header-unprotect + open full datagrams (receiver). */
  openSecPerMiB: number;
  /** ChaCha20-Poly1305 over the whole data in one call: the AEAD with no per-packet cost. */
  aeadStreamSecPerMiB: number;
  /** Highest possible mesh stream rate over `links` TCP links (hops), MiB/s. */
  rate(links: number): number;
  /** The same if packets cost nothing beyond streaming AEAD (any datagram size), MiB/s. */
  rateAnyPacketSize(links: number): number;
}

function secPerMiB(bytes: number, f: () => void): number {
  f(); // warm up
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000 / (bytes / MiB);
}

/**
 * Measures the floor over `mib` MiB. `tcpCpuSecPerMiB` is the CPU (both ends, mostly kernel)
 * the raw TCP baseline spent per MiB; the mesh link pays at least that too.
 */
export function measureCeiling(mib: number, tcpCpuSecPerMiB: number, cores: number): Ceiling {
  const total = mib * MiB;
  const chunk = new Uint8Array(MiB).map((_, i) => i * 31);
  const hashSecPerMiB = secPerMiB(total, () => {
    const h = createHash("sha256");
    for (let off = 0; off < total; off += MiB) h.update(chunk);
    h.digest();
  });
  const keys = new PacketKeys(CHACHA, new Uint8Array(32).fill(7));
  // a short-header packet: flags, 8-byte CID, 2-byte packet number, payload, tag
  const pnOffset = 9, pnLen = 2, hdrLen = pnOffset + pnLen;
  const payload = MESH_QUIC_DATAGRAM - hdrLen - TAG_LEN;
  const packets = Math.ceil(total / payload);
  const plain = chunk.subarray(0, payload);
  const sealed: Uint8Array[] = [];
  const sealSecPerMiB = secPerMiB(total, () => {
    sealed.length = 0;
    const pkt = new Uint8Array(MESH_QUIC_DATAGRAM);
    for (let pn = 0; pn < packets; pn++) {
      pkt[0] = 0x41;
      pkt[pnOffset] = pn >> 8;
      pkt[pnOffset + 1] = pn & 0xff;
      keys.sealInto(pn, pkt.subarray(0, hdrLen), plain, pkt, hdrLen);
      protectHeader(keys.hp, pkt, pnOffset, pnLen);
      if (pn < 64) sealed.push(pkt.slice());
    }
  });
  const openSecPerMiB = secPerMiB(total, () => {
    for (let pn = 0; pn < packets; pn++) {
      const pkt = sealed[pn % sealed.length];
      const h = unprotectHeader(keys.hp, pkt, pnOffset)!;
      const p = h.truncatedPn;
      if (!keys.open(p, h.header, pkt.subarray(hdrLen))) throw new Error("open failed");
    }
  });
  const aeadStreamSecPerMiB = secPerMiB(total, () => {
    const c = createCipheriv("chacha20-poly1305", keys.key, keys.iv, { authTagLength: TAG_LEN });
    for (let off = 0; off < total; off += MiB) c.update(chunk);
    c.final();
  });
  const sender = hashSecPerMiB + sealSecPerMiB;
  const receiver = hashSecPerMiB + openSecPerMiB;
  // every link costs at least what the raw TCP run cost (a relay receives and resends)
  const bound = (end: number, otherEnd: number, links: number) =>
    1 / Math.max(end, otherEnd, (end + otherEnd + links * tcpCpuSecPerMiB) / cores);
  const streamEnd = hashSecPerMiB + aeadStreamSecPerMiB;
  return {
    hashSecPerMiB,
    sealSecPerMiB,
    openSecPerMiB,
    aeadStreamSecPerMiB,
    rate: (links) => bound(sender, receiver, links),
    rateAnyPacketSize: (links) => bound(streamEnd, streamEnd, links),
  };
}
