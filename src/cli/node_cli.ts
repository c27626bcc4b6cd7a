/**
 * The node command line (v1, spec §2): parse arguments, print help / completion / version,
 * run a certificate action, or hand a typed invocation to the node. Errors are printed as
 * `Error: <message>` on stdout with exit status 1, like upstream.
 * @module
 */

import { ConfigError } from "../config/errors.ts";
import type { ReadFile } from "../config/file_loader.ts";
import { parseInvocation } from "../config/invocation.ts";
import type { CertAction, Invocation } from "../config/types.ts";

/** What {@link runNodeCli} needs from the rest of the program. */
export interface NodeCliDeps {
  /** Start the node; resolves to the process exit code. May throw ConfigError (printed). */
  startNode(inv: Extract<Invocation, { kind: "node" }>): Promise<number>;
  /** Run `cert-init` / `cert-makereq` / `cert-signreq`; throw to fail (message printed). */
  runCertAction(section: CertAction): Promise<void>;
  /** Version string printed by `--version` ("" prints `Version unknown`). */
  version: string;
  /** Writes text to stdout (default: `Deno.stdout`). */
  stdout?: (text: string) => void;
  /** Program name for help and completion (default `receptor`). */
  progName?: string;
  /** Reads config files (default `Deno.readTextFileSync`). */
  readFile?: ReadFile;
}

/** The argument that selects upstream's experimental v2 front end. */
export const CONFIG_V2_FLAG = "--config-v2";

const encoder = new TextEncoder();

function defaultStdout(text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/** One line for an error: ConfigError's text, else the error message. */
export function errorLine(e: unknown): string {
  if (e instanceof ConfigError) return e.toString();
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Run the v1 node command line with `argv` (without the program name). Resolves to the exit
 * code: 0 for help/completion/version/action success, 1 for any error, otherwise what
 * `deps.startNode` returns.
 *
 * @example
 * const code = await runNodeCli(Deno.args, { startNode, runCertAction, version: VERSION });
 * Deno.exit(code);
 */
export async function runNodeCli(argv: string[], deps: NodeCliDeps): Promise<number> {
  const out = deps.stdout ?? defaultStdout;
  if (argv.includes(CONFIG_V2_FLAG)) {
    out("Running v2 cli/config\n");
    out(
      "Error: the v2 configuration front end (--config-v2) is not supported yet; " +
        "use the v1 format (a YAML list of sections, or --<section> flags)\n",
    );
    return 1;
  }
  let inv: Invocation;
  try {
    inv = parseInvocation(argv, { readFile: deps.readFile, progName: deps.progName });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    out(`Error: ${errorLine(e)}\n`);
    return 1;
  }
  switch (inv.kind) {
    case "help":
    case "bash-completion":
      out(inv.text);
      return 0;
    case "version":
      out(deps.version === "" ? "Version unknown\n" : `${deps.version}\n`);
      return 0;
    case "action":
      try {
        await deps.runCertAction(inv.section);
        return 0;
      } catch (e) {
        out(`Error: ${errorLine(e)}\n`);
        return 1;
      }
    case "node":
      try {
        return await deps.startNode(inv);
      } catch (e) {
        // Any start-up failure (config, control socket lock, bind error) is one Error: line.
        out(`Error: ${errorLine(e)}\n`);
        return 1;
      }
  }
}
