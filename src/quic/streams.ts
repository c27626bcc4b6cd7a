/**
 * Stream state for one connection (RFC 9000 §2–4): stream creation and limits, send/receive
 * buffers, stream- and connection-level flow control with window updates, FIN, RESET_STREAM and
 * STOP_SENDING. Produces STREAM and stream-related control frames for the packet builder.
 * @module
 */
import {
  finalSizeError,
  flowControlError,
  QuicError,
  streamLimitError,
  streamStateError,
  TransportError,
} from "./errors.ts";
import type { ConnectionEvent } from "./connection_events.ts";
import type { SentFrame } from "./sent_frames.ts";
import { newRecvSide, newSendSide, type Stream, type StreamLimits } from "./stream_state.ts";
import type { TransportParameters } from "./transport_parameters.ts";
import { varintSize, type Writer } from "./varint.ts";
import { streamHeaderSize, writeStreamHeader } from "./frame.ts";

export type { ConnectionEvent } from "./connection_events.ts";
export type { StreamLimits } from "./stream_state.ts";

/** All streams of one connection. */
export class Streams {
  readonly #isClient: boolean;
  readonly #limits: StreamLimits;
  readonly #events: ConnectionEvent[];
  #streams = new Map<number, Stream>();
  #peer?: TransportParameters;
  // local-initiated
  #nextLocal = [0, 0]; // [bidi, uni] counts opened
  #maxLocal = [0, 0]; // peer's stream limits
  // remote-initiated
  #nextRemote = [0, 0];
  #maxRemote: number[];
  #closedRemote = [0, 0];
  #maxStreamsPending = [false, false];
  // connection flow control
  #sendMax = 0;
  #sendUsed = 0;
  #recvMax: number;
  #recvWindow: number;
  #recvHighest = 0;
  #recvConsumed = 0;
  #maxDataPending = false;
  #lastConnUpdate = -Infinity;
  #sendQueue = new Set<number>();
  #controlQueue = new Set<number>();
  #connBlocked = new Set<number>();
  /** Smoothed RTT supplier for window auto-tuning. */
  rtt: () => number = () => 100;
  /** Clock supplier for window auto-tuning. */
  now: () => number = () => 0;

  /** Creates the stream table; events are appended to the connection's queue `events`. */
  constructor(isClient: boolean, limits: StreamLimits, events: ConnectionEvent[]) {
    this.#isClient = isClient;
    this.#limits = limits;
    this.#events = events;
    this.#maxRemote = [limits.maxBidiStreams, limits.maxUniStreams];
    this.#recvMax = limits.connectionWindow;
    this.#recvWindow = limits.connectionWindow;
  }

