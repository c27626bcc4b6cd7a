/**
 * The peer's connection IDs (RFC 9000 §5.1): the one we send to, spares from
 * NEW_CONNECTION_ID, retirement (RETIRE_CONNECTION_ID) and stateless reset tokens.
 * @module
 */
import { QuicError, TransportError } from "./errors.ts";
import type { SentFrame } from "./sent_frames.ts";
import type { Writer } from "./varint.ts";

/** Connection IDs issued to us by the peer. */
export class PeerCids {
  /** Destination connection ID in use. */
  active: Uint8Array;
  /** Stateless reset tokens the peer announced. */
  readonly resetTokens: Uint8Array[] = [];
  #cids = new Map<number, Uint8Array>();
  #activeSeq = 0;
  #retire: number[] = [];
  readonly #limit: number;

  /** Starts with the handshake DCID; at most `activeConnectionIdLimit` IDs are kept. */
  constructor(initial: Uint8Array, activeConnectionIdLimit: number) {
    this.active = initial;
    this.#cids.set(0, initial);
    this.#limit = activeConnectionIdLimit;
  }

  /** Replaces the sequence-0 ID (server's first SCID, or a Retry's SCID). */
  setInitial(cid: Uint8Array): void {
    this.#cids.set(0, cid);
    if (this.#activeSeq === 0) this.active = cid;
  }

  /** Adds a reset token (e.g. from the server's transport parameters). */
  addResetToken(token: Uint8Array): void {
    this.resetTokens.push(token.slice());
  }

  /** Handles NEW_CONNECTION_ID. */
  onNew(seq: number, retirePriorTo: number, cid: Uint8Array, token: Uint8Array): void {
    if (this.#cids.has(seq)) return;
    this.#cids.set(seq, cid.slice());
    this.resetTokens.push(token.slice());
    if (this.resetTokens.length > 16) this.resetTokens.splice(1, 1);
    for (const s of [...this.#cids.keys()]) {
      if (s < retirePriorTo) {
        this.#cids.delete(s);
        this.#retire.push(s);
      }
    }
    if (!this.#cids.has(this.#activeSeq)) {
      this.#activeSeq = Math.min(...this.#cids.keys());
      this.active = this.#cids.get(this.#activeSeq)!;
    }
    if (this.#cids.size > this.#limit) {
      throw new QuicError(
        TransportError.CONNECTION_ID_LIMIT_ERROR,
        "peer exceeded active_connection_id_limit",
      );
    }
  }

  /** True if RETIRE_CONNECTION_ID frames are waiting. */
  get hasPending(): boolean {
    return this.#retire.length > 0;
  }

  /** A RETIRE_CONNECTION_ID was lost: send it again. */
  onLost(seq: number): void {
    this.#retire.push(seq);
  }

  /** Writes pending RETIRE_CONNECTION_ID frames. */
  writeRetires(w: Writer, end: number, frames: SentFrame[]): void {
    while (this.#retire.length && end - w.pos > 9) {
      const seq = this.#retire.shift()!;
      w.u8(0x19);
      w.varint(seq);
      frames.push({ t: "retire_cid", seq });
    }
  }
}
