/**
 * Typed configuration: one interface per v1 section (lower-case field names, values after
 * defaults), the {@link Section} union, and the {@link Invocation} that `parseInvocation`
 * returns.
 * @module
 */

import type { FirewallRule } from "../util/firewall_rule.ts";

export type { FirewallRule };

/** Fields every section instance has. */
export interface SectionBase {
  /** Lower-case section name. */
  kind: string;
  /** Where it came from: the config file path, the flag as typed (`--tcp-listener`), or `implicit node`. */
  source: string;
}

/** `node` (§3.1). `id` is "" when not given: {@link validateSections} fills in the host name. */
export interface NodeSection extends SectionBase {
  kind: "node";
  id: string;
  /** `/tmp/receptor` by default; "" means `<OS temp dir>/receptor`. */
  datadir: string;
  firewallrules: FirewallRule[];
  /** Milliseconds; 21000 when not set. */
  maxidleconnectiontimeout: number;
  /** Longest node ID accepted in routing updates and ads (default 255);  0 or null = default. */
  maxnodeidbytes: number | null;
  /** Longest routing-update UpdateID accepted (default 64);  0 or null = default. */
  maxupdateidbytes: number | null;
  /** Most connections one routing update may list (default 1024);  0 or null = default. */
  maxconnectionsperupdate: number | null;
  /** Most remote nodes remembered (default 20000);  0 or null = default. */
  maxknownnodes: number | null;
  /** Most bytes of stored routing updates (default 67108864);  0 or null = default. */
  maxstoredupdatebytes: number | null;
  /** Most edges in the topology table (default 200000);  0 or null = default. */
  maxedges: number | null;
  /** Most routing-update IDs remembered for dedupe (default 200000);  0 or null = default. */
  maxseenids: number | null;
  /** Most node names in the name hash table (default 40000);  0 or null = default. */
  maxnames: number | null;
  /** Most service advertisements stored (default 50000);  0 or null = default. */
  maxads: number | null;
  /** Most service advertisements stored per node (default 64);  0 or null = default. */
  maxadspernode: number | null;
  /** Largest service advertisement accepted, in bytes (default 16384);  0 or null = default. */
  maxadbytes: number | null;
  /** Ad times further ahead than this many ms are clamped (default 300000);  0 or null = default. */
  maxadfuturems: number | null;
  /** Queued flood bytes per link above which it is closed (default 33554432);  0 or null = default. */
  maxlinkqueuebytes: number | null;
  /** A link whose flood queue is stuck this many ms is closed (default 60000);  0 or null = default. */
  maxlinkstallms: number | null;
  /**
   * What a credible duplicate-node notice does: `exit` (default) stops the node, `stay` keeps
   * it up (README "Duplicate node IDs (credibility rule)"). Validated, lower case.
   */
  duplicatenotice: "exit" | "stay";
  receptorkubesupportreconnect: string;
  receptorkubeclientsetqps: string;
  receptorkubeclientsetburst: string;
  receptorkubeclientsetratelimiter: string;
}

/** `log-level` (§3.2); `level` is validated by {@link validateSections}. */
export interface LogLevelSection extends SectionBase {
  kind: "log-level";
  level: string;
}

/** `trace` (no keys). */
export interface TraceSection extends SectionBase {
  kind: "trace";
}

/** `local-only` (§3.4). */
export interface LocalOnlySection extends SectionBase {
  kind: "local-only";
  local: boolean;
}

/** `version` (exclusive action). */
export interface VersionSection extends SectionBase {
  kind: "version";
}

/** `tls-server` (§3.5). */
export interface TlsServerSection extends SectionBase {
  kind: "tls-server";
  name: string;
  cert: string;
  key: string;
  requireclientcert: boolean;
  clientcas: string;
  pinnedclientcert: string[];
  skipreceptornamescheck: boolean;
  mintls13: boolean;
}

/** `tls-client` (§3.6). */
export interface TlsClientSection extends SectionBase {
  kind: "tls-client";
  name: string;
  cert: string;
  key: string;
  rootcas: string;
  insecureskipverify: boolean;
  pinnedservercert: string[];
  skipreceptornamescheck: boolean;
  mintls13: boolean;
}

/** `tcp-listener` (§3.7). `allowedpeers` null = anyone; [] = nobody. */
export interface TcpListenerSection extends SectionBase {
  kind: "tcp-listener";
  bindaddr: string;
  port: number;
  tls: string;
  cost: number;
  nodecost: Record<string, number>;
  allowedpeers: string[] | null;
  /** Our addition: cap on connections that have not completed the handshake (default 256). */
  maxunauthenticated: number;
  /** Our addition: Go duration to complete the handshakes (default `12s`). */
  handshaketimeout: string;
}