  /** Installs the peer's transport parameters (limits for what we send). */
  setPeerParams(p: TransportParameters): void {
    this.#peer = p;
    this.#sendMax = Math.max(this.#sendMax, p.initialMaxData);
    this.#maxLocal = [
      Math.max(this.#maxLocal[0], p.initialMaxStreamsBidi),
      Math.max(this.#maxLocal[1], p.initialMaxStreamsUni),
    ];
    for (const s of this.#streams.values()) {
      if (s.send && this.#isLocal(s.id)) {
        s.send.max = Math.max(s.send.max, this.#peerInitialMax(s.id));
      }
    }
  }

  #isLocal(id: number): boolean {
    return ((id & 1) === 0) === this.#isClient;
  }
  #peerInitialMax(id: number): number {
    const p = this.#peer;
    if (!p) return 0;
    if (id & 2) return p.initialMaxStreamDataUni;
    return this.#isLocal(id) ? p.initialMaxStreamDataBidiRemote : p.initialMaxStreamDataBidiLocal;
  }
  #create(id: number): Stream {
    const local = this.#isLocal(id);
    const uni = (id & 2) !== 0;
    const s: Stream = { id };
    if (!uni || local) s.send = newSendSide(this.#peerInitialMax(id));
    if (!uni || !local) s.recv = newRecvSide(this.#limits.streamWindow);
    this.#streams.set(id, s);
    return s;
  }

  /** Opens a local stream; returns its ID or null when the peer's stream limit is reached. */
  open(bidi: boolean): number | null {
    const k = bidi ? 0 : 1;
    if (this.#nextLocal[k] >= this.#maxLocal[k]) return null;
    const id = this.#nextLocal[k]++ * 4 + (this.#isClient ? 0 : 1) + (bidi ? 0 : 2);
    this.#create(id);
    return id;
  }

  /** Looks up a stream for an incoming frame, creating peer streams as needed. Undefined = closed. */
  #incoming(id: number, forSend: boolean, ft: number): Stream | undefined {
    const s = this.#streams.get(id);
    if (s) {
      if (forSend ? !s.send : !s.recv) {
        throw streamStateError(`stream ${id} has no ${forSend ? "send" : "receive"} side`, ft);
      }
      return s;
    }
    const k = (id & 2) ? 1 : 0;
    const idx = Math.floor(id / 4);
    if (this.#isLocal(id)) {
      if (idx >= this.#nextLocal[k]) {
        throw streamStateError(`frame for unopened local stream ${id}`, ft);
      }
      return undefined;
    }
    if (k === 1 && forSend) throw streamStateError(`send-side frame for peer uni stream ${id}`, ft);
    if (idx < this.#nextRemote[k]) return undefined;
    if (idx >= this.#maxRemote[k]) {
      throw streamLimitError(`peer exceeded stream limit with stream ${id}`, ft);
    }
    let created: Stream | undefined;
    for (let i = this.#nextRemote[k]; i <= idx; i++) {
      const sid = i * 4 + (this.#isClient ? 1 : 0) + k * 2;
      created = this.#create(sid);
      this.#events.push({ type: "streamOpened", id: sid, bidi: k === 0 });
    }
    this.#nextRemote[k] = idx + 1;
    return created;
  }

  /** Handles a STREAM frame. */
  onStream(id: number, off: number, data: Uint8Array, fin: boolean): void {
    const s = this.#incoming(id, false, 0x08);
    if (!s) return;
    const r = s.recv!;
    const end = off + data.length;
    if (r.finalSize !== undefined && (end > r.finalSize || (fin && end !== r.finalSize))) {
      throw finalSizeError(`stream ${id} data beyond final size`, 0x08);
    }
    if (fin) {
      if (end < r.buf.highest) throw finalSizeError(`stream ${id} FIN below received data`, 0x08);
      r.finalSize = end;
    }
    if (end > r.max) throw flowControlError(`stream ${id} exceeded its flow-control limit`, 0x08);
    if (end > r.buf.highest) {
      this.#recvHighest += end - r.buf.highest;
      if (this.#recvHighest > this.#recvMax) {
        throw flowControlError("connection flow-control limit exceeded", 0x08);
      }
    }
    if (r.resetCode !== undefined || r.stopCode !== undefined) {
      if (end > r.buf.highest) r.buf.highest = end;
      this.#maybeFreeRecv(s);
      return;
    }
    r.buf.insert(off, data);
    if (
      !r.notified &&
      (r.buf.readable || (r.finalSize !== undefined && r.buf.readOffset === r.finalSize))
    ) {
      r.notified = true;
      this.#events.push({ type: "streamReadable", id });
    }
  }

  /** Handles RESET_STREAM. */
  onResetStream(id: number, code: number, finalSize: number): void {
    const s = this.#incoming(id, false, 0x04);
    if (!s) return;
    const r = s.recv!;
    if ((r.finalSize !== undefined && r.finalSize !== finalSize) || finalSize < r.buf.highest) {
      throw finalSizeError(`stream ${id} reset with inconsistent final size`, 0x04);
    }
    if (finalSize > r.max) throw flowControlError(`stream ${id} final size above limit`, 0x04);
    if (r.resetCode !== undefined || r.done) return;
    this.#recvHighest += finalSize - r.buf.highest;
    if (this.#recvHighest > this.#recvMax) {
      throw flowControlError("connection flow-control limit exceeded", 0x04);
    }
    r.buf.highest = finalSize;
    r.finalSize = finalSize;
    r.resetCode = code;
    this.#recvConsumed += finalSize - r.buf.readOffset;
    r.buf.clear();
    r.done = true;
    r.maxPending = false;
    this.#events.push({ type: "streamReset", id, code });
    this.#maybeConnUpdate();
    this.#maybeFreeRecv(s);
  }

  /** Handles STOP_SENDING: reports it and resets our send side with the same code. */
  onStopSending(id: number, code: number): void {
    const s = this.#incoming(id, true, 0x05);
    if (!s) return;
    if (s.send!.resetCode === undefined) this.#events.push({ type: "streamStopped", id, code });
    this.reset(id, code);
  }

  /** Handles MAX_STREAM_DATA. */
  onMaxStreamData(id: number, max: number): void {
    const s = this.#incoming(id, true, 0x11);
    if (!s) return;
    const snd = s.send!;
    if (max > snd.max) {
      snd.max = max;
      this.#notifyWritable(s);
    }
  }

  /** Handles MAX_DATA. */
  onMaxData(max: number): void {
    if (max <= this.#sendMax) return;
    this.#sendMax = max;
    for (const id of this.#connBlocked) {
      const s = this.#streams.get(id);
      if (s) this.#notifyWritable(s);
    }
    this.#connBlocked.clear();
  }

  /** Handles MAX_STREAMS. */
  onMaxStreams(bidi: boolean, max: number): void {
    const k = bidi ? 0 : 1;
    if (max > this.#maxLocal[k]) this.#maxLocal[k] = max;
  }

  #notifyWritable(s: Stream): void {
    if (s.send?.wantWritable) {
      s.send.wantWritable = false;
      this.#events.push({ type: "streamWritable", id: s.id });
    }
  }

  /** Writes what flow control and the send buffer allow; returns bytes accepted. */
  write(id: number, data: Uint8Array): number {
    const s = this.#streams.get(id);
    const snd = s?.send;
    if (!snd) {
      throw new QuicError(TransportError.STREAM_STATE_ERROR, `stream ${id} is not writable`);
    }
    if (snd.buf.finWritten || snd.resetCode !== undefined) {
      throw new QuicError(TransportError.STREAM_STATE_ERROR, `stream ${id} is finished or reset`);
    }
    const streamCredit = snd.max - snd.buf.writeOffset;
    const connCredit = this.#sendMax - this.#sendUsed;
    const bufCredit = this.#limits.sendBufferSize - snd.buf.unacked;
    const n = Math.max(0, Math.min(data.length, streamCredit, connCredit, bufCredit));
    if (n < data.length) {
      snd.wantWritable = true;
      if (connCredit <= n) this.#connBlocked.add(id);
    }
    if (n === 0) return 0;
    snd.buf.write(n === data.length ? data : data.subarray(0, n)); // the buffer copies
    this.#sendUsed += n;
    this.#sendQueue.add(id);
    return n;
  }

  /** Marks the end of the stream's data. */
  finish(id: number): void {
    const snd = this.#streams.get(id)?.send;
    if (!snd) {
      throw new QuicError(TransportError.STREAM_STATE_ERROR, `stream ${id} is not writable`);
    }
    if (snd.buf.finWritten || snd.resetCode !== undefined) return;
    snd.buf.finWritten = true;
    this.#sendQueue.add(id);
  }

  /** Abandons the send side with RESET_STREAM. */
  reset(id: number, code: number): void {
    const s = this.#streams.get(id);
    const snd = s?.send;
    if (!snd || snd.resetCode !== undefined || snd.buf.allAcked) return;
    snd.resetCode = code;
    snd.resetPending = true;
    snd.buf.clear();
    this.#sendQueue.delete(id);
    this.#controlQueue.add(id);
  }

  /** Asks the peer to stop sending (STOP_SENDING) and discards incoming data. */
  stopSending(id: number, code: number): void {
    const s = this.#streams.get(id);
    const r = s?.recv;
    if (!r || r.done || r.stopCode !== undefined) return;
    r.stopCode = code;
    r.stopPending = true;
    this.#recvConsumed += r.buf.buffered;
    r.buf.clear();
    r.done = true;
    this.#controlQueue.add(id);
    this.#maybeFreeRecv(s!);
  }

  /** Reads up to `max` bytes; empty array = nothing yet; null = FIN reached (or reset/stopped). */
  read(id: number, max = Infinity): Uint8Array | null {
    const s = this.#streams.get(id);
    if (!s) {
      if (this.#isKnownClosed(id)) return null;
      throw new QuicError(TransportError.STREAM_STATE_ERROR, `stream ${id} does not exist`);
    }
    const r = s.recv;
    if (!r) throw new QuicError(TransportError.STREAM_STATE_ERROR, `stream ${id} is not readable`);
    if (r.resetCode !== undefined || r.stopCode !== undefined) return null;
    const data = r.buf.read(max);
    r.notified = false;
    if (data.length) {
      this.#recvConsumed += data.length;
      this.#maybeStreamUpdate(s);
      this.#maybeConnUpdate();
      return data;
    }
    if (r.finalSize !== undefined && r.buf.readOffset === r.finalSize) {
      if (!r.done) {
        r.done = true;
        this.#maybeFreeRecv(s);
      }
      return null;
    }
    return data;
  }

  #isKnownClosed(id: number): boolean {
    const k = (id & 2) ? 1 : 0;
    const idx = Math.floor(id / 4);
    return this.#isLocal(id) ? idx < this.#nextLocal[k] : idx < this.#nextRemote[k];
  }

  #maybeStreamUpdate(s: Stream): void {
    const r = s.recv!;
    if (r.finalSize !== undefined) return;
    const consumed = r.buf.readOffset;
    if (r.max - consumed < r.window / 2) {
      const now = this.now();
      if (now - r.lastUpdate < 4 * this.rtt() && r.window < this.#limits.maxStreamWindow) {
        r.window = Math.min(r.window * 2, this.#limits.maxStreamWindow);
      }
      r.lastUpdate = now;
      r.max = consumed + r.window;
      r.maxPending = true;
      this.#controlQueue.add(s.id);
    }
  }

  #maybeConnUpdate(): void {
    if (this.#recvMax - this.#recvConsumed < this.#recvWindow / 2) {
      const now = this.now();
      if (
        now - this.#lastConnUpdate < 4 * this.rtt() &&
        this.#recvWindow < this.#limits.maxConnectionWindow
      ) {
        this.#recvWindow = Math.min(this.#recvWindow * 2, this.#limits.maxConnectionWindow);
      }
      this.#lastConnUpdate = now;
      this.#recvMax = this.#recvConsumed + this.#recvWindow;
      this.#maxDataPending = true;
    }
  }

  #maybeFreeRecv(s: Stream): void {
    this.#maybeRemove(s);
  }

  #maybeRemove(s: Stream): void {
    const sendDone = !s.send || s.send.buf.allAcked || s.send.resetAcked;
    const recvDone = !s.recv || (s.recv.done && !s.recv.stopPending);
    if (!sendDone || !recvDone) return;
    if (s.send?.resetPending) return;
    this.#streams.delete(s.id);
    this.#sendQueue.delete(s.id);
    this.#controlQueue.delete(s.id);
    if (!this.#isLocal(s.id)) {
      const k = (s.id & 2) ? 1 : 0;
      this.#closedRemote[k]++;
      this.#maxRemote[k] = this.#closedRemote[k] +
        (k ? this.#limits.maxUniStreams : this.#limits.maxBidiStreams);
      this.#maxStreamsPending[k] = true;
    }
  }

  /** True if stream or connection control frames are waiting. */
  get hasControl(): boolean {
    return this.#controlQueue.size > 0 || this.#maxDataPending || this.#maxStreamsPending[0] ||
      this.#maxStreamsPending[1];
  }
  /** True if STREAM data is waiting and there is something to send. */
  get hasData(): boolean {
    return this.#sendQueue.size > 0;
  }

  /** Writes pending control frames (MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS, RESET_STREAM, STOP_SENDING). */
  writeControl(w: Writer, end: number, sent: SentFrame[]): void {
    if (this.#maxDataPending && end - w.pos >= 9) {
      w.u8(0x10);
      w.varint(this.#recvMax);
      this.#maxDataPending = false;
      sent.push({ t: "max_data" });
    }
    for (let k = 0; k < 2; k++) {
      if (this.#maxStreamsPending[k] && end - w.pos >= 9) {
        w.u8(k ? 0x13 : 0x12);
        w.varint(this.#maxRemote[k]);
        this.#maxStreamsPending[k] = false;
        sent.push({ t: "max_streams", bidi: k === 0 });
      }
    }
    for (const id of this.#controlQueue) {
      if (end - w.pos < 25) return;
      const s = this.#streams.get(id);
      this.#controlQueue.delete(id);
      if (!s) continue;
      const snd = s.send, r = s.recv;
      if (snd?.resetPending) {
        w.u8(0x04);
        w.varint(id);
        w.varint(snd.resetCode!);
        w.varint(snd.buf.writeOffset);
        snd.resetPending = false;
        sent.push({ t: "reset", id });
      }
      if (r?.stopPending) {
        w.u8(0x05);
        w.varint(id);
        w.varint(r.stopCode!);
        r.stopPending = false;
        sent.push({ t: "stop", id });
      }
      if (r?.maxPending && !r.done) {
        w.u8(0x11);
        w.varint(id);
        w.varint(r.max);
        r.maxPending = false;
        sent.push({ t: "max_stream_data", id });
      }
    }
  }

  /** Writes STREAM frames until `end` or no data is left. */
  writeStreams(w: Writer, end: number, sent: SentFrame[]): void {
    for (const id of this.#sendQueue) {
      const room = end - w.pos;
      if (room < 16) return;
      const s = this.#streams.get(id);
      const buf = s?.send?.buf;
      if (!buf || s!.send!.resetCode !== undefined) {
        this.#sendQueue.delete(id);
        continue;
      }
      // header size upper bound: type + id + offset(8) + len(2)
      const hdr = 1 + varintSize(id) + 8 + 2;
      if (room - hdr < 8) return;
      const r = buf.next(room - hdr);
      if (!r) {
        this.#sendQueue.delete(id);
        continue;
      }
      writeStreamHeader(w, id, r.off, r.len, r.fin);
      buf.copy(r.off, r.len, w.buf, w.pos);
      w.pos += r.len;
      sent.push({ t: "stream", id, off: r.off, len: r.len, fin: r.fin });
      // round robin: move to the back
      this.#sendQueue.delete(id);
      if (buf.hasPending) this.#sendQueue.add(id);
      void streamHeaderSize;
    }
  }

  /** A sent frame was acknowledged. */
  onAcked(f: SentFrame): void {
    if (f.t === "stream") {
      const s = this.#streams.get(f.id);
      const snd = s?.send;
      if (!snd || snd.resetCode !== undefined) return;
      snd.buf.ack(f.off, f.len, f.fin);
      if (snd.wantWritable && snd.buf.unacked < this.#limits.sendBufferSize) {
        this.#notifyWritable(s!);
      }
      if (snd.buf.allAcked && !snd.finishedReported) {
        snd.finishedReported = true;
        this.#events.push({ type: "streamFinished", id: f.id });
        this.#maybeRemove(s!);
      }
    } else if (f.t === "reset") {
      const s = this.#streams.get(f.id);
      if (s?.send) {
        s.send.resetAcked = true;
        this.#maybeRemove(s);
      }
    } else if (f.t === "stop") {
      const s = this.#streams.get(f.id);
      if (s) this.#maybeRemove(s);
    }
  }

  /** A sent frame was lost: queue whatever must be resent. */
  onLost(f: SentFrame): void {
    switch (f.t) {
      case "stream": {
        const snd = this.#streams.get(f.id)?.send;
        if (!snd || snd.resetCode !== undefined) return;
        snd.buf.lost(f.off, f.len, f.fin);
        this.#sendQueue.add(f.id);
        return;
      }
      case "max_data":
        this.#maxDataPending = true;
        return;
      case "max_streams":
        this.#maxStreamsPending[f.bidi ? 0 : 1] = true;
        return;
      case "max_stream_data": {
        const r = this.#streams.get(f.id)?.recv;
        if (r && !r.done && r.finalSize === undefined) {
          r.maxPending = true;
          this.#controlQueue.add(f.id);
        }
        return;
      }
      case "reset": {
        const snd = this.#streams.get(f.id)?.send;
        if (snd && !snd.resetAcked) {
          snd.resetPending = true;
          this.#controlQueue.add(f.id);
        }
        return;
      }
      case "stop": {
        const s = this.#streams.get(f.id);
        if (s?.recv && s.recv.finalSize === undefined) {
          s.recv.stopPending = true;
          this.#controlQueue.add(f.id);
        }
        return;
      }
    }
  }

  /** Number of open streams (for tests and diagnostics). */
  get count(): number {
    return this.#streams.size;
  }
}
