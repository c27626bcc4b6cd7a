/**
 * `receptor`: dispatches to the node daemon, the control client, or certificate tooling.
 * `receptor node ...` and the bare upstream forms (`receptor -c FILE`, `receptor --node ...`)
 * start a node; `receptor ctl ...` talks to a control socket; `receptor cert ...` makes
 * certificates; the hidden `--command-runner` directive runs one detached work unit.
 *
 * Every mode is loaded with `import()` only when chosen, so `--version`, `ctl`, `cert` and the
 * work runner do not load the mesh, QUIC, TLS, the work engine or the npm libraries. `deno
 * bundle --code-splitting` keeps each mode in its own chunk (see the `bundle` task) and
 * `deno compile` embeds them all.
 * @module
 */
import { VERSION } from "./src/version.ts";

const USAGE = "receptor node [flags] | receptor ctl --help | receptor cert --help\n" +
  "(the node also accepts upstream's bare form: receptor -c FILE, receptor --node ...)\n";

/** Arguments that only print or run a certificate action: no node starts. */
const NO_NODE = /^--?(h(elp)?|version|bash-completion|cert-[\w-]+)$/i;

async function runNode(args: string[]): Promise<number> {
  // The node's modules are requested together with the command line's, so that a node start
  // loads its chunks in one wave instead of waiting for each after the config is parsed.
  const nodeModule = args.some((a) => NO_NODE.test(a)) ? null : import("./src/node/node.ts");
  nodeModule?.catch(() => {}); // a failure is reported where it is awaited
  const [{ runNodeCli }, { extractLogFormat }] = await Promise.all([
    import("./src/cli/node_cli.ts"),
    import("./src/cli/log_format.ts"),
  ]);
  const { args: argv, format } = extractLogFormat(args);
  return await runNodeCli(argv, {
    startNode: async (inv) => {
      const { startNode } = await (nodeModule ?? import("./src/node/node.ts"));
      return await startNode(inv, { logFormat: format });
    },
    runCertAction: async (section) => {
      const { runCertAction } = await import("./src/certs/actions.ts");
      await runCertAction(section);
    },
    version: VERSION,
  });
}

async function main(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  if (mode === "ctl") return await (await import("./src/ctl/cli.ts")).runCtlCli(rest);
  if (mode === "cert") return await (await import("./src/cli/cert_cli.ts")).runCertCli(rest);
  const nodeArgs = mode === "node" ? rest : args;
  if (nodeArgs.length === 1 && /^--?version$/i.test(nodeArgs[0])) {
    console.log(VERSION); // the common case, without loading the config parser
    return 0;
  }
  if (nodeArgs.some((a) => a.toLowerCase() === "--command-runner")) {
    return await (await import("./src/work/runner_main.ts")).runnerMain(nodeArgs);
  }
  if (mode === undefined || /^--?h(elp)?$/i.test(mode)) console.log(USAGE);
  return await runNode(nodeArgs);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
