/**
 * Running a program from a test: to completion, with optional stdin and a deadline.
 * @module
 */

const dec = new TextDecoder();

/** Result of {@link runTool}. */
export interface ToolResult {
  code: number;
  out: string;
  err: string;
  /** Raw stdout bytes. */
  raw: Uint8Array;
}

/** Run a program to completion (killed after `timeoutMs`), optionally feeding stdin. */
export async function runTool(
  cmd: string,
  args: string[],
  stdin?: string | Uint8Array,
  timeoutMs = 60000,
  env?: Record<string, string>,
  cwd?: string,
): Promise<ToolResult> {
  const p = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const timer = setTimeout(() => {
    try {
      p.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  try {
    if (stdin !== undefined) {
      const w = p.stdin.getWriter();
      await w.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
      await w.close();
    }
    const o = await p.output();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr), raw: o.stdout };
  } finally {
    clearTimeout(timer);
  }
}
