/**
 * Our one addition to upstream's node flags: `--log-format text|json` (or the
 * `RECEPTOR_LOG_FORMAT` environment variable) selects plain upstream-style lines or one JSON
 * object per line. It is removed from argv before the upstream parser sees it.
 * @module
 */
import type { LogFormat } from "../log.ts";

/** Remove `--log-format X` / `--log-format=X` from `args`; return the rest and the format. */
export function extractLogFormat(args: string[]): { args: string[]; format: LogFormat } {
  let format = (Deno.env.get("RECEPTOR_LOG_FORMAT") ?? "text") as string;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--?log-format(?:=(.*))?$/i.exec(a);
    if (!m) {
      out.push(a);
      continue;
    }
    format = m[1] ?? args[++i] ?? "";
  }
  if (format !== "text" && format !== "json") {
    throw new Error(`--log-format must be text or json, not ${JSON.stringify(format)}`);
  }
  return { args: out, format };
}
