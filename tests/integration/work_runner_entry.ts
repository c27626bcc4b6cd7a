/**
 * Test-only entry point for the detached command runner: accepts the same argv as the real
 * hidden directive (`--node id=worker --log-level <l> --command-runner k=v…`) and exits with
 * runCommandRunner's code. Used until main.ts wires the directive.
 * @module
 */
import { parseCommandRunnerArgs, runCommandRunner } from "../../src/work/command_runner.ts";
import { Logger, parseLogLevel } from "../../src/log.ts";

const args = Deno.args;
const at = args.indexOf("--command-runner");
const lvl = args.indexOf("--log-level");
const level = lvl >= 0 ? parseLogLevel(args[lvl + 1]) : "info";
const p = parseCommandRunnerArgs(args.slice(at + 1));
const killAfter = Deno.env.get("WORK_TEST_KILL_AFTER_MS");
Deno.exit(
  await runCommandRunner({
    ...p,
    logger: new Logger({ level }),
    killAfterMs: killAfter ? Number(killAfter) : undefined,
  }),
);