/** `tcp-peer` (§3.7). */
export interface TcpPeerSection extends SectionBase {
  kind: "tcp-peer";
  address: string;
  redial: boolean;
  tls: string;
  cost: number;
  allowedpeers: string[] | null;
}

/** `udp-listener` (§3.7). */
export interface UdpListenerSection extends SectionBase {
  kind: "udp-listener";
  bindaddr: string;
  port: number;
  cost: number;
  nodecost: Record<string, number>;
  allowedpeers: string[] | null;
  /** Our addition: as for `tcp-listener` (sessions are new source addresses). */
  maxunauthenticated: number;
  /** Our addition: as for `tcp-listener`. */
  handshaketimeout: string;
}

/** `udp-peer` (§3.7). */
export interface UdpPeerSection extends SectionBase {
  kind: "udp-peer";
  address: string;
  redial: boolean;
  cost: number;
  allowedpeers: string[] | null;
}

/** `ws-listener` (§3.7). */
export interface WsListenerSection extends SectionBase {
  kind: "ws-listener";
  bindaddr: string;
  port: number;
  path: string;
  tls: string;
  cost: number;
  nodecost: Record<string, number>;
  allowedpeers: string[] | null;
  /** Our addition: as for `tcp-listener`. */
  maxunauthenticated: number;
  /** Our addition: as for `tcp-listener`. */
  handshaketimeout: string;
}

/** `ws-peer` (§3.7). */
export interface WsPeerSection extends SectionBase {
  kind: "ws-peer";
  address: string;
  redial: boolean;
  extraheader: string;
  tls: string;
  cost: number;
  allowedpeers: string[] | null;
}

/** `control-service` (§3.8). `permissions` is the numeric mode (0o600 by default). */
export interface ControlServiceSection extends SectionBase {
  kind: "control-service";
  service: string;
  filename: string;
  permissions: number;
  tls: string;
  tcplisten: string;
  tcptls: string;
}

/** `command-service` (§3.9). */
export interface CommandServiceSection extends SectionBase {
  kind: "command-service";
  service: string;
  command: string;
  tls: string;
}

/** `tcp-server` (§3.9). */
export interface TcpServerSection extends SectionBase {
  kind: "tcp-server";
  port: number;
  bindaddr: string;
  remotenode: string;
  remoteservice: string;
  tlsserver: string;
  tlsclient: string;
}

/** `tcp-client` (§3.9). */
export interface TcpClientSection extends SectionBase {
  kind: "tcp-client";
  service: string;
  address: string;
  tlsserver: string;
  tlsclient: string;
}

/** `udp-server` (§3.9). */
export interface UdpServerSection extends SectionBase {
  kind: "udp-server";
  port: number;
  bindaddr: string;
  remotenode: string;
  remoteservice: string;
}

/** `udp-client` (§3.9). */
export interface UdpClientSection extends SectionBase {
  kind: "udp-client";
  service: string;
  address: string;
}

/** `unix-socket-server` (§3.9). */
export interface UnixSocketServerSection extends SectionBase {
  kind: "unix-socket-server";
  filename: string;
  permissions: number;
  remotenode: string;
  remoteservice: string;
  tls: string;
}

/** `unix-socket-client` (§3.9). */
export interface UnixSocketClientSection extends SectionBase {
  kind: "unix-socket-client";
  service: string;
  filename: string;
  tls: string;
}

/** `ip-router` (§3.9). */
export interface IpRouterSection extends SectionBase {
  kind: "ip-router";
  networkname: string;
  interface: string;
  localnet: string;
  routes: string;
}

/** `work-command` (§3.10). */
export interface WorkCommandSection extends SectionBase {
  kind: "work-command";
  worktype: string;
  command: string;
  params: string;
  allowruntimeparams: boolean;
  verifysignature: boolean;
}

/** `work-deno` (not upstream): a Deno module run under Deno's permission sandbox. */
export interface WorkDenoSection extends SectionBase {
  kind: "work-deno";
  worktype: string;
  module: string;
  allowread: string[];
  allowwrite: string[];
  allownet: string[];
  allowenv: string[];
  allowrun: string[];
  allowruntimeparams: boolean;
  verifysignature: boolean;
}

/** `work-retention` (not upstream): automatic release of finished units (durations in ms). */
export interface WorkRetentionSection extends SectionBase {
  kind: "work-retention";
  /** Release finished units this long after they finished; 0 = off. */
  maxage: number;
  /** Keep at most this many finished units; 0 = off. */
  maxcount: number;
  /** Sweep period. */
  interval: number;
  /** Give up a background remote release after this long unreachable; 0 = never. */
  releasegiveup: number;
}

