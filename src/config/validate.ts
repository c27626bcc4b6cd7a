/**
 * Start-up checks that upstream makes while running its Init, Prepare and Run phases but that
 * need no I/O: node ID, log level, costs, TLS references and fingerprints, service names,
 * work types, signing. Run in phase order over all sections, so the first error reported is
 * the one upstream would report (I/O failures aside).
 * @module
 */

import { parseLogLevel } from "../log.ts";
import { ConfigError } from "./errors.ts";
import { parseGoDuration } from "../gocompat/duration.ts";
import type {
  NodeSection,
  Section,
  SectionKind,
  SectionOf,
  TlsClientSection,
  TlsServerSection,
} from "./types.ts";
import { errorText } from "../util/error_text.ts";

/** The `node` section (always present in a node invocation). */
export function nodeSection(sections: readonly Section[]): NodeSection {
  const n = sections.find((s) => s.kind === "node");
  if (!n) throw new ConfigError("no node section");
  return n as NodeSection;
}

/** All instances of one kind, in collection order. */
export function sectionsOf<K extends SectionKind>(
  sections: readonly Section[],
  kind: K,
): SectionOf<K>[] {
  return sections.filter((s) => s.kind === kind) as SectionOf<K>[];
}

/** Section kinds that count as backends for "nothing to do" (§2.6). */
export const BACKEND_KINDS: readonly SectionKind[] = [
  "tcp-listener",
  "tcp-peer",
  "udp-listener",
  "udp-peer",
  "ws-listener",
  "ws-peer",
  "local-only",
];

/** Section kinds that `reload` may change (§4.6). */
export const RELOADABLE_KINDS: readonly SectionKind[] = BACKEND_KINDS;

/** True when at least one backend (or `local-only`) is configured (§2.6). */
export function hasBackend(sections: readonly Section[]): boolean {
  return sections.some((s) => BACKEND_KINDS.includes(s.kind));
}

/**
 * The node ID to use: the configured one, or the host name when empty. Throws upstream's
 * errors for a `localhost` host name or the reserved ID `localhost`.
 */
export function effectiveNodeId(
  node: NodeSection,
  hostname: () => string = () => Deno.hostname(),
): string {
  let id = node.id;
  if (id === "") {
    const host = hostname();
    const lc = host.toLowerCase();
    if (lc === "localhost" || lc.startsWith("localhost.")) {
      throw err(node, "no node ID specified and local host name is localhost");
    }
    id = host;
  }
  if (id.toLowerCase() === "localhost") throw err(node, 'node ID "localhost" is reserved');
  return id;
}

/** Go's `os.Stat` error text. */
function goStatError(path: string, e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return `stat ${path}: no such file or directory`;
  if (e instanceof Deno.errors.PermissionDenied) return `stat ${path}: permission denied`;
  return `stat ${path}: ${errorText(e)}`;
}

function err(s: Section, msg: string, field?: string, value?: string | number): ConfigError {
  return sectionConfigError(s, msg, field, value);
}

/**
 * A {@link ConfigError} located at a section (file, section, and with `value` also
 * `field: value`), e.g. for failures found when the section is started.
 */
export function sectionConfigError(
  s: { kind: string; source: string },
  msg: string,
  field?: string,
  value?: string | number,
): ConfigError {
  const file = s.source.startsWith("-") || s.source.startsWith("implicit ") ? undefined : s.source;
  return new ConfigError(msg, {
    origin: "section",
    section: s.kind,
    source: s.source,
    file,
    field,
    value,
  });
}

/** A bound listener port, to find two listeners on one port before binding. */
interface PortUse {
  proto: "tcp" | "udp";
  bindaddr: string;
  port: number;
  s: Section;
}

function wildcard(addr: string): boolean {
  return addr === "" || addr === "0.0.0.0" || addr === "::" || addr === "[::]";
}

/** Port range (checked here, not only when binding) and listeners sharing a port. */
function checkListenerPort(s: Section & { port: number; bindaddr: string }, used: PortUse[]) {
  if (!Number.isInteger(s.port) || s.port < 0 || s.port > 65535) {
    throw err(s, `invalid port ${s.port}: out of range 0-65535`, "port", s.port);
  }
  if (s.port === 0) return;
  const proto = s.kind === "udp-listener" ? "udp" : "tcp";
  const clash = used.find((u) =>
    u.proto === proto && u.port === s.port &&
    (wildcard(u.bindaddr) || wildcard(s.bindaddr) || u.bindaddr === s.bindaddr)
  );
  if (clash) {
    const where = clash.s.source.startsWith("-") ? " on the command line" : ` in ${clash.s.source}`;
    throw err(
      s,
      `port ${s.port} is already used by an earlier ${clash.s.kind}${where}`,
      "port",
      s.port,
    );
  }
  used.push({ proto, bindaddr: s.bindaddr, port: s.port, s });
}

