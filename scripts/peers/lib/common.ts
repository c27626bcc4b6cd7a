/**
 * What every test-peer installer in scripts/peers/ shares: the repository root, the test cache
 * dir, running a program, installing a Debian package when a tool is missing, and the one-line
 * report. (This file sits in lib/ so scripts/test_setup.ts does not run it as an installer.)
 * @module
 */

/** The repository root (absolute, with a trailing slash). */
export const REPO_ROOT = new URL("../../../", import.meta.url).pathname;

/** Where slow builds are cached: $RECEPTOR_TEST_CACHE, default $HOME/.cache/receptor-deno. */
export function testCacheDir(): string {
  const env = Deno.env.get("RECEPTOR_TEST_CACHE");
  if (env) return env;
  return `${Deno.env.get("HOME") ?? "/tmp"}/.cache/receptor-deno`;
}

/** Result of {@link run}. */
export interface RunResult {
  ok: boolean;
  out: string;
}

/** Runs a program to completion; stdout and stderr are captured together in `out`. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  try {
    const o = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { ok: o.success, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
  } catch (e) {
    return { ok: false, out: `${cmd}: ${(e as Error).message}` };
  }
}

/** The first `name` on PATH (or in `extraDirs`), or null. */
export function onPath(name: string, extraDirs: string[] = []): string | null {
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), ...extraDirs]) {
    try {
      if (dir && Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return null;
}

/** Installs Debian packages with apt-get (running `apt-get update` once if the first try fails). */
export async function aptInstall(...pkgs: string[]): Promise<RunResult> {
  if (!onPath("apt-get")) return { ok: false, out: `no apt-get to install ${pkgs.join(" ")}` };
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const first = await run("apt-get", ["install", "-y", "-q", ...pkgs], { env });
  if (first.ok) return first;
  await run("apt-get", ["update", "-q"], { env });
  return await run("apt-get", ["install", "-y", "-q", ...pkgs], { env });
}

/** Last few lines of a tool's output, on one line (for a failure report). */
export function tail(out: string, lines = 3): string {
  return out.trim().split("\n").slice(-lines).join(" | ");
}

/** Ends an installer: prints the failure as one line and exits non-zero. */
export function fail(peer: string, why: string): never {
  console.error(`${peer}: FAILED: ${why}`);
  Deno.exit(1);
}
