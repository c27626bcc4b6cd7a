/**
 * `receptor`: dispatches to the node daemon, the control client, or certificate tooling.
 * `receptor node ...` and the bare upstream forms (`receptor -c FILE`, `receptor --node ...`)
 * start a node; `receptor ctl ...` talks to a control socket; `receptor cert ...` makes
 * certificates.
 * @module
 */
import { runNodeCli } from "./src/cli/node_cli.ts";
import { runCtlCli } from "./src/ctl/cli.ts";
import { runCertCli } from "./src/cli/cert_cli.ts";
import { runCertAction } from "./src/certs/actions.ts";
import { startNode } from "./src/node/node.ts";
import { VERSION } from "./src/version.ts";
import { extractLogFormat } from "./src/cli/log_format.ts";

async function main(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  if (mode === "ctl") return await runCtlCli(rest);
  if (mode === "cert") return await runCertCli(rest);
  if (mode === undefined || /^--?h(elp)?$/i.test(mode)) {
    console.log(
      "receptor node [flags] | receptor ctl --help | receptor cert --help\n" +
        "(the node also accepts upstream's bare form: receptor -c FILE, receptor --node ...)\n",
    );
  }
  const nodeArgs = mode === "node" ? rest : args;
  const { args: argv, format } = extractLogFormat(nodeArgs);
  return await runNodeCli(argv, {
    startNode: (inv) => startNode(inv, { logFormat: format }),
    runCertAction,
    version: VERSION,
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
