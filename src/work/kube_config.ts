/**
 * Where a `work-kubernetes` unit finds its API server and credentials: a kubeconfig (file or
 * the text AWX passes as `secret_kube_config`) or the in-cluster service account. Pure parsing
 * (text in, {@link KubeConnection} out) plus one small file-reading helper; the HTTP side is
 * in kube_client.ts.
 *
 * Supported kubeconfig parts: the current context's cluster `server`, `certificate-authority`
 * / `certificate-authority-data`, the user's `token` / `tokenFile`, `client-certificate(-data)`
 * + `client-key(-data)`, `username` + `password`, and the context's `namespace`. Not supported
 * (clear error instead): `exec` and `auth-provider` plugins, and `insecure-skip-tls-verify`
 * (Deno can only switch certificate checks off for the whole process, and TLS to the API
 * server is always verified here).
 * @module
 */
import { parse as parseYaml } from "yaml";

/** Everything needed to talk to one API server. */
export interface KubeConnection {
  /** Base URL, no trailing slash (`https://10.0.0.1:6443`). */
  server: string;
  /** Extra PEM CA certificates for the server's certificate. */
  caCerts: string[];
  /** Bearer token, if any. */
  token?: string;
  /** Basic auth, if any. */
  basic?: { username: string; password: string };
  /** Client certificate and key (PEM), if any. */
  clientCert?: { cert: string; key: string };
  /** The context's namespace ("" when it names none). */
  namespace: string;
}

/** A kubeconfig problem; the message names what is wrong. */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeConfigError";
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v as Obj : {};
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function named(list: unknown, name: string, what: string): Obj {
  if (Array.isArray(list)) {
    for (const item of list) {
      const o = obj(item);
      if (o.name === name) return obj(o[what]);
    }
  }
  throw new KubeConfigError(`kubeconfig: ${what} "${name}" not found`);
}

function b64(text: string, what: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => {
      return c.charCodeAt(0);
    }));
  } catch {
    throw new KubeConfigError(`kubeconfig: ${what} is not valid base64`);
  }
}

/** Reads a file named in a kubeconfig (relative to the kubeconfig's directory). */
export type FileReader = (path: string) => string;

function fileOrData(o: Obj, key: string, read: FileReader | null): string {
  const data = str(o[`${key}-data`]);
  if (data) return b64(data, `${key}-data`);
  const file = str(o[key]);
  if (!file) return "";
  if (!read) throw new KubeConfigError(`kubeconfig: ${key} file ${file} cannot be read here`);
  try {
    return read(file);
  } catch (e) {
    throw new KubeConfigError(`kubeconfig: reading ${key} ${file}: ${(e as Error).message}`);
  }
}

/**
 * Parse kubeconfig text (YAML or JSON). `read` resolves file references (null: none allowed,
 * e.g. for a kubeconfig received at run time).
 */
export function parseKubeconfig(text: string, read: FileReader | null): KubeConnection {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new KubeConfigError(`kubeconfig is not valid YAML: ${(e as Error).message}`);
  }
  const root = obj(doc);
  const ctxName = str(root["current-context"]);
  if (!ctxName) throw new KubeConfigError("kubeconfig: no current-context");
  const ctx = named(root.contexts, ctxName, "context");
  const cluster = named(root.clusters, str(ctx.cluster), "cluster");
  const user = ctx.user ? named(root.users, str(ctx.user), "user") : {};
  const server = str(cluster.server).replace(/\/+$/, "");
  if (!/^https?:\/\//.test(server)) {
    throw new KubeConfigError(`kubeconfig: cluster server "${server}" is not an http(s) URL`);
  }
  if (cluster["insecure-skip-tls-verify"] === true) {
    throw new KubeConfigError(
      "kubeconfig: insecure-skip-tls-verify is not supported (TLS to the API server is always " +
        "verified); give the cluster's CA as certificate-authority-data",
    );
  }
  if (user.exec || user["auth-provider"]) {
    throw new KubeConfigError("kubeconfig: exec and auth-provider credentials are not supported");
  }
  const conn: KubeConnection = { server, caCerts: [], namespace: str(ctx.namespace) };
  const ca = fileOrData(cluster, "certificate-authority", read);
  if (ca) conn.caCerts.push(ca);
  const token = str(user.token) ||
    (str(user.tokenFile) && read ? read(str(user.tokenFile)).trim() : "");
  if (token) conn.token = token;
  if (str(user.username)) {
    conn.basic = { username: str(user.username), password: str(user.password) };
  }
  const cert = fileOrData(user, "client-certificate", read);
  const key = fileOrData(user, "client-key", read);
  if (cert && key) conn.clientCert = { cert, key };
  else if (cert || key) {
    throw new KubeConfigError("kubeconfig: client-certificate and client-key must come together");
  }
  return conn;
}

/** Read a kubeconfig file; file references inside it are relative to its directory. */
export function loadKubeconfigFile(path: string): KubeConnection {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new KubeConfigError(`could not read kubeconfig ${path}: ${(e as Error).message}`);
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  return parseKubeconfig(text, (p) => Deno.readTextFileSync(p.startsWith("/") ? p : dir + p));
}

/** The default kubeconfig path (`$KUBECONFIG`'s first entry, else `~/.kube/config`). */
export function defaultKubeconfigPath(): string {
  const env = Deno.env.get("KUBECONFIG");
  if (env) return env.split(":")[0];
  return `${Deno.env.get("HOME") ?? ""}/.kube/config`;
}

/**
 * Directory of the in-cluster service account (token, ca.crt, namespace). The standard path,
 * unless `RECEPTOR_KUBE_SERVICEACCOUNT_DIR` names another (tests).
 */
export function serviceAccountDir(): string {
  return Deno.env.get("RECEPTOR_KUBE_SERVICEACCOUNT_DIR") ??
    "/var/run/secrets/kubernetes.io/serviceaccount";
}

/** In-cluster connection from the pod's environment and service account files. */
export function inClusterConnection(): KubeConnection {
  const host = Deno.env.get("KUBERNETES_SERVICE_HOST") ?? "";
  const port = Deno.env.get("KUBERNETES_SERVICE_PORT") ?? "";
  if (!host || !port) {
    throw new KubeConfigError(
      "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and " +
        "KUBERNETES_SERVICE_PORT must be defined",
    );
  }
  const dir = serviceAccountDir();
  const read = (name: string) => {
    try {
      return Deno.readTextFileSync(`${dir}/${name}`);
    } catch (e) {
      throw new KubeConfigError(`reading ${dir}/${name}: ${(e as Error).message}`);
    }
  };
  const h = host.includes(":") ? `[${host}]` : host;
  let namespace = "";
  try {
    namespace = Deno.readTextFileSync(`${dir}/namespace`).trim();
  } catch {
    // optional
  }
  return {
    server: `https://${h}:${port}`,
    caCerts: [read("ca.crt")],
    token: read("token").trim(),
    namespace,
  };
}
