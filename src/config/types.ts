/**
 * Typed configuration: the typed section of every v1 directive, derived by the type system from
 * the section table (config/schema.ts: field keys and value types, plus the conversions of
 * config/typed.ts listed in `Converted` below), the {@link Section} union, and the
 * {@link Invocation} that `parseInvocation` returns. Field help lives in the table (it is what
 * `--help` prints); only converted fields carry their own JSDoc here.
 * @module
 */

import type { FirewallRule } from "../util/firewall_rule.ts";
import type { SECTION_TABLE } from "./schema.ts";
import type { FieldType } from "./section_spec.ts";

export type { FirewallRule };

/** Fields every section instance has. */
export interface SectionBase {
  /** Lower-case section name. */
  kind: string;
  /** Where it came from: the config file path, the flag as typed (`--tcp-listener`), or `implicit node`. */
  source: string;
}

/** One directive of the section table, with its literal kind and fields. */
type Spec = (typeof SECTION_TABLE)[number];
/** The fields of kind `K` in the table. */
type Field<K> = Extract<Spec, { kind: K }>["fields"][number];
/** The keys of kind `K` in the table. */
type FieldKey<K> = Field<K>["key"];

/** A field's value after parsing and defaults, by table type. */
interface FieldValues {
  string: string;
  int: number;
  float: number;
  bool: boolean;
  strings: string[];
  floatmap: Record<string, number>;
  anymap: Record<string, unknown>;
  /** Parsed by config/typed.ts. */
  rules: FirewallRule[];
}

/** Value of field `F`: by its table type; `allowedpeers` stays null when not given (anyone). */
type Plain<F extends { key: string; type: FieldType }> = F["key"] extends "allowedpeers"
  ? string[] | null
  : FieldValues[F["type"]];

/** The node's mesh limits: every `max…` key but the idle timeout. */
type NodeLimitKey = Exclude<Extract<FieldKey<"node">, `max${string}`>, "maxidleconnectiontimeout">;

/** Checks that each converted key is a field of its kind in the table (else: a compile error). */
type Checked<
  T extends {
    [K in keyof T]: K extends Spec["kind"]
      ? { [P in keyof T[K]]: P extends FieldKey<K> ? unknown : never }
      : never;
  },
> = T;

/** Fields whose typed value differs from their table type: what config/typed.ts converts. */
type Converted = Checked<{
  node:
    & {
      /** Milliseconds; 21000 when not set. */
      maxidleconnectiontimeout: number;
      /**
       * What a credible duplicate-node notice does: `stay` (default) keeps the node up, `exit`
       * stops it as Go does (README "Duplicate node IDs (credibility rule)"). Validated, lower
       * case.
       */
      duplicatenotice: "exit" | "stay";
    }
    & {
      /** A mesh limit (README "Limits"); 0 or null = its default. */
      [P in NodeLimitKey]: number | null;
    };
  "work-retention": {
    /** Release finished units this long after they finished (ms); 0 = off. */
    maxage: number;
    /** Sweep period (ms). */
    interval: number;
    /** Give up a background remote release after this long unreachable (ms); 0 = never. */
    releasegiveup: number;
  };
  "work-signing": {
    /** Milliseconds (5 minutes when not set). */
    tokenexpiration: number;
  };
}>;

/** The converted fields of kind `K` (none for most kinds). */
type ConvertedOf<K> = K extends keyof Converted ? Converted[K] : Record<never, never>;

/** One object type out of an intersection (readable hovers; property JSDoc is kept). */
type Flat<T> = T extends infer O ? { [P in keyof O]: O[P] } : never;

/** Every section kind. */
export type SectionKind = Spec["kind"];

/** The typed section of kind `K`: its table fields after defaults and conversions. */
type Derived<K extends SectionKind> = Flat<
  & SectionBase
  & { kind: K }
  & Omit<{ [F in Field<K> as F["key"]]: Plain<F> }, keyof ConvertedOf<K>>
  & ConvertedOf<K>
>;

/** Any section instance. */
export type Section = { [K in SectionKind]: Derived<K> }[SectionKind];

/** The section type for a kind. */
export type SectionOf<K extends SectionKind> = Extract<Section, { kind: K }>;

