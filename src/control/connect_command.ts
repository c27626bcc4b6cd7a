/**
 * `connect <node> <service> [<tlsclient>]` (control.md §2.3): dial a mesh stream service and
 * bridge the control connection to it byte for byte.
 * @module
 */
import type { ControlCommand } from "./types.ts";
import { ControlError } from "./types.ts";
import type { DuplexConn } from "./session.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** Dials a stream service on a node; rejects with a message on failure. */
export type StreamDialer = (
  node: string,
  service: string,
  tlsClient: string,
) => Promise<DuplexConn>;

/** Build the `connect` command over `dial` (null while streams are unavailable). */
export function connectCommand(dial: StreamDialer | null): ControlCommand {
  return {
    name: "connect",
    async run(session, req) {
      let node: unknown, service: unknown, tls: unknown = "";
      if (req.form === "text") {
        const tokens = req.params === "" ? [] : req.params.split(" ");
        if (tokens.length < 2) throw new ControlError("no connect target");
        if (tokens.length > 3) throw new ControlError("too many parameters");
        [node, service, tls = ""] = tokens;
      } else {
        node = req.json.node;
        service = req.json.service;
        tls = req.json.tls ?? "";
        if (node === undefined || service === undefined) {
          throw new ControlError("no connect target");
        }
        if (typeof node !== "string" || typeof service !== "string" || typeof tls !== "string") {
          throw new ControlError("connect parameters must be strings");
        }
      }
      if (!dial) throw new ControlError("stream connections are not available on this node");
      let remote: DuplexConn;
      try {
        remote = await dial(node as string, service as string, tls as string);
      } catch (e) {
        throw new ControlError(errorText(e));
      }
      await session.writeLine("Connecting");
      const up = session.readRest().pipeTo(remote.writable).catch(() => {});
      const down = remote.readable.pipeTo(session.rawWritable()).catch(() => {});
      await Promise.race([up.then(() => down), down]);
      closeQuietly(remote);
      return { kind: "raw", close: true };
    },
  };
}
