/**
 * Where the receptorctl commands write, and how a failed command ends.
 * @module
 */
import { errorText } from "../util/error_text.ts";

/** Where the CLI writes; injectable for tests. */
export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Ends a failed command: writes `ERROR: <text>` (a control-service refusal is its reply text)
 * and returns exit status 1.
 */
export function reportFailure(io: CtlIo, e: unknown): number {
  io.err(`ERROR: ${errorText(e)}\n`);
  return 1;
}