/** Decode pinned fingerprints; throws upstream's `error decoding fingerprint(s)...` text. */
export function decodeFingerprints(list: readonly string[]): Uint8Array[] {
  return list.map((fp) => {
    const hex = fp.replaceAll(":", "");
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new Error("error decoding fingerprint");
    }
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (bytes.length !== 32 && bytes.length !== 64) {
      throw new Error("fingerprints must be 32 or 64 bytes for sha256 or sha512");
    }
    return bytes;
  });
}

/** Go `net.SplitHostPort` error text for an address, or null when it splits fine. */
export function splitHostPortError(addr: string): string | null {
  const missingPort = `address ${addr}: missing port in address`;
  if (addr.startsWith("[")) {
    const end = addr.indexOf("]");
    if (end < 0) return `address ${addr}: missing ']' in address`;
    const rest = addr.slice(end + 1);
    if (rest === "") return missingPort;
    if (rest[0] !== ":") return `address ${addr}: missing port in address`;
    if (rest.slice(1).includes(":")) return `address ${addr}: too many colons in address`;
    return null;
  }
  const i = addr.lastIndexOf(":");
  if (i < 0) return missingPort;
  if (addr.slice(0, i).includes(":")) return `address ${addr}: too many colons in address`;
  return null;
}

/** Options for {@link validateSections}. */
export interface ValidateOptions {
  /** Host name source for an empty node ID (default `Deno.hostname`). */
  hostname?: () => string;
}

/**
 * Check a node invocation's sections without I/O, in upstream's phase order (Init, Prepare,
 * Run). Throws {@link ConfigError} with upstream's message. Side effect: an empty
 * `node.id` is replaced by the host name (as upstream does at Init).
 */
export function validateSections(sections: Section[], opts: ValidateOptions = {}): void {
  // ---- Init
  for (const s of sections) {
    if (s.kind === "node") s.id = effectiveNodeId(s, opts.hostname);
    else if (s.kind === "log-level") {
      try {
        parseLogLevel(s.level);
      } catch (e) {
        throw err(s, errorText(e), "level");
      }
    }
  }
  // ---- Prepare
  const serverTls = new Set<string>();
  const clientTls = new Set<string>(); // names with pinned fingerprints registered
  let verifyingKey = "";
  for (const s of sections) {
    prepare(s, serverTls, clientTls);
    if (s.kind === "work-verification") verifyingKey = s.publickey;
  }
  // ---- Run
  const run = new RunPhase(serverTls, clientTls, verifyingKey);
  for (const s of sections) run.check(s);
}

/**
 * The Run phase: cross-section checks in section order (TLS names known, services and work
 * types unique, listener ports free), as upstream's Run methods make them.
 */
class RunPhase {
  readonly services = new Set<string>(["ping", "unreach"]);
  readonly workTypes = new Set<string>(["remote"]);
  readonly ports: PortUse[] = [];

  constructor(
    private readonly serverTls: Set<string>,
    private readonly clientTls: Set<string>,
    private readonly verifyingKey: string,
  ) {}

  serverRef(s: Section, name: string, field: string): void {
    if (name !== "" && !this.serverTls.has(name)) {
      throw err(s, `unknown TLS config ${name}`, field);
    }
  }

  clientRef(s: Section, name: string, field: string): void {
    if (name === "") return;
    if (name === "default" && !this.clientTls.has(name)) {
      throw err(s, "pinned fingerprints missing for default", field);
    }
    if (!this.clientTls.has(name)) throw err(s, `unknown TLS config ${name}`, field);
  }

  listen(s: Section, service: string, wrap: (m: string) => string, adv = false): void {
    if (service.length > 8 || new TextEncoder().encode(service).length > 8) {
      throw err(s, wrap(`service name ${service} too long (over 8 bytes)`), "service", service);
    }
    if (service === "") return;
    if (this.services.has(service)) {
      throw err(
        s,
        wrap(`service ${service} is already listening${adv ? " and advertising" : ""}`),
        "service",
      );
    }
    this.services.add(service);
  }

  register(s: Section, workType: string): void {
    if (this.workTypes.has(workType)) throw err(s, `work type ${workType} already registered`);
    this.workTypes.add(workType);
  }

