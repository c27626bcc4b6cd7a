/**
 * How this program re-executes itself (detached work runners, demo nodes): the compiled
 * binary is run directly; from source or a bundle, via the deno executable with the same
 * entry module and the permissions the node needs.
 * @module
 */

/** argv prefix that starts this same program; append `node ...`, `--command-runner ...` etc. */
export function selfCommand(): string[] {
  const exec = Deno.execPath();
  const base = exec.split("/").pop() ?? exec;
  if (base === "deno" || base === "deno.exe") {
    const main = Deno.mainModule.startsWith("file://")
      ? decodeURIComponent(new URL(Deno.mainModule).pathname)
      : Deno.mainModule;
    return [exec, "run", "--allow-all", "--unstable-net", main];
  }
  return [exec];
}
