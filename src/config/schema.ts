/**
 * The v1 section table: every configuration directive receptor accepts, with its fields
 * (Go field name, type, default text, bare-value and required flags, help description) and its
 * kind (required/singleton/exclusive/hidden, help group). Order is upstream's registration
 * order, which the help text follows.
 * @module
 */

import type { SectionSpec } from "./section_spec.ts";
import {
  ADMISSION,
  ALLOWED,
  BIND,
  COST,
  f,
  GROUP_BACKENDS,
  GROUP_CERTS,
  GROUP_CONFIG,
  GROUP_SERVICES,
  GROUP_WORKERS,
  NODECOST,
  REDIAL,
} from "./schema_fields.ts";

/**
 * The table with its literal kinds, keys and field types (`as const`): config/types.ts derives
 * the typed sections from it.
 */
export const SECTION_TABLE = [
  {
    name: "node",
    kind: "node",
    description: "Specifies the node configuration of this instance",
    required: true,
    singleton: true,
    fields: [
      f("ID", "string", "Node ID. Defaults to the local hostname.", { bare: true }),
      f("DataDir", "string", "Directory in which to store node data.", {
        default: "/tmp/receptor",
      }),
      f("FirewallRules", "rules", "Firewall rules, see documentation for syntax."),
      f(
        "MaxIdleConnectionTimeout",
        "string",
        "Maximum duration with no traffic before a backend connection is timed out and refreshed.",
      ),
      f(
        "MaxNodeIDBytes",
        "int",
        "Longest node ID accepted in routing updates and ads (default 255)",
      ),
      f("MaxUpdateIDBytes", "int", "Longest routing-update UpdateID accepted (default 64)"),
      f(
        "MaxConnectionsPerUpdate",
        "int",
        "Most connections one routing update may list (default 1024)",
      ),
      f("MaxKnownNodes", "int", "Most remote nodes remembered (default 20000)"),
      f("MaxEdges", "int", "Most edges in the topology table (default 200000)"),
      f("MaxStoredUpdateBytes", "int", "Most bytes of stored routing updates (default 67108864)"),
      f("MaxSeenIDs", "int", "Most routing-update IDs remembered for dedupe (default 200000)"),
      f("MaxNames", "int", "Most node names in the name hash table (default 40000)"),
      f("MaxAds", "int", "Most service advertisements stored (default 50000)"),
      f("MaxAdsPerNode", "int", "Most service advertisements stored per node (default 64)"),
      f("MaxAdBytes", "int", "Largest service advertisement accepted, in bytes (default 16384)"),
      f(
        "MaxAdFutureMs",
        "int",
        "Ad times further ahead than this many ms are clamped (default 300000)",
      ),
      f(
        "MaxLinkQueueBytes",
        "int",
        "Queued flood bytes per link above which it is closed (default 33554432)",
      ),
      f(
        "MaxLinkStallMs",
        "int",
        "A link whose flood queue is stuck this many ms is closed (default 60000)",
      ),
      f(
        "DuplicateNotice",
        "string",
        "What a credible duplicate-node notice does: stay (log, keep running) or exit (stop " +
          "this node, as Go does)",
        { default: "stay" },
      ),
      f("ReceptorKubeSupportReconnect", "string", ""),
      f("ReceptorKubeClientsetQPS", "string", ""),
      f("ReceptorKubeClientsetBurst", "string", ""),
      f("ReceptorKubeClientsetRateLimiter", "string", ""),
    ],
  },
  {
    name: "local-only",
    kind: "local-only",
    description: "Runs a self-contained node with no backend",
    singleton: true,
    fields: [f("Local", "bool", "")],
  },
  {
    name: "version",
    kind: "version",
    description: "Displays the Receptor version.",
    exclusive: true,
    fields: [],
  },
  {
    name: "log-level",
    kind: "log-level",
    description: "Specifies the verbosity level for command output",
    singleton: true,
    fields: [
      f("Level", "string", "Log level: Error, Warning, Info or Debug", {
        bare: true,
        default: "error",
      }),
    ],
  },
  {
    name: "trace",
    kind: "trace",
    description: "Enables packet tracing output",
    singleton: true,
    fields: [],
  },
  {
    name: "tls-server",
    kind: "tls-server",
    description: "Define a TLS server configuration",
    group: GROUP_CONFIG,
    fields: [
      f("Name", "string", "Name of this TLS server configuration", { required: true }),
      f("Cert", "string", "Server certificate filename", { required: true }),
      f("Key", "string", "Server private key filename", { required: true }),
      f("RequireClientCert", "bool", "Require client certificates", { default: "false" }),
      f("ClientCAs", "string", "Filename of CA bundle to verify client certs with"),
      f("PinnedClientCert", "strings", "Pinned fingerprint of required client certificate"),
      f(
        "SkipReceptorNamesCheck",
        "bool",
        "Skip verifying ReceptorNames OIDs in certificate at startup",
        { default: "false" },
      ),
      f("MinTLS13", "bool", "Set minimum TLS version to 1.3. Otherwise the minimum is 1.2", {
        default: "false",
      }),
    ],
  },
  {
    name: "tls-client",
    kind: "tls-client",
    description: "Define a TLS client configuration",
    group: GROUP_CONFIG,
    fields: [
      f("Name", "string", "Name of this TLS client configuration", { required: true }),
      f("Cert", "string", "Client certificate filename", { required: true }),
      f("Key", "string", "Client private key filename", { required: true }),
      f("RootCAs", "string", "Root CA bundle to use instead of system trust"),
      f("InsecureSkipVerify", "bool", "Accept any server cert", { default: "false" }),
      f("PinnedServerCert", "strings", "Pinned fingerprint of required server certificate"),
      f(
        "SkipReceptorNamesCheck",
        "bool",
        "if true, skip verifying ReceptorNames OIDs in certificate at startup",
      ),
      f("MinTLS13", "bool", "Set minimum TLS version to 1.3. Otherwise the minimum is 1.2", {
        default: "false",
      }),
    ],
  },
  {
    name: "cert-init",
    kind: "cert-init",
    description: "Initialize PKI CA",
    exclusive: true,
    group: GROUP_CERTS,
    fields: [
      f("CommonName", "string", "Common name to assign to the certificate", { required: true }),
      f("Bits", "int", "Bit length of the encryption keys of the certificate", {
        required: true,
      }),
      f("NotBefore", "string", "Effective (NotBefore) date/time, in RFC3339 format"),
      f("NotAfter", "string", "Expiration (NotAfter) date/time, in RFC3339 format"),
      f("OutCert", "string", "File to save the CA certificate to", { required: true }),
      f("OutKey", "string", "File to save the CA private key to", { required: true }),
    ],
  },
  {
    name: "cert-makereq",
    kind: "cert-makereq",
    description: "Create certificate request",
    exclusive: true,
    group: GROUP_CERTS,
    fields: [
      f("CommonName", "string", "Common name to assign to the certificate", { required: true }),
      f("Bits", "int", "Bit length of the encryption keys of the certificate"),
      f("DNSName", "strings", "DNS names to add to the certificate"),
      f("IPAddress", "strings", "IP addresses to add to the certificate"),
      f("NodeID", "strings", "Receptor node IDs to add to the certificate"),
      f("OutReq", "string", "File to save the certificate request to", { required: true }),
      f("InKey", "string", "Private key to use for the request"),
      f("OutKey", "string", "File to save the private key to (new key will be generated)"),
    ],
  },
  {
    name: "cert-signreq",
    kind: "cert-signreq",
    description: "Sign request and produce certificate",
    exclusive: true,
    group: GROUP_CERTS,
    fields: [
      f("Req", "string", "Certificate Request PEM filename", { required: true }),
      f("CACert", "string", "CA certificate PEM filename", { required: true }),
      f("CAKey", "string", "CA private key PEM filename", { required: true }),
      f("NotBefore", "string", "Effective (NotBefore) date/time, in RFC3339 format"),
      f("NotAfter", "string", "Expiration (NotAfter) date/time, in RFC3339 format"),
      f("OutCert", "string", "File to save the signed certificate to", { required: true }),
      f("Verify", "bool", "If true, do not prompt the user for verification", {
        default: "False",
      }),
    ],
  },
  {
    name: "control-service",
    kind: "control-service",
    description: "Runs a control service",
    fields: [
      f("Service", "string", "Receptor service name to listen on", { default: "control" }),
      f(
        "Filename",
        "string",
        "Specifies the filename of a local Unix socket to bind to the service.",
      ),
      f("Permissions", "int", "Socket file permissions", { default: "0600" }),
      f("TLS", "string", "Name of TLS server config for the Receptor listener"),
      f("TCPListen", "string", "Local TCP port or host:port to bind to the control service"),
      f("TCPTLS", "string", "Name of TLS server config for the TCP listener"),
    ],
  },
  {
    name: "command-service",
    kind: "command-service",
    description: "Run an interactive command via a Receptor service",
    group: GROUP_SERVICES,
    fields: [
      f("Service", "string", "Receptor service name to bind to", { required: true }),
      f("Command", "string", "Command to execute on a connection", { required: true }),
      f("TLS", "string", "Name of TLS server config"),
    ],
  },
  {
    name: "ip-router",
    kind: "ip-router",
    description: "Run an IP router using a tun interface",
    group: GROUP_SERVICES,
    fields: [
      f("NetworkName", "string", "Name of this network and service.", { required: true }),
      f("Interface", "string", "Name of the local tun interface"),
      f("LocalNet", "string", "Local /30 CIDR address", { required: true }),
      f("Routes", "string", "Comma separated list of CIDR subnets to advertise"),
    ],
  },
  {
    name: "tcp-server",
    kind: "tcp-server",
    description: "Listen for TCP and forward via Receptor",
    group: GROUP_SERVICES,
    fields: [
      f("Port", "int", "Local TCP port to bind to", { required: true }),
      f("BindAddr", "string", "Address to bind TCP listener to", { default: "0.0.0.0" }),
      f("RemoteNode", "string", "Receptor node to connect to", { required: true }),
      f("RemoteService", "string", "Receptor service name to connect to", { required: true }),
      f("TLSServer", "string", "Name of TLS server config for the TCP listener"),
      f("TLSClient", "string", "Name of TLS client config for the Receptor connection"),
    ],
  },
  {
    name: "tcp-client",
    kind: "tcp-client",
    description: "Listen on a Receptor service and forward via TCP",
    group: GROUP_SERVICES,
    fields: [
      f("Service", "string", "Receptor service name to bind to", { required: true }),
      f("Address", "string", "Address for outbound TCP connection", { required: true }),
      f("TLSServer", "string", "Name of TLS server config for the Receptor service"),
      f("TLSClient", "string", "Name of TLS client config for the TCP connection"),
    ],
  },
  {
    name: "udp-server",
    kind: "udp-server",
    description: "Listen for UDP and forward via Receptor",
    group: GROUP_SERVICES,
    fields: [
      f("Port", "int", "Local UDP port to bind to", { required: true }),
      f("BindAddr", "string", "Address to bind UDP listener to", { default: "0.0.0.0" }),
      f("RemoteNode", "string", "Receptor node to connect to", { required: true }),
      f("RemoteService", "string", "Receptor service name to connect to", { required: true }),
    ],
  },
  {
    name: "udp-client",
    kind: "udp-client",
    description: "Listen on a Receptor service and forward via UDP",
    group: GROUP_SERVICES,
    fields: [
      f("Service", "string", "Receptor service name to bind to", { required: true }),
      f("Address", "string", "Address for outbound UDP connection", { required: true }),
    ],
  },
  {
    name: "unix-socket-server",
    kind: "unix-socket-server",
    description: "Listen on a Unix socket and forward via Receptor",
    group: GROUP_SERVICES,
    fields: [
      f("Filename", "string", "Socket filename, which will be overwritten", { required: true }),
      f("Permissions", "int", "Socket file permissions", { default: "0600" }),
      f("RemoteNode", "string", "Receptor node to connect to", { required: true }),
      f("RemoteService", "string", "Receptor service name to connect to", { required: true }),
      f("TLS", "string", "Name of TLS client config for the Receptor connection"),
    ],
  },
  {
    name: "unix-socket-client",
    kind: "unix-socket-client",
    description: "Listen via Receptor and forward to a Unix socket",
    group: GROUP_SERVICES,
    fields: [
      f("Service", "string", "Receptor service name to bind to", { required: true }),
      f("Filename", "string", "Socket filename, which must already exist", { required: true }),
      f("TLS", "string", "Name of TLS server config for the Receptor connection"),
    ],
  },
  {
    name: "tcp-listener",
    kind: "tcp-listener",
    description: "Run a backend listener on a TCP port",
    group: GROUP_BACKENDS,
    fields: [
      BIND(),
      f("Port", "int", "Local TCP port to listen on", { bare: true, required: true }),
      f("TLS", "string", "Name of TLS server config"),
      COST(),
      NODECOST(),
      ALLOWED(),
      ...ADMISSION(),
    ],
  },
  {
    name: "tcp-peer",
    kind: "tcp-peer",
    description: "Make an outbound backend connection to a TCP peer",
    group: GROUP_BACKENDS,
    fields: [
      f("Address", "string", "Remote address (Host:Port) to connect to", {
        bare: true,
        required: true,
      }),
      REDIAL(),
      f("TLS", "string", "Name of TLS client config"),
      COST(),
      ALLOWED(),
    ],
  },
  {
    name: "UDP-listener",
    kind: "udp-listener",
    description: "Run a backend listener on a UDP port",
    group: GROUP_BACKENDS,
    fields: [
      BIND(),
      f("Port", "int", "Local UDP port to listen on", { bare: true, required: true }),
      COST(),
      NODECOST(),
      ALLOWED(),
      ...ADMISSION(),
    ],
  },
  {
    name: "UDP-peer",
    kind: "udp-peer",
    description: "Make an outbound backend connection to a UDP peer",
    group: GROUP_BACKENDS,
    fields: [
      f("Address", "string", "Host:Port to connect to", { bare: true, required: true }),
      REDIAL(),
      COST(),
      ALLOWED(),
    ],
  },
  {
    name: "ws-listener",
    kind: "ws-listener",
    description: "Run an http server that accepts websocket connections",
    group: GROUP_BACKENDS,
    fields: [
      BIND(),
      f("Port", "int", "Local TCP port to run http server on", { bare: true, required: true }),
      f("Path", "string", "URI path to the websocket server", { default: "/" }),
      f("TLS", "string", "Name of TLS server config"),
      COST(),
      NODECOST(),
      ALLOWED(),
      ...ADMISSION(),
    ],
  },
  {
    name: "ws-peer",
    kind: "ws-peer",
    description: "Connect outbound to a websocket peer",
    group: GROUP_BACKENDS,
    fields: [
      f("Address", "string", "URL to connect to", { bare: true, required: true }),
      REDIAL(),
      f("ExtraHeader", "string", "Sends extra HTTP header on initial connection"),
      f("TLS", "string", "Name of TLS client config"),
      COST(),
      ALLOWED(),
    ],
  },
  {
    name: "work-signing",
    kind: "work-signing",
    description: "Private key to sign work submissions",
    singleton: true,
    group: GROUP_WORKERS,
    fields: [
      f("PrivateKey", "string", "Private key to sign work submissions", { bare: true }),
      f("TokenExpiration", "string", "Expiration of the signed json web token, e.g. 3h or 3h30m"),
    ],
  },
  {
    name: "work-verification",
    kind: "work-verification",
    description: "Public key to verify work submissions",
    singleton: true,
    group: GROUP_WORKERS,
    fields: [
      f("PublicKey", "string", "Public key to verify signed work submissions", { bare: true }),
    ],
  },
  {
    name: "work-command",
    kind: "work-command",
    description: "Run a worker using an external command",
    group: GROUP_WORKERS,
    fields: [
      f("WorkType", "string", "Name for this worker type", { required: true }),
      f("Command", "string", "Command to run to process units of work", { required: true }),
      f("Params", "string", "Command-line parameters"),
      f("AllowRuntimeParams", "bool", "Allow users to add more parameters", { default: "false" }),
      f("VerifySignature", "bool", "Verify a signed work submission", { default: "false" }),
    ],
  },
  {
    name: "command-runner",
    kind: "command-runner",
    description: "Wrapper around a process invocation",
    hidden: true,
    fields: [
      f("Command", "string", "", { required: true }),
      f("Params", "string", "", { required: true }),
      f("UnitDir", "string", "", { required: true }),
    ],
  },
  {
    name: "work-kubernetes",
    kind: "work-kubernetes",
    description: "Run a worker using Kubernetes",
    group: GROUP_WORKERS,
    fields: [
      f("WorkType", "string", "Name for this worker type", { required: true }),
      f("Namespace", "string", "Kubernetes namespace to create pods in"),
      f("Image", "string", "Container image to use for the worker pod"),
      f("Command", "string", "Command to run in the container (overrides entrypoint)"),
      f("Params", "string", "Command-line parameters to pass to the entrypoint"),
      f("AuthMethod", "string", "One of: kubeconfig, incluster", { default: "incluster" }),
      f("KubeConfig", "string", "Kubeconfig filename (for authmethod=kubeconfig)"),
      f("Pod", "string", "Pod definition filename, in json or yaml format"),
      f("AllowRuntimeAuth", "bool", "Allow passing API parameters at runtime", {
        default: "false",
      }),
      f("AllowRuntimeCommand", "bool", "Allow specifying image & command at runtime", {
        default: "false",
      }),
      f("AllowRuntimeParams", "bool", "Allow adding command parameters at runtime", {
        default: "false",
      }),
      f("AllowRuntimePod", "bool", "Allow passing Pod at runtime", { default: "false" }),
      f("DeletePodOnRestart", "bool", "On restart, delete the pod if in pending state", {
        default: "true",
      }),
      f("StreamMethod", "string", "Method for connecting to worker pods: logger or tcp", {
        default: "logger",
      }),
      f("VerifySignature", "bool", "Verify a signed work submission", { default: "false" }),
    ],
  },
  {
    name: "work-python",
    kind: "work-python",
    description: "Run a worker using a Python plugin\n[DEPRECATION WARNING] This option is not " +
      "currently being used. This feature will be removed from receptor in a future release.",
    group: GROUP_WORKERS,
    fields: [
      f("WorkType", "string", "Name for this worker type", { required: true }),
      f("Plugin", "string", "Python module name of the worker plugin", { required: true }),
      f("Function", "string", "Receptor-exported function to call", { required: true }),
      f("Config", "anymap", "Plugin-specific configuration"),
    ],
  },
  // Not upstream: a work type running a Deno module under Deno's permission sandbox.
  {
    name: "work-deno",
    kind: "work-deno",
    description: "Run a worker as a Deno module with restricted permissions (not in upstream)",
    group: GROUP_WORKERS,
    fields: [
      f("WorkType", "string", "Name for this worker type", { required: true }),
      f("Module", "string", "Path or file URL of the TS/JS module to run", { required: true }),
      f("AllowRead", "strings", "Paths the module may read (empty: none)"),
      f("AllowWrite", "strings", "Paths the module may write (empty: none)"),
      f("AllowNet", "strings", "Hosts the module may reach (empty: none)"),
      f("AllowEnv", "strings", "Environment variables the module may read (empty: none)"),
      f("AllowRun", "strings", "Programs the module may run (empty: none)"),
      f("AllowRuntimeParams", "bool", "Allow users to add module arguments", { default: "false" }),
      f("VerifySignature", "bool", "Verify a signed work submission", { default: "false" }),
    ],
  },
  // Not upstream: automatic release of finished work units and give-up of stuck releases.
  {
    name: "work-retention",
    kind: "work-retention",
    description: "Release finished work units automatically and give up releases stuck on " +
      "unreachable nodes (not in upstream)",
    singleton: true,
    group: GROUP_WORKERS,
    fields: [
      f("MaxAge", "string", "Release finished units this long after they finished (e.g. 24h)"),
      f("MaxCount", "int", "Keep at most this many finished units; release the oldest beyond", {
        default: "0",
      }),
      f("Interval", "string", "How often to look for units to release", { default: "1m" }),
      f(
        "ReleaseGiveUp",
        "string",
        "Give up a pending remote release after its node stays unreachable this long",
      ),
    ],
  },
  // Not upstream: the node's HTTP endpoint for operators (metrics, health, live mesh page).
  {
    name: "observability",
    kind: "observability",
    description: "Serve /metrics (Prometheus), /health, /ready and a live mesh page over HTTP " +
      "(not in upstream)",
    singleton: true,
    fields: [
      f("Address", "string", "host:port to listen on (loopback by default)", {
        default: "127.0.0.1:9180",
      }),
      f("TLS", "string", "Name of TLS server config (HTTPS; its clientcas require client certs)"),
      f("MinPeers", "int", "/health answers 503 while fewer peers are connected", {
        default: "0",
      }),
      f("MeshPage", "bool", "Serve the live mesh page at /", { default: "true" }),
    ],
  },
] as const satisfies readonly SectionSpec[];

/** Every v1 section, in upstream registration order. */
export const SECTIONS: readonly SectionSpec[] = SECTION_TABLE;

/** Look up a section by its lower-case name (exact, case-sensitive match). */
export function sectionSpec(kind: string): SectionSpec | undefined {
  return SECTIONS.find((s) => s.kind === kind);
}
