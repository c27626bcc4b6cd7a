/**
 * 1-RTT key phases and key updates (RFC 9001 §6): chooses the keys for a received short-header
 * packet by its Key Phase bit, rotates when the peer updates, and starts updates of our own.
 * @module
 */
import type { KeyPair, PacketKeys } from "./packet_protection.ts";

/** Key phase bookkeeping for the application space. */
export class KeyPhases {
  /** Phase of the keys we read with. */
  readPhase = 0;
  /** Phase bit we send with. */
  writePhase = 0;
  /** Packets sent in the current write phase. */
  writePackets = 0;
  #next?: PacketKeys;
  #prev?: PacketKeys;
  #phaseStartPn = 0;

  /** Keys to try for a packet with phase bit `bit` and number `pn`; `rotate` if it is a new phase. */
  select(keys: KeyPair, bit: number, pn: number): { keys: PacketKeys; rotate: boolean } {
    if (bit === this.readPhase) return { keys: keys.read, rotate: false };
    if (this.#prev && pn < this.#phaseStartPn) return { keys: this.#prev, rotate: false };
    this.#next ??= keys.read.next();
    return { keys: this.#next, rotate: true };
  }

  /** A packet authenticated with the next keys: rotate reads, and writes if the peer initiated. */
  rotate(keys: KeyPair, next: PacketKeys, pn: number): void {
    this.#prev = keys.read;
    keys.read = next;
    this.#next = undefined;
    this.readPhase ^= 1;
    this.#phaseStartPn = pn;
    if (this.writePhase !== this.readPhase) {
      keys.write = keys.write.next();
      this.writePhase = this.readPhase;
      this.writePackets = 0;
    }
  }

  /** Starts our own update; false while a previous one is unanswered. */
  initiate(keys: KeyPair): boolean {
    if (this.writePhase !== this.readPhase) return false;
    keys.write = keys.write.next();
    this.writePhase ^= 1;
    this.writePackets = 0;
    return true;
  }
}
