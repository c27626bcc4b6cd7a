/**
 * TlsHandshake: the sans-IO TLS 1.3 engine QUIC drives (RFC 9001 §4). The caller feeds the
 * in-order bytes of each level's CRYPTO stream with handleCrypto() and drains events with poll():
 * bytes to send per level, traffic secrets to install, completion, or a fatal alert. There is no
 * record layer. Nothing throws out of handleCrypto(): every failure becomes one "error" event.
 * @module
 */
import { Alert, fail, TlsAlertError } from "./errors.ts";
import { ClientMachine } from "./client.ts";
import type { Machine } from "./machine.ts";
import { ServerMachine } from "./server.ts";
import type {
  CipherSuiteInfo,
  EncryptionLevel,
  TlsClientOptions,
  TlsEvent,
  TlsServerOptions,
} from "./types.ts";
import { concatBytes } from "../../util/bytes.ts";
import { errorText } from "../../util/error_text.ts";

export type * from "./types.ts";
export { CIPHER_SUITES } from "./types.ts";
export { Alert, TlsAlertError } from "./errors.ts";

/** Largest handshake message accepted (certificate chains included). */
export const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

/** Most unprocessed bytes kept per level (one maximal message plus slack). */
const MAX_BUFFERED = MAX_HANDSHAKE_MESSAGE + 64 * 1024;

const LEVELS: EncryptionLevel[] = ["initial", "handshake", "application"];

/** One TLS 1.3 handshake (client or server) for one QUIC connection. */
export class TlsHandshake {
  private readonly machine: Machine;
  private readonly buffers: Record<EncryptionLevel, Uint8Array> = {
    initial: new Uint8Array(0),
    handshake: new Uint8Array(0),
    application: new Uint8Array(0),
  };
  private started = false;
  private failed = false;

  /** Creates the engine; nothing happens until start() (client) or handleCrypto() (server). */
  constructor(opts: TlsClientOptions | TlsServerOptions) {
    this.machine = opts.role === "client" ? new ClientMachine(opts) : new ServerMachine(opts);
  }

  /** Client: queues the ClientHello (a "send" event at "initial"). Server: no-op. Idempotent. */
  start(): void {
    if (this.started || this.failed) return;
    this.started = true;
    this.guard(() => this.machine.start());
  }

  /**
   * Feeds contiguous, in-order CRYPTO stream bytes received at `level`. Messages may be split
   * across calls or several may arrive in one call. Never throws.
   */
  handleCrypto(level: EncryptionLevel, data: Uint8Array): void {
    if (this.failed) return;
    if (!this.started) this.start();
    if (this.failed) return;
    this.guard(() => {
      if (!LEVELS.includes(level)) fail(Alert.internalError, `unknown encryption level ${level}`);
      const old = this.buffers[level];
      if (old.length + data.length > MAX_BUFFERED) {
        fail(
          Alert.unexpectedMessage,
          `more than ${MAX_BUFFERED} unprocessed handshake bytes at ${level} level`,
        );
      }
      this.buffers[level] = old.length ? concatBytes(old, data) : data.slice();
      this.drain();
    });
  }

  /** Next pending event, or undefined when there is none. */
  poll(): TlsEvent | undefined {
    return this.machine.events.shift();
  }

  /** True once the handshake completed successfully. */
  get complete(): boolean {
    return this.machine.complete;
  }

  /** The negotiated ALPN protocol, once known. */
  get alpn(): string | undefined {
    return this.machine.alpn;
  }

  /** The negotiated cipher suite, once known. */
  get cipherSuite(): CipherSuiteInfo | undefined {
    return this.machine.suite;
  }

  /** True after an "error" event; the engine then ignores all input. */
  get failedAlert(): boolean {
    return this.failed;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.failed = true;
      if (e instanceof TlsAlertError) {
        this.machine.events.push({ kind: "error", alert: e.alert, reason: e.message });
      } else {
        this.machine.events.push({
          kind: "error",
          alert: Alert.internalError,
          reason: `internal error: ${errorText(e)}`,
        });
      }
    }
  }

  private drain(): void {
    while (true) {
      const level = this.machine.readLevel;
      // RFC 9001 §4.1.3: once the read level moved on, no bytes may remain at a lower level.
      for (const l of LEVELS) {
        if (l === level) break;
        if (this.buffers[l].length) {
          fail(
            Alert.unexpectedMessage,
            `${this.buffers[l].length} unprocessed bytes at ${l} level after moving to ${level}`,
          );
        }
      }
      const buf = this.buffers[level];
      if (buf.length < 4) return;
      const len = (buf[1] << 16) | (buf[2] << 8) | buf[3];
      if (len > MAX_HANDSHAKE_MESSAGE) {
        fail(Alert.decodeError, `handshake message of ${len} bytes at ${level} level is too large`);
      }
      if (buf.length < 4 + len) return;
      const raw = buf.slice(0, 4 + len);
      this.buffers[level] = buf.subarray(4 + len);
      this.machine.handleMessage(level, raw[0], raw.subarray(4), raw);
    }
  }
}
