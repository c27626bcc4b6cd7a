/**
 * QUIC packet protection (RFC 9001 §5): Initial secrets, key/IV/HP derivation, AEAD payload
 * protection, header protection (AES-ECB or ChaCha20), key update derivation and the Retry
 * integrity tag. All primitives come from node:crypto.
 * @module
 */
import { type Cipheriv, createCipheriv, createDecipheriv } from "node:crypto";
import { type HashName, hkdfExpandLabel, hkdfExtract } from "./hkdf.ts";

/** AEAD algorithms usable with QUIC v1. */
export type AeadName = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";

/** The parts of a TLS cipher suite that packet protection needs. */
export interface SuiteParams {
  /** HKDF hash. */
  hash: HashName;
  /** AEAD algorithm. */
  aead: AeadName;
  /** AEAD key length in bytes. */
  keyLength: number;
}

/** TLS_AES_128_GCM_SHA256, used for Initial packets. */
export const INITIAL_SUITE: SuiteParams = { hash: "sha256", aead: "aes-128-gcm", keyLength: 16 };

/** RFC 9001 §5.2 initial salt for QUIC v1. */
export const INITIAL_SALT_V1: Uint8Array = hexBytes("38762cf7f55934b34d179ae6a4c80cadccbb7f0a");

/** AEAD tag length (all QUIC v1 AEADs). */
export const TAG_LEN = 16;

