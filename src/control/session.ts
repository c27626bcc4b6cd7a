/**
 * The control-session protocol (control.md §1.5): banner, then one command line at a time,
 * exactly one reply line per command (or a raw mode), over any duplex byte stream — Unix
 * socket, TCP, TLS or a mesh stream all look the same here.
 * @module
 */
import type {
  ControlCommand,
  ControlOutcome,
  ControlRequest,
  ControlSession,
  ControlTransportKind,
} from "./types.ts";
import { ControlError } from "./types.ts";
import { LineReader } from "../util/line_reader.ts";
import { encodeReply } from "./json_reply.ts";
import type { Logger } from "../log.ts";
import type { DuplexConn } from "../streams/duplex.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";

export type { DuplexConn } from "../streams/duplex.ts";

/** What a session needs from the node. */
export interface SessionOptions {
  nodeId: string;
  transport: ControlTransportKind;
  remoteNode?: string;
  commands: ReadonlyMap<string, ControlCommand>;
  logger: Logger;
}

const encoder = new TextEncoder();

/** Parse one command line into a request, or return an error message. */
export function parseCommandLine(line: string): ControlRequest | { error: string } {
  if (line.startsWith("{")) {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      return { error: errorText(e) };
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      return { error: "JSON did not contain a command" };
    }
    const cmd = (obj as Record<string, unknown>).command;
    if (cmd === undefined) return { error: "JSON did not contain a command" };
    if (typeof cmd !== "string") return { error: "command must be a string" };
    return { form: "json", command: cmd, json: obj as Record<string, unknown> };
  }
  const sp = line.indexOf(" ");
  if (sp < 0) return { form: "text", command: line.toLowerCase(), params: "" };
  return { form: "text", command: line.slice(0, sp).toLowerCase(), params: line.slice(sp + 1) };
}

/** Run one control session to completion. Never throws. */
export async function runControlSession(conn: DuplexConn, opts: SessionOptions): Promise<void> {
  const io = sessionIo(conn);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    io.release();
    closeQuietly(conn);
  };
  const write = io.write;
  const session: ControlSession = {
    transport: opts.transport,
    remoteNode: opts.remoteNode,
    writeLine: (line) => write(encoder.encode(line + "\n")),
    write,
    readRest: () => io.reader.rest(),
    rawWritable: () =>
      new WritableStream<Uint8Array>({
        write: (chunk) => write(chunk),
        close: async () => {
          await conn.closeWrite?.();
        },
      }),
    close,
  };
  await serveLines(session, io.reader, opts, () => closed);
  close();
}

/**
 * The session's line reader and writer: the connection's direct `read`/`write` when it has
 * them (Unix and TCP sockets: no web streams on a plain `status`), else its streams.
 */
function sessionIo(conn: DuplexConn): {
  reader: LineReader;
  write: (bytes: Uint8Array) => Promise<void>;
  release: () => void;
} {
  if (conn.read && conn.write) {
    const read = conn.read.bind(conn);
    return { reader: new LineReader({ read }), write: conn.write.bind(conn), release: () => {} };
  }
  const writer = conn.writable.getWriter();
  const reader = new LineReader(conn.readable);
  return {
    reader,
    write: (bytes) => writer.write(bytes),
    release: () => {
      writer.releaseLock();
      reader.cancel();
    },
  };
}

/** Read command lines and write one reply each until EOF, a close, or a raw mode's end. */
async function serveLines(
  session: ControlSession,
  reader: LineReader,
  opts: SessionOptions,
  isClosed: () => boolean,
): Promise<void> {
  try {
    await session.writeLine(`Receptor Control, node ${opts.nodeId}`);
    while (!isClosed()) {
      const line = await reader.readLine();
      if (line === null) break;
      if (line === "") continue;
      const req = parseCommandLine(line);
      let outcome: ControlOutcome;
      if ("error" in req) {
        outcome = { kind: "error", message: req.error };
      } else {
        const cmd = opts.commands.get(req.command);
        if (!cmd) {
          outcome = { kind: "error", message: "Unknown command" };
        } else {
          try {
            outcome = await cmd.run(session, req);
          } catch (e) {
            if (!(e instanceof ControlError)) {
              opts.logger.error(`control command ${req.command} failed: ${e}`);
            }
            outcome = { kind: "error", message: errorText(e) };
          }
        }
      }
      if (isClosed()) break;
      if (outcome.kind === "reply") await session.writeLine(encodeReply(outcome.value));
      else if (outcome.kind === "error") await session.writeLine(`ERROR: ${outcome.message}`);
      else if (outcome.close) break;
    }
  } catch (e) {
    opts.logger.debug(`control session ended: ${errorText(e)}`);
  }
}
