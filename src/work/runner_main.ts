/**
 * The detached command runner's own small entry (control.md §5.3): `main.ts` hands argv here
 * as soon as it sees `--command-runner`, before anything else is loaded, so a unit's start
 * costs the runtime's start plus this module's few imports (no config parser, mesh, TLS or
 * work engine). The argv keeps upstream's hidden directive form
 * (`--node id=worker --log-level <lvl> --command-runner command=<c> params=<p> unitdir=<d>`),
 * which is also how a restarted node recognises its runners in `/proc/<pid>/cmdline`.
 * @module
 */
import { errorText } from "../util/error_text.ts";
import { Logger, type LogLevel, parseLogLevel } from "../log.ts";
import { parseCommandRunnerArgs, runCommandRunner } from "./command_runner.ts";

/** The directive flag that selects this entry. */
export const RUNNER_FLAG = "--command-runner";

/** True if `args` ask for the detached command runner. */
export function isRunnerArgv(args: readonly string[]): boolean {
  return args.some((a) => a.toLowerCase() === RUNNER_FLAG);
}

/** Level named by `--log-level X` / `--log-level level=X` (info when absent or unknown). */
function levelOf(args: readonly string[]): LogLevel {
  const i = args.findIndex((a) => a.toLowerCase() === "--log-level");
  const v = i >= 0 ? (args[i + 1] ?? "") : "";
  try {
    return parseLogLevel(v.replace(/^level=/i, ""));
  } catch {
    return "info";
  }
}

/**
 * Run the runner directive in `args`; resolves to the exit code (255 with one error line when
 * the directive is malformed, like any runner failure).
 */
export async function runnerMain(args: readonly string[]): Promise<number> {
  const logger = new Logger({ level: levelOf(args) });
  const at = args.findIndex((a) => a.toLowerCase() === RUNNER_FLAG);
  const tokens: string[] = [];
  for (const t of args.slice(at + 1)) {
    if (t.startsWith("-")) break; // the next flag
    tokens.push(t);
  }
  let p;
  try {
    p = parseCommandRunnerArgs(tokens);
  } catch (e) {
    console.log(`Error: ${errorText(e)}`);
    return 1;
  }
  return await runCommandRunner({ ...p, logger });
}