  /** Checks one section against the ones before it. */
  check(s: Section): void {
    if (this.checkBackend(s)) return;
    switch (s.kind) {
      case "control-service": {
        this.serverRef(s, s.tls, "tls");
        if (s.tcplisten !== "") this.serverRef(s, s.tcptls, "tcptls");
        this.listen(s, s.service, (m) => `error opening Unix socket: ${m}`);
        if (s.filename === "" && s.tcplisten === "" && s.service === "") {
          throw err(s, "no listeners specified");
        }
        break;
      }
      case "command-service":
        this.serverRef(s, s.tls, "tls");
        try {
          this.listen(s, s.service, (m) => m);
        } catch {
          // upstream only logs this one
        }
        break;
      case "tcp-server":
        this.clientRef(s, s.tlsclient, "tlsclient");
        this.serverRef(s, s.tlsserver, "tlsserver");
        break;
      case "tcp-client": {
        this.serverRef(s, s.tlsserver, "tlsserver");
        const e = splitHostPortError(s.address);
        if (e) throw err(s, e, "address");
        this.clientRef(s, s.tlsclient, "tlsclient");
        this.listen(s, s.service, (m) => `error listening on Receptor network: ${m}`);
        break;
      }
      case "udp-client":
        this.listen(s, s.service, (m) => `error listening on service ${s.service}: ${m}`, true);
        break;
      case "unix-socket-server":
        this.clientRef(s, s.tls, "tls");
        break;
      case "unix-socket-client":
        this.serverRef(s, s.tls, "tls");
        this.listen(s, s.service, (m) => `error listening on Receptor network: ${m}`);
        break;
      case "ip-router": {
        const e = ipRouterError(s.localnet, s.routes);
        if (e) throw err(s, e);
        break;
      }
      case "work-command":
      case "work-deno":
        if (s.verifysignature && this.verifyingKey === "") {
          // "work command" / "work deno", as upstream names the section
          const what = s.kind.replace("-", " ");
          throw err(
            s,
            `VerifySignature for ${what} '${s.worktype}' is true, but the work verification public key is not specified`,
            "verifysignature",
          );
        }
        this.register(s, s.worktype);
        break;
      case "observability": {
        this.serverRef(s, s.tls, "tls");
        const e = splitHostPortError(s.address);
        if (e) throw err(s, e, "address");
        if (s.minpeers < 0) throw err(s, "minpeers must not be negative", "minpeers");
        break;
      }
      case "work-kubernetes":
        this.register(s, s.worktype);
        break;
      case "work-python": {
        const dep =
          "[DEPRECATION WARNING] 'work-python' option is not currently being used. This feature will be removed from receptor in a future release";
        let msg = dep;
        if (this.workTypes.has(s.worktype)) {
          msg = `work type ${s.worktype} already registered\n${dep}`;
        }
        this.workTypes.add(s.worktype);
        throw err(s, msg);
      }
    }
  }

  /** Listener and peer sections; false for any other kind. */
  checkBackend(s: Section): boolean {
    switch (s.kind) {
      case "tcp-listener":
      case "ws-listener":
        this.serverRef(s, s.tls, "tls");
        checkListenerPort(s, this.ports);
        break;
      case "udp-listener":
        checkListenerPort(s, this.ports);
        break;
      case "tcp-peer": {
        const e = splitHostPortError(s.address);
        if (e) throw err(s, e, "address");
        this.clientRef(s, s.tls, "tls");
        break;
      }
      case "ws-peer": {
        let name = s.tls;
        let scheme = "";
        try {
          scheme = new URL(s.address).protocol;
        } catch {
          // already reported in Prepare when unparsable
        }
        if (scheme === "wss:" && name === "") name = "default";
        this.clientRef(s, name, "tls");
        break;
      }
      default:
        return false;
    }
    return true;
  }
}

