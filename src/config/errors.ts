/**
 * `ConfigError`: every problem found in configuration files, command-line flags or section
 * validation. `upstream` holds Go receptor's exact text; `message` adds where the problem is
 * (file, directive) when upstream's text does not say, always keeping the upstream phrase whole.
 * @module
 */

/** Where a {@link ConfigError} came from (decides how the one-line text is built). */
export type ConfigErrorOrigin = "file" | "cli" | "section";

/** Options for {@link ConfigError}. */
export interface ConfigErrorInit {
  /** Config file involved, if any. */
  file?: string;
  /** Section (directive) name involved, if any. */
  section?: string;
  /** Field (key) involved, if any. */
  field?: string;
  /**
   * The offending value: when set (with `field`), a section error's location also names
   * `field: value`, e.g. `(tcp-listener from a.yaml, port: 70000)`.
   */
  value?: string | number;
  /** Where the section came from (`x.yaml` or `--tcp-listener`), for validation errors. */
  source?: string;
  origin?: ConfigErrorOrigin;
}

/** A configuration error; print `Error: ${err.toString()}` and exit 1. */
export class ConfigError extends Error {
  /** Config file involved, if any. */
  readonly file?: string;
  /** Section name involved, if any. */
  readonly section?: string;
  /** Field (key) involved, if any. */
  readonly field?: string;
  /** Go receptor's text for this error (without our location additions). */
  readonly upstream: string;
  readonly origin: ConfigErrorOrigin;

  constructor(upstream: string, init: ConfigErrorInit = {}) {
    super(render(upstream, init));
    this.name = "ConfigError";
    this.upstream = upstream;
    this.file = init.file;
    this.section = init.section;
    this.field = init.field;
    this.origin = init.origin ?? (init.file !== undefined ? "file" : "cli");
  }

  /** The one-line text (what follows `Error: `). */
  override toString(): string {
    return this.message;
  }
}

function render(upstream: string, init: ConfigErrorInit): string {
  const origin = init.origin ?? (init.file !== undefined ? "file" : "cli");
  if (origin === "file") {
    const prefix = "error loading config file: ";
    const body = upstream.startsWith(prefix) ? upstream.slice(prefix.length) : upstream;
    if (init.file === undefined || body.includes(init.file)) return prefix + body;
    return `${prefix}${init.file}: ${body}`;
  }
  if (origin === "section") {
    let where = init.section ?? "";
    if (init.source?.startsWith("implicit ")) where = init.source;
    else if (init.source && init.source.startsWith("-")) where += " on the command line";
    else if (init.source) where += ` from ${init.source}`;
    where = where.trim();
    if (init.field !== undefined && init.value !== undefined) {
      where += `${where ? ", " : ""}${init.field}: ${init.value}`;
    }
    return where ? `${upstream} (${where})` : upstream;
  }
  if (init.source && !upstream.includes(init.source)) return `${upstream} (in ${init.source})`;
  return upstream;
}