/** `observability` (not upstream): the node's HTTP endpoint (metrics, health, mesh page). */
export interface ObservabilitySection extends SectionBase {
  kind: "observability";
  /** host:port (default 127.0.0.1:9180). */
  address: string;
  /** tls-server name: HTTPS (client certificates checked when it has clientcas). */
  tls: string;
  /** /health is 503 while fewer peers are connected. */
  minpeers: number;
  /** Serve the live mesh page at `/`. */
  meshpage: boolean;
}

/** `work-kubernetes` (§3.10). */
export interface WorkKubernetesSection extends SectionBase {
  kind: "work-kubernetes";
  worktype: string;
  namespace: string;
  image: string;
  command: string;
  params: string;
  authmethod: string;
  kubeconfig: string;
  pod: string;
  allowruntimeauth: boolean;
  allowruntimecommand: boolean;
  allowruntimeparams: boolean;
  allowruntimepod: boolean;
  deletepodonrestart: boolean;
  streammethod: string;
  verifysignature: boolean;
}

/** `work-python` (deprecated; always fails at start-up). */
export interface WorkPythonSection extends SectionBase {
  kind: "work-python";
  worktype: string;
  plugin: string;
  function: string;
  config: Record<string, unknown>;
}

/** `work-signing` (§3.10). `tokenexpiration` in milliseconds (5 minutes when not set). */
export interface WorkSigningSection extends SectionBase {
  kind: "work-signing";
  privatekey: string;
  tokenexpiration: number;
}

/** `work-verification` (§3.10). */
export interface WorkVerificationSection extends SectionBase {
  kind: "work-verification";
  publickey: string;
}

/** `cert-init` (§3.11, §5). `bits` 0 means 2048. */
export interface CertInitSection extends SectionBase {
  kind: "cert-init";
  commonname: string;
  bits: number;
  notbefore: string;
  notafter: string;
  outcert: string;
  outkey: string;
}

/** `cert-makereq` (§3.11, §5). */
export interface CertMakeReqSection extends SectionBase {
  kind: "cert-makereq";
  commonname: string;
  bits: number;
  dnsname: string[];
  ipaddress: string[];
  nodeid: string[];
  outreq: string;
  inkey: string;
  outkey: string;
}

/** `cert-signreq` (§3.11, §5). `verify` true = do not prompt. */
export interface CertSignReqSection extends SectionBase {
  kind: "cert-signreq";
  req: string;
  cacert: string;
  cakey: string;
  notbefore: string;
  notafter: string;
  outcert: string;
  verify: boolean;
}

/** Hidden `command-runner` (§2.7). */
export interface CommandRunnerSection extends SectionBase {
  kind: "command-runner";
  command: string;
  params: string;
  unitdir: string;
}

/** Alias used by the CLI layer. */
export type CertInit = CertInitSection;
/** Alias used by the CLI layer. */
export type CertMakeReq = CertMakeReqSection;
/** Alias used by the CLI layer. */
export type CertSignReq = CertSignReqSection;

/** Any section instance. */
export type Section =
  | NodeSection
  | LogLevelSection
  | TraceSection
  | LocalOnlySection
  | VersionSection
  | TlsServerSection
  | TlsClientSection
  | TcpListenerSection
  | TcpPeerSection
  | UdpListenerSection
  | UdpPeerSection
  | WsListenerSection
  | WsPeerSection
  | ControlServiceSection
  | CommandServiceSection
  | TcpServerSection
  | TcpClientSection
  | UdpServerSection
  | UdpClientSection
  | UnixSocketServerSection
  | UnixSocketClientSection
  | IpRouterSection
  | WorkCommandSection
  | WorkDenoSection
  | WorkRetentionSection
  | ObservabilitySection
  | WorkKubernetesSection
  | WorkPythonSection
  | WorkSigningSection
  | WorkVerificationSection
  | CertInitSection
  | CertMakeReqSection
  | CertSignReqSection
  | CommandRunnerSection;

/** Every section kind. */
export type SectionKind = Section["kind"];

/** The section type for a kind. */
export type SectionOf<K extends SectionKind> = Extract<Section, { kind: K }>;

/** A certificate action section. */
export type CertAction = CertInitSection | CertMakeReqSection | CertSignReqSection;

/** What an argument list asks for. */
export type Invocation =
  | { kind: "help"; text: string }
  | { kind: "bash-completion"; text: string }
  | { kind: "version" }
  | { kind: "action"; section: CertAction }
  | {
    kind: "node";
    /** All instances in collection order (the implicit node appended when absent). */
    sections: Section[];
    /** Every config file read, in order. */
    configFiles: string[];
    /** The file after the first argument spelled exactly `--config` or `-c` (enables reload). */
    reloadFile: string | null;
    /** The argument list as given (re-parsed on reload). */
    argv: string[];
  };
