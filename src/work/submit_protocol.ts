/**
 * The work submit protocol and unit status as they cross the control socket (control.md §2.5),
 * defined once for the server (src/control/work_command.ts), the `remote` work type and the
 * client (src/ctl/work_client.ts).
 * @module
 */

/** The built-in type that carries a submission to another node (control.md §6). */
export const REMOTE_WORK_TYPE = "remote";

/** Type names configured work types may not take (registered by the node itself). */
export const BUILT_IN_WORK_TYPES: ReadonlySet<string> = new Set([REMOTE_WORK_TYPE]);

/**
 * Keys of a submit that describe where and how to run, never work parameters. receptorctl
 * refuses these as parameter names ("Duplicate or illegal parameter").
 */
export const SUBMIT_ENVELOPE_KEYS: ReadonlySet<string> = new Set([
  "command",
  "subcommand",
  "node",
  "worktype",
  "tlsclient",
  "ttl",
]);

/** Every key of a JSON submit the server does not pass on as a work parameter. */
export const SUBMIT_RESERVED_KEYS: ReadonlySet<string> = new Set([
  ...SUBMIT_ENVELOPE_KEYS,
  "signwork",
  "signature",
]);

/** Parts of a remote submission that are not work parameters. */
export interface RemoteSubmitSpec {
  node: string;
  workType: string;
  tlsClient: string;
  ttl: string;
  signWork: boolean;
}

/** The keys {@link remoteAllocParams} adds beside the work parameters. */
export const REMOTE_SPEC_KEYS: ReadonlySet<string> = new Set([
  "node",
  "worktype",
  "tlsclient",
  "ttl",
  "signwork",
]);

/**
 * The parameter record to hand to `engine.allocate(REMOTE_WORK_TYPE, …)`: the work parameters
 * plus {@link REMOTE_SPEC_KEYS} (which are never work parameters, so they cannot collide).
 */
export function remoteAllocParams(
  spec: RemoteSubmitSpec,
  params: Record<string, string>,
): Record<string, string> {
  return {
    ...params,
    node: spec.node,
    worktype: spec.workType,
    tlsclient: spec.tlsClient,
    ttl: spec.ttl,
    signwork: spec.signWork ? "true" : "false",
  };
}

/** A unit's status as `work status` / `work list` return it (upstream field order). */
export interface WorkUnitStatus {
  State: number;
  StateName: string;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: unknown;
  /** Not upstream, `work list` only, labelled units only: the owner label (src/work/owner.ts). */
  Owner?: string;
  /** With Owner: RFC 3339 time the unit was created. */
  Created?: string;
  /** With Owner: RFC 3339 time it finished; null while active. */
  Finished?: string | null;
}

/** How a start went: running now, or accepted and continuing in the background. */
export type StartResult = "started" | "deferred";

/** The submit reply's `result` for a start. */
export function submitResultText(how: StartResult): string {
  return how === "deferred" ? "Job Submitted" : "Job Started";
}