/** Parses a hex string (whitespace ignored) into bytes. */
export function hexBytes(hex: string): Uint8Array {
  const h = hex.replace(/\s+/g, "");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

/**
 * Finalises a header-protection AES-ECB context once its HeaderProtector is garbage: in this
 * runtime a node:crypto cipher that is never `final()`ed keeps its native context (≈1 KiB)
 * for the life of the process — one per key set of every QUIC connection, i.e. RSS that grew
 * with every connection and survived GC.
 */
const ecbFinalizer = new FinalizationRegistry<Cipheriv>((ecb) => {
  try {
    ecb.final();
  } catch { /* already finished */ }
});

/** Header protection: computes the 5-byte mask from a 16-byte sample. */
export class HeaderProtector {
  #ecb: Cipheriv | undefined;
  #key: Uint8Array;
  #chacha: boolean;
  /** Header protection for `aead` with key `hpKey`. */
  constructor(aead: AeadName, hpKey: Uint8Array) {
    this.#key = hpKey;
    this.#chacha = aead === "chacha20-poly1305";
    if (!this.#chacha) {
      this.#ecb = createCipheriv(hpKey.length === 16 ? "aes-128-ecb" : "aes-256-ecb", hpKey, null);
      this.#ecb.setAutoPadding(false);
      ecbFinalizer.register(this, this.#ecb);
    }
  }
  /** mask = first 5 bytes of the HP function applied to `sample`. */
  mask(sample: Uint8Array): Uint8Array {
    if (this.#chacha) {
      const c = createCipheriv("chacha20", this.#key, sample);
      const mask = new Uint8Array(c.update(new Uint8Array(5)));
      c.final(); // frees the native context (an unfinished cipher leaks it: see ecbFinalizer)
      return mask;
    }
    return new Uint8Array(this.#ecb!.update(sample)).subarray(0, 5);
  }
}

/** The AEAD side of node's Cipher/Decipher, which its typings do not describe. */
interface AeadCipher {
  setAAD(a: Uint8Array, o?: unknown): void;
  setAuthTag(t: Uint8Array): void;
  getAuthTag(): Uint8Array;
  update(d: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

/** One direction's packet protection keys at one encryption level (and key phase). */
export class PacketKeys {
  /** AEAD algorithm. */
  readonly aead: AeadName;
  /** AEAD key. */
  readonly key: Uint8Array;
  /** AEAD IV. */
  readonly iv: Uint8Array;
  /** Header protection. */
  readonly hp: HeaderProtector;
  /** The secret these keys came from (for key updates). */
  readonly secret: Uint8Array;
  /** Suite parameters. */
  readonly suite: SuiteParams;
  #nonce: Uint8Array;
  /** Derives key, IV and (unless given) the header protection key from `secret`. */
  constructor(suite: SuiteParams, secret: Uint8Array, hp?: HeaderProtector) {
    this.suite = suite;
    this.aead = suite.aead;
    this.secret = secret;
    this.key = hkdfExpandLabel(suite.hash, secret, "quic key", new Uint8Array(0), suite.keyLength);
    this.iv = hkdfExpandLabel(suite.hash, secret, "quic iv", new Uint8Array(0), 12);
    this.hp = hp ??
      new HeaderProtector(
        suite.aead,
        hkdfExpandLabel(suite.hash, secret, "quic hp", new Uint8Array(0), suite.keyLength),
      );
    this.#nonce = new Uint8Array(12);
  }
  /** Keys for the next key phase (RFC 9001 §6): new secret via "quic ku", same HP key. */
  next(): PacketKeys {
    const s = hkdfExpandLabel(
      this.suite.hash,
      this.secret,
      "quic ku",
      new Uint8Array(0),
      this.secret.length,
    );
    return new PacketKeys(this.suite, s, this.hp);
  }
  /** nonce = iv XOR left-padded packet number. */
  nonce(pn: number): Uint8Array {
    const n = this.#nonce;
    n.set(this.iv);
    const hi = Math.floor(pn / 4294967296);
    n[4] ^= hi >>> 24;
    n[5] ^= hi >>> 16;
    n[6] ^= hi >>> 8;
    n[7] ^= hi;
    n[8] ^= pn >>> 24;
    n[9] ^= pn >>> 16;
    n[10] ^= pn >>> 8;
    n[11] ^= pn;
    return n;
  }
  /** A cipher or decipher for packet `pn` (node's typings lack the AEAD options overload). */
  #aead(make: typeof createCipheriv | typeof createDecipheriv, pn: number): AeadCipher {
    const m = make as (a: string, k: Uint8Array, iv: Uint8Array, o: never) => unknown;
    return m(
      this.aead,
      this.key,
      this.nonce(pn),
      { authTagLength: TAG_LEN } as never,
    ) as AeadCipher;
  }
  /** Encrypts `plain` with AAD `aad`; writes ciphertext+tag into `out` at `offset`. Returns bytes written. */
  sealInto(
    pn: number,
    aad: Uint8Array,
    plain: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): number {
    const c = this.#aead(createCipheriv, pn);
    c.setAAD(aad, { plaintextLength: plain.length });
    const ct = c.update(plain);
    out.set(ct, offset);
    let n = ct.length;
    const fin = c.final();
    if (fin.length) {
      out.set(fin, offset + n);
      n += fin.length;
    }
    out.set(c.getAuthTag(), offset + n);
    return n + TAG_LEN;
  }
  /** Decrypts `sealed` (ciphertext+tag); returns the plaintext or null if authentication fails. */
  open(pn: number, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < TAG_LEN) return null;
    try {
      const d = this.#aead(createDecipheriv, pn);
      const ctLen = sealed.length - TAG_LEN;
      d.setAuthTag(sealed.subarray(ctLen));
      d.setAAD(aad, { plaintextLength: ctLen });
      const pt = d.update(sealed.subarray(0, ctLen));
      const fin = d.final();
      if (fin.length === 0) return new Uint8Array(pt.buffer, pt.byteOffset, pt.length);
      const out = new Uint8Array(pt.length + fin.length);
      out.set(pt);
      out.set(fin, pt.length);
      return out;
    } catch {
      return null;
    }
  }
}

/** Read and write keys for one encryption level. */
export interface KeyPair {
  /** Keys to protect packets we send. */
  write: PacketKeys;
  /** Keys to remove protection from packets we receive. */
  read: PacketKeys;
}

/** Initial secrets for a client-chosen DCID (RFC 9001 §5.2). */
export function initialSecrets(dcid: Uint8Array): { client: Uint8Array; server: Uint8Array } {
  const initial = hkdfExtract("sha256", INITIAL_SALT_V1, dcid);
  return {
    client: hkdfExpandLabel("sha256", initial, "client in", new Uint8Array(0), 32),
    server: hkdfExpandLabel("sha256", initial, "server in", new Uint8Array(0), 32),
  };
}

/** Initial packet keys for the given role. */
export function initialKeys(dcid: Uint8Array, isClient: boolean): KeyPair {
  const s = initialSecrets(dcid);
  const c = new PacketKeys(INITIAL_SUITE, s.client);
  const sv = new PacketKeys(INITIAL_SUITE, s.server);
  return isClient ? { write: c, read: sv } : { write: sv, read: c };
}

/**
 * Applies header protection in place (RFC 9001 §5.4) to a sealed packet in `pkt`.
 * `pnOffset` is the offset of the packet number field, `pnLen` its length (1..4).
 */
export function protectHeader(
  hp: HeaderProtector,
  pkt: Uint8Array,
  pnOffset: number,
  pnLen: number,
): void {
  const mask = hp.mask(pkt.subarray(pnOffset + 4, pnOffset + 20));
  pkt[0] ^= mask[0] & ((pkt[0] & 0x80) ? 0x0f : 0x1f);
  for (let i = 0; i < pnLen; i++) pkt[pnOffset + i] ^= mask[1 + i];
}

/**
 * Removes header protection without modifying `pkt`: returns a copy of the header through the
 * packet number, with first byte and packet number unmasked, and the packet number length.
 * Returns null if the packet is too short to sample.
 */
export function unprotectHeader(
  hp: HeaderProtector,
  pkt: Uint8Array,
  pnOffset: number,
): { header: Uint8Array; pnLen: number; truncatedPn: number } | null {
  if (pkt.length < pnOffset + 20) return null;
  const mask = hp.mask(pkt.subarray(pnOffset + 4, pnOffset + 20));
  const first = pkt[0] ^ (mask[0] & ((pkt[0] & 0x80) ? 0x0f : 0x1f));
  const pnLen = (first & 0x03) + 1;
  const header = pkt.slice(0, pnOffset + pnLen);
  header[0] = first;
  let truncatedPn = 0;
  for (let i = 0; i < pnLen; i++) {
    header[pnOffset + i] ^= mask[1 + i];
    truncatedPn = truncatedPn * 256 + header[pnOffset + i];
  }
  return { header, pnLen, truncatedPn };
}

const RETRY_KEY = hexBytes("be0c690b9f66575a1d766b54e368c84e");
const RETRY_NONCE = hexBytes("461599d35d632bf2239825bb");

/** Retry Integrity Tag (RFC 9001 §5.8) over `retryWithoutTag`, for the original DCID `odcid`. */
export function retryIntegrityTag(odcid: Uint8Array, retryWithoutTag: Uint8Array): Uint8Array {
  const pseudo = new Uint8Array(1 + odcid.length + retryWithoutTag.length);
  pseudo[0] = odcid.length;
  pseudo.set(odcid, 1);
  pseudo.set(retryWithoutTag, 1 + odcid.length);
  const c = createCipheriv("aes-128-gcm", RETRY_KEY, RETRY_NONCE);
  c.setAAD(pseudo);
  c.final();
  return new Uint8Array(c.getAuthTag());
}
