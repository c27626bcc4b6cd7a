/**
 * The seam between control transports (unix, tcp, tls, mesh) and control commands.
 * A transport produces a {@link ControlSession}; the session loop reads command lines and
 * dispatches to {@link ControlCommand}s, which reply through the session.
 * @module
 */

/** Which transport a session arrived on. Unix-socket sessions are trusted (no signature checks). */
export type ControlTransportKind = "unix" | "tcp" | "tls" | "mesh";

/** One client connection to the control service, after the banner was sent. */
export interface ControlSession {
  readonly transport: ControlTransportKind;
  /** For mesh sessions, the node the client connected from. */
  readonly remoteNode?: string;
  /** Write one reply line; `\n` is appended. */
  writeLine(line: string): Promise<void>;
  /** Write raw bytes (results streaming, connect bridging). */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * The rest of the client's byte stream after the current command line (bytes already
   * buffered past the newline come first). Used for `work submit` payloads and `connect`.
   * Ends at the client's half-close.
   */
  readRest(): ReadableStream<Uint8Array>;
  /** The raw writable side (for bridging); closing it half-closes toward the client. */
  rawWritable(): WritableStream<Uint8Array>;
  /** Close the session (after raw modes). */
  close(): void;
}

/** Parsed command line: text form (`params` = rest of the line) or a JSON object. */
export type ControlRequest =
  | { form: "text"; command: string; params: string }
  | { form: "json"; command: string; json: Record<string, unknown> };

/**
 * What a command did: a reply value to JSON-encode as one line, an error (sent as
 * `ERROR: <message>`), or `raw` when the command already wrote everything (then the session
 * ends if `close` is true).
 */
export type ControlOutcome =
  | { kind: "reply"; value: unknown }
  | { kind: "error"; message: string }
  | { kind: "raw"; close: boolean };

/** A control command, registered by name (lower case). */
export interface ControlCommand {
  readonly name: string;
  run(session: ControlSession, request: ControlRequest): Promise<ControlOutcome>;
}

/** Thrown by commands to produce an `ERROR: <message>` reply. */
export class ControlError extends Error {}
