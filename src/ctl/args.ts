/**
 * A small GNU-style argument parser for `receptor ctl` and `receptor cert`: `--name value`,
 * `--name=value`, boolean flags, repeatable options, and positionals.
 * @module
 */

/** Declares which options take values and which repeat. */
export interface ArgSpec {
  /** Options that take a value (without leading dashes); aliases map short → long. */
  values?: string[];
  /** Boolean flags. */
  flags?: string[];
  /** Options that may repeat (collected into arrays). */
  repeat?: string[];
  /** Short aliases, e.g. `{ p: "payload" }`. */
  aliases?: Record<string, string>;
}

/** Parsed arguments. */
export interface ParsedArgs {
  opts: Record<string, string | boolean | string[]>;
  positionals: string[];
}

/** Parse `args` per `spec`; throws with a clear message on unknown options. */
export function parseArgs(args: string[], spec: ArgSpec): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const flags = new Set(spec.flags ?? []);
  const repeat = new Set(spec.repeat ?? []);
  const opts: ParsedArgs["opts"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    let name = a.replace(/^--?/, "");
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = spec.aliases?.[name] ?? name;
    if (flags.has(name)) {
      opts[name] = value === undefined ? true : !/^(false|no|0|off)$/i.test(value);
    } else if (values.has(name) || repeat.has(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new Error(`option --${name} needs a value`);
        value = args[++i];
      }
      if (repeat.has(name)) {
        const cur = opts[name];
        opts[name] = Array.isArray(cur) ? [...cur, value] : [value];
      } else opts[name] = value;
    } else {
      throw new Error(`unknown option ${a}`);
    }
  }
  return { opts, positionals };
}
