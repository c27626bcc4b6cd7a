/**
 * `receptor cert init|makereq|signreq` with GNU-style options, a friendlier front end to the
 * same actions as the v1 `--cert-init` / `--cert-makereq` / `--cert-signreq` directives.
 * Errors print `Error: <message>` on stdout and return exit status 1.
 * @module
 */

import { errorText } from "../util/error_text.ts";
import {
  certInit,
  certMakeReq,
  certSignReq,
  type PromptIo,
  stdioPrompt,
} from "../certs/actions.ts";

/** Output and input used by the CLI (injectable for tests). */
export interface CertCliIo {
  /** Write text to stdout (no newline added). */
  stdout(text: string): void;
  /** Prompt for `signreq` confirmation. */
  prompt: PromptIo;
}

const defaultIo: CertCliIo = {
  stdout: (t) => {
    Deno.stdout.writeSync(new TextEncoder().encode(t));
  },
  prompt: stdioPrompt,
};

interface OptSpec {
  type: "string" | "int" | "list" | "bool";
  required?: boolean;
  help: string;
}

const COMMANDS: Record<string, { summary: string; opts: Record<string, OptSpec> }> = {
  init: {
    summary: "Initialize PKI CA (like --cert-init)",
    opts: {
      commonname: {
        type: "string",
        required: true,
        help: "Common name to assign to the certificate",
      },
      bits: { type: "int", required: true, help: "Bit length of the RSA key (0 means 2048)" },
      notbefore: { type: "string", help: "Effective (NotBefore) date/time, RFC 3339" },
      notafter: { type: "string", help: "Expiration (NotAfter) date/time, RFC 3339" },
      outcert: { type: "string", required: true, help: "File to save the CA certificate to" },
      outkey: { type: "string", required: true, help: "File to save the CA private key to" },
    },
  },
  makereq: {
    summary: "Create certificate request (like --cert-makereq)",
    opts: {
      commonname: {
        type: "string",
        required: true,
        help: "Common name to assign to the certificate",
      },
      bits: { type: "int", help: "Bit length of a new RSA key (with --outkey)" },
      dnsname: { type: "list", help: "DNS name to add (repeatable)" },
      ipaddress: { type: "list", help: "IP address to add (repeatable)" },
      nodeid: { type: "list", help: "Receptor node ID to add (repeatable)" },
      outreq: { type: "string", required: true, help: "File to save the certificate request to" },
      inkey: { type: "string", help: "Private key to use for the request" },
      outkey: { type: "string", help: "File to save a newly generated private key to" },
    },
  },
  signreq: {
    summary: "Sign request and produce certificate (like --cert-signreq)",
    opts: {
      req: { type: "string", required: true, help: "Certificate request PEM file" },
      cacert: { type: "string", required: true, help: "CA certificate PEM file" },
      cakey: { type: "string", required: true, help: "CA private key PEM file" },
      notbefore: { type: "string", help: "Effective (NotBefore) date/time, RFC 3339" },
      notafter: { type: "string", help: "Expiration (NotAfter) date/time, RFC 3339" },
      outcert: { type: "string", required: true, help: "File to save the signed certificate to" },
      verify: { type: "bool", help: "Do not prompt for confirmation" },
    },
  },
};

