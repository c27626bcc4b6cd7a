/**
 * `receptor ctl status --watch`: the status redrawn every few seconds until Ctrl-C (or
 * `--count` rounds). On a terminal the screen is cleared and redrawn in place; piped, each
 * round is appended (with `--json`, one JSON object per line). A failed round (the node
 * restarting, say) prints the error and tries again on the next tick with a new connection.
 * @module
 */
import type { ReceptorClient } from "./client.ts";
import { formatStatus } from "./format_status.ts";
import { errorText } from "../util/error_text.ts";

/** Options of {@link watchStatus}. */
export interface WatchOptions {
  io: { out(text: string): void; err(text: string): void };
  json: boolean;
  /** Time between rounds. */
  intervalMs: number;
  /** Rounds to draw before returning (Infinity: until interrupted). */
  count: number;
  /** Whether stdout is a terminal (default Deno.stdout.isTerminal()). */
  isTerminal?: () => boolean;
}

const CLEAR = "\x1b[H\x1b[2J";

/** Draw the status `opts.count` times, `opts.intervalMs` apart; returns the exit code. */
export async function watchStatus(
  first: ReceptorClient,
  reconnect: () => Promise<ReceptorClient>,
  opts: WatchOptions,
): Promise<number> {
  if (!(opts.intervalMs > 0) || !(opts.count > 0)) {
    opts.io.err("Error: --interval and --count must be positive numbers\n");
    return 1;
  }
  const tty = opts.isTerminal ? opts.isTerminal() : Deno.stdout.isTerminal();
  let client: ReceptorClient | null = first;
  let failures = 0;
  for (let round = 0; round < opts.count; round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, opts.intervalMs));
    try {
      client ??= await reconnect();
      const s = await client.status();
      failures = 0;
      if (opts.json) opts.io.out(JSON.stringify(s) + "\n");
      else {
        const head = `Every ${opts.intervalMs / 1000} s: receptor ctl status` +
          `    ${new Date().toISOString()}\n\n`;
        opts.io.out((tty ? CLEAR : round > 0 ? "\n" : "") + head + formatStatus(s));
      }
    } catch (e) {
      failures++;
      opts.io.err(`Error: ${errorText(e)} (retrying)\n`);
      if (client && client !== first) client.close();
      client = null;
    }
  }
  if (client && client !== first) client.close();
  return failures > 0 ? 1 : 0;
}