function prepare(s: Section, serverTls: Set<string>, clientTls: Set<string>): void {
  switch (s.kind) {
    case "tls-server":
      prepareTlsServer(s);
      serverTls.add(s.name);
      break;
    case "tls-client":
      prepareTlsClient(s);
      clientTls.add(s.name);
      break;
    case "tcp-listener":
    case "ws-listener":
    case "udp-listener":
      if (!(s.maxunauthenticated > 0)) {
        throw err(s, "maxunauthenticated must be positive", "maxunauthenticated");
      }
      if (!(handshakeTimeoutMs(s) > 0)) {
        throw err(s, "handshaketimeout must be a positive duration", "handshaketimeout");
      }
      if (!(s.cost > 0)) throw err(s, "connection cost must be positive", "cost");
      for (const [node, cost] of Object.entries(s.nodecost)) {
        if (!(cost > 0)) throw err(s, `connection cost must be positive for ${node}`, "nodecost");
      }
      break;
    case "tcp-peer":
    case "udp-peer":
      if (!(s.cost > 0)) throw err(s, "connection cost must be positive", "cost");
      break;
    case "ws-peer":
      if (!(s.cost > 0)) throw err(s, "connection cost must be positive", "cost");
      if (s.extraheader !== "" && !s.extraheader.includes(":")) {
        throw err(s, "extra header must be in the form key:value", "extraheader");
      }
      break;
    case "work-kubernetes": {
      const auth = s.authmethod.toLowerCase();
      if (auth !== "kubeconfig" && auth !== "incluster" && auth !== "runtime") {
        throw err(s, `invalid AuthMethod: ${s.authmethod}`, "authmethod");
      }
      if (s.namespace === "" && !(auth === "kubeconfig" || s.allowruntimeauth)) {
        throw err(s, "must provide namespace when AuthMethod is not kubeconfig", "namespace");
      }
      if (s.kubeconfig !== "" && auth !== "kubeconfig") {
        throw err(s, "can only provide KubeConfig when AuthMethod=kubeconfig", "kubeconfig");
      }
      if (s.kubeconfig !== "") {
        try {
          Deno.statSync(s.kubeconfig);
        } catch (e) {
          throw err(
            s,
            `error accessing kubeconfig file: ${goStatError(s.kubeconfig, e)}`,
            "kubeconfig",
          );
        }
      }
      if (s.pod !== "" && (s.image !== "" || s.command !== "" || s.params !== "")) {
        throw err(s, "can only provide Pod when Image, Command, and Params are empty", "pod");
      }
      if (s.pod === "" && s.image === "" && !s.allowruntimecommand && !s.allowruntimepod) {
        throw err(s, "must specify a container image to run", "image");
      }
      const m = s.streammethod.toLowerCase();
      if (m !== "logger" && m !== "tcp") {
        throw err(s, "stream mode must be logger or tcp", "streammethod");
      }
      break;
    }
  }
}

function prepareTlsServer(s: TlsServerSection): void {
  try {
    decodeFingerprints(s.pinnedclientcert);
  } catch (e) {
    throw err(
      s,
      `error preparing tls server config: error decoding fingerprints: ${errorText(e)}`,
      "pinnedclientcert",
    );
  }
}

function prepareTlsClient(s: TlsClientSection): void {
  if ((s.cert !== "" || s.key !== "") && (s.cert === "" || s.key === "")) {
    throw err(
      s,
      "error preparing tls client config: cert and key must both be supplied or neither",
    );
  }
  try {
    decodeFingerprints(s.pinnedservercert);
  } catch (e) {
    throw err(
      s,
      `error preparing tls client config: error decoding fingerprints: ${errorText(e)}`,
      "pinnedservercert",
    );
  }
}

function parseCidr4(c: string): { ip: number[]; bits: number } | null | "v6" {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(c);
  if (m) {
    const ip = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (ip.some((x) => x > 255) || bits > 32) return null;
    return { ip, bits };
  }
  if (/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c) && c.includes(":")) return "v6";
  return null;
}

/** ip-router `localnet`/`routes` checks with upstream's messages, or null when fine. */
export function ipRouterError(localnet: string, routes: string): string | null {
  const ln = parseCidr4(localnet);
  if (ln === null) return `could not parse ${localnet} as a CIDR address`;
  if (ln === "v6") return `local network ${localnet} must be IPv4`;
  if (ln.bits !== 30) return `local network ${localnet} must be a /30 CIDR`;
  if (routes !== "") {
    for (const r of routes.split(",")) {
      if (parseCidr4(r) === null) return `could not parse ${r} as a CIDR address`;
    }
  }
  return null;
}

/**
 * The checks `reload` runs before restarting backends (upstream's `PreReload` = backends'
 * Prepare): costs, node costs, ws-peer extra header. Throws {@link ConfigError}.
 */
export function preReloadCheck(sections: readonly Section[]): void {
  const unused = new Set<string>();
  for (const s of sections) {
    if (RELOADABLE_KINDS.includes(s.kind)) prepare(s, unused, unused);
  }
}

/** A `tcp-listener`'s `handshaketimeout` in ms; NaN if it is not a valid Go duration. */
export function handshakeTimeoutMs(s: { handshaketimeout: string }): number {
  try {
    return parseGoDuration(s.handshaketimeout);
  } catch {
    return NaN;
  }
}