function usage(cmd?: string): string {
  if (!cmd || !COMMANDS[cmd]) {
    return "Usage: receptor cert <command> [options]\n\nCommands:\n" +
      Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}\n`).join("") +
      "\nRun 'receptor cert <command> --help' for the options of a command.\n";
  }
  const c = COMMANDS[cmd];
  return `Usage: receptor cert ${cmd} [options]\n${c.summary}\n\nOptions:\n` +
    Object.entries(c.opts).map(([n, o]) => {
      const arg = o.type === "bool" ? "" : o.type === "int" ? " <int>" : " <value>";
      const tags = [o.required ? "required" : "", o.type === "list" ? "repeatable" : ""].filter(
        Boolean,
      );
      return `  --${n}${arg}`.padEnd(28) +
        ` ${o.help}${tags.length ? ` (${tags.join(", ")})` : ""}\n`;
    }).join("") + "  --help".padEnd(28) + " Show this help\n";
}

class UsageError extends Error {}

function parseIntGo(s: string, name: string): number {
  const t = s.replaceAll("_", "");
  const m = t.match(/^([+-]?)(0x[0-9a-f]+|0o[0-7]+|0b[01]+|0[0-7]*|[1-9]\d*)$/i);
  if (!m) throw new UsageError(`invalid value ${JSON.stringify(s)} for --${name}: not an integer`);
  const body = m[2];
  let v: number;
  if (/^0[0-7]+$/.test(body)) v = parseInt(body.slice(1), 8);
  else if (/^0o/i.test(body)) v = parseInt(body.slice(2), 8);
  else if (/^0b/i.test(body)) v = parseInt(body.slice(2), 2);
  else v = Number(body);
  return m[1] === "-" ? -v : v;
}

function parseBool(s: string, name: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True", "y", "Y", "yes", "Yes", "YES"].includes(s)) {
    return true;
  }
  if (["0", "f", "F", "FALSE", "false", "False", "n", "N", "no", "No", "NO"].includes(s)) {
    return false;
  }
  throw new UsageError(`invalid value ${JSON.stringify(s)} for --${name}: not a boolean`);
}

function parseOptions(cmd: string, args: string[]): Record<string, unknown> | "help" {
  const spec = COMMANDS[cmd].opts;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return "help";
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf("=");
    const name = (eq === -1 ? a.slice(2) : a.slice(2, eq)).toLowerCase();
    const o = spec[name];
    if (!o) throw new UsageError(`unknown option --${name} for cert ${cmd}`);
    let value: string | undefined = eq === -1 ? undefined : a.slice(eq + 1);
    if (o.type === "bool") {
      out[name] = value === undefined ? true : parseBool(value, name);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`option --${name} needs a value`);
      value = args[++i];
    }
    if (o.type === "list") out[name] = [...((out[name] as string[]) ?? []), value];
    else if (o.type === "int") out[name] = parseIntGo(value, name);
    else out[name] = value;
  }
  const missing = Object.entries(spec).filter(([n, o]) => o.required && out[n] === undefined).map((
    [n],
  ) => `--${n}`);
  if (missing.length) {
    throw new UsageError(
      `required option${missing.length > 1 ? "s" : ""} missing: ${missing.join(", ")}`,
    );
  }
  return out;
}

/**
 * Run `receptor cert ...`. `args` are the words after `cert` (a leading `cert` is tolerated).
 * Returns the exit status (0 success or help, 1 error).
 */
export async function runCertCli(args: string[], io: CertCliIo = defaultIo): Promise<number> {
  const rest = args[0] === "cert" ? args.slice(1) : args;
  const cmd = rest[0];
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    io.stdout(usage());
    return 0;
  }
  try {
    if (!COMMANDS[cmd]) throw new UsageError(`unknown cert command ${JSON.stringify(cmd)}`);
    const o = parseOptions(cmd, rest.slice(1));
    if (o === "help") {
      io.stdout(usage(cmd));
      return 0;
    }
    const s = (k: string) => o[k] as string | undefined;
    const l = (k: string) => (o[k] as string[] | undefined) ?? [];
    if (cmd === "init") {
      await certInit({
        commonname: s("commonname")!,
        bits: o.bits as number,
        notbefore: s("notbefore"),
        notafter: s("notafter"),
        outcert: s("outcert")!,
        outkey: s("outkey")!,
      });
    } else if (cmd === "makereq") {
      await certMakeReq({
        commonname: s("commonname")!,
        bits: o.bits as number | undefined,
        dnsname: l("dnsname"),
        ipaddress: l("ipaddress"),
        nodeid: l("nodeid"),
        outreq: s("outreq")!,
        inkey: s("inkey"),
        outkey: s("outkey"),
      });
    } else {
      await certSignReq({
        req: s("req")!,
        cacert: s("cacert")!,
        cakey: s("cakey")!,
        notbefore: s("notbefore"),
        notafter: s("notafter"),
        outcert: s("outcert")!,
        verify: !!o.verify,
      }, io.prompt);
    }
    return 0;
  } catch (e) {
    io.stdout(`Error: ${errorText(e)}\n`);
    return 1;
  }
}