/** `node` (§3.1). `id` is "" when not given: {@link validateSections} fills in the host name. */
export type NodeSection = SectionOf<"node">;
/** `log-level` (§3.2); `level` is validated by {@link validateSections}. */
export type LogLevelSection = SectionOf<"log-level">;
/** `trace` (no keys). */
export type TraceSection = SectionOf<"trace">;
/** `local-only` (§3.4). */
export type LocalOnlySection = SectionOf<"local-only">;
/** `version` (exclusive action). */
export type VersionSection = SectionOf<"version">;
/** `tls-server` (§3.5). */
export type TlsServerSection = SectionOf<"tls-server">;
/** `tls-client` (§3.6). */
export type TlsClientSection = SectionOf<"tls-client">;
/**
 * `tcp-listener` (§3.7). `allowedpeers` null = anyone; [] = nobody. Our additions:
 * `maxunauthenticated` caps connections that have not completed the handshake (default 256),
 * `handshaketimeout` is the Go duration they get to complete it (default `12s`).
 */
export type TcpListenerSection = SectionOf<"tcp-listener">;
/** `tcp-peer` (§3.7). */
export type TcpPeerSection = SectionOf<"tcp-peer">;
/** `udp-listener` (§3.7); the admission limits as for `tcp-listener` (sessions are new source addresses). */
export type UdpListenerSection = SectionOf<"udp-listener">;
/** `udp-peer` (§3.7). */
export type UdpPeerSection = SectionOf<"udp-peer">;
/** `ws-listener` (§3.7); the admission limits as for `tcp-listener`. */
export type WsListenerSection = SectionOf<"ws-listener">;
/** `ws-peer` (§3.7). */
export type WsPeerSection = SectionOf<"ws-peer">;
/** `control-service` (§3.8). `permissions` is the numeric mode (0o600 by default). */
export type ControlServiceSection = SectionOf<"control-service">;
/** `command-service` (§3.9). */
export type CommandServiceSection = SectionOf<"command-service">;
/** `tcp-server` (§3.9). */
export type TcpServerSection = SectionOf<"tcp-server">;
/** `tcp-client` (§3.9). */
export type TcpClientSection = SectionOf<"tcp-client">;
/** `udp-server` (§3.9). */
export type UdpServerSection = SectionOf<"udp-server">;
/** `udp-client` (§3.9). */
export type UdpClientSection = SectionOf<"udp-client">;
/** `unix-socket-server` (§3.9). */
export type UnixSocketServerSection = SectionOf<"unix-socket-server">;
/** `unix-socket-client` (§3.9). */
export type UnixSocketClientSection = SectionOf<"unix-socket-client">;
/** `ip-router` (§3.9). */
export type IpRouterSection = SectionOf<"ip-router">;
/** `work-command` (§3.10). */
export type WorkCommandSection = SectionOf<"work-command">;
/** `work-deno` (not upstream): a Deno module run under Deno's permission sandbox. */
export type WorkDenoSection = SectionOf<"work-deno">;
/** `work-retention` (not upstream): automatic release of finished units (durations in ms). */
export type WorkRetentionSection = SectionOf<"work-retention">;
/**
 * `observability` (not upstream): the node's HTTP endpoint (metrics, health, mesh page):
 * `address` host:port (default 127.0.0.1:9180), `tls` a tls-server name (HTTPS), `minpeers`
 * (/health is 503 while fewer peers are connected), `meshpage` (the live mesh page at `/`).
 */
export type ObservabilitySection = SectionOf<"observability">;
/** `work-kubernetes` (§3.10). */
export type WorkKubernetesSection = SectionOf<"work-kubernetes">;
/** `work-python` (deprecated; always fails at start-up). */
export type WorkPythonSection = SectionOf<"work-python">;
/** `work-signing` (§3.10). */
export type WorkSigningSection = SectionOf<"work-signing">;
/** `work-verification` (§3.10). */
export type WorkVerificationSection = SectionOf<"work-verification">;
/** `cert-init` (§3.11, §5). `bits` 0 means 2048. */
export type CertInitSection = SectionOf<"cert-init">;
/** `cert-makereq` (§3.11, §5). */
export type CertMakeReqSection = SectionOf<"cert-makereq">;
/** `cert-signreq` (§3.11, §5). `verify` true = do not prompt. */
export type CertSignReqSection = SectionOf<"cert-signreq">;
/** Hidden `command-runner` (§2.7). */
export type CommandRunnerSection = SectionOf<"command-runner">;

/** Alias used by the CLI layer. */
export type CertInit = CertInitSection;
/** Alias used by the CLI layer. */
export type CertMakeReq = CertMakeReqSection;
/** Alias used by the CLI layer. */
export type CertSignReq = CertSignReqSection;

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
