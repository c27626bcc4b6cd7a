/**
 * The plug-in seam of the work engine: every work type (`work-command`, `work-deno`, `remote`,
 * ...) implements {@link WorkUnitType}, and the engine never names a type. The engine owns unit
 * IDs, directories, the status file and result streaming; a type owns how a unit runs.
 *
 * Adding a work type:
 * 1. Write one file `src/work/<name>_unit.ts` with a class implementing {@link WorkUnitType}:
 *    `allocate` validates parameters (throw with the upstream text to refuse) and returns the
 *    unit's ExtraData; `start` resolves `"started"` (or nothing), or `"deferred"` when it accepted
 *    the unit and carries on in the background (the submit reply is then `Job Submitted`);
 *    `restart` resumes a unit found on disk; `cancel`/`release` answer `"done"` or `"pending"`.
 *    Record failures with {@link failUnit}.
 * 2. Register it: `await work.registerType(new MyType(section, deps))` beside the `work-deno`
 *    registration in src/node/node.ts; its config section goes in src/config/schema.ts (and
 *    its typed form in src/config/types.ts) like the other `work-*` sections.
 * @module
 */

import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";
import type { StatusFileData } from "./status_file.ts";
import { WorkState } from "./status_file.ts";
import type { StartResult } from "./submit_protocol.ts";

export type { StartResult } from "./submit_protocol.ts";

/** A unit as a work type sees it. */
export interface UnitContext {
  /** The unit ID (validated alphanumeric). */
  readonly id: string;
  /** Absolute unit directory `<datadir>/<nodeID>/<unitID>`. */
  readonly dir: string;
  /** The unit's work type name. */
  readonly workType: string;
  /** Logger (messages are prefixed with `[<unitID>]` by convention). */
  readonly logger: Logger;
  /** Aborted when the unit is released or the engine closes: stop background tasks. */
  readonly signal: AbortSignal;
  /** Load the status file (under its lock). */
  load(): Promise<StatusFileData>;
  /** Read-modify-write the status file (under its lock). */
  update(change: (s: StatusFileData) => void): Promise<StatusFileData>;
}

/** Result of cancel/release: done now, or retried in the background. */
export type WorkOpResult = "done" | "pending";

/** One registered work type. */
export interface WorkUnitType {
  /** Work type name (unique per node). */
  readonly name: string;
  /** Whether submissions must carry a verified signature (advertised as `Secure`). */
  readonly verifySignature: boolean;
  /** Whether to list it in the control service's `WorkCommands` (false for internal types). */
  readonly advertise: boolean;
  /**
   * Whether requests about an existing unit (results, cancel, release) must carry a verified
   * signature. Absent: {@link verifySignature}. (A `remote` unit asks when it was submitted with
   * `signwork`.)
   */
  signatureRequired?(status: StatusFileData): boolean;
  /**
   * Validate the work parameters of a new unit and return its initial ExtraData. Called
   * BEFORE the unit directory exists; throw an Error with the upstream message to refuse.
   */
  allocate(params: Record<string, string>): unknown;
  /**
   * Start a freshly submitted unit (status is Pending `Starting Worker`). Resolve `"started"`
   * (or nothing) when it runs, `"deferred"` when it was accepted and continues in the
   * background; throw to fail the unit with `Error starting worker: <message>`.
   */
  start(unit: UnitContext): Promise<StartResult | void>;
  /** Resume (or fail) a unit found on disk at startup. */
  restart(unit: UnitContext): Promise<void>;
  /** Cancel a unit; a finished unit is left unchanged. */
  cancel(unit: UnitContext): Promise<WorkOpResult>;
  /** Everything release needs before the engine deletes the directory (implies cancel). */
  release(unit: UnitContext, force: boolean): Promise<WorkOpResult>;
  /**
   * Whether a release of this unit is still under way in the background (e.g. waiting for a
   * remote node); retention never picks such a unit. Absent: never.
   */
  releasePending?(status: StatusFileData): boolean;
  /** Optional redaction of control replies (the file on disk keeps everything). */
  redact?(status: StatusFileData): StatusFileData;
  /** Stop background work without touching running jobs (engine shutdown). */
  close?(): void;
}

/**
 * Mark `unit` Failed with `detail` (and `stdoutSize` when given). Used where the caller is
 * already handling a failure: a failed status write is logged, not thrown, so the original
 * error still reaches the user. Resolves false when the write failed.
 */
export async function failUnit(
  unit: UnitContext,
  detail: string,
  stdoutSize?: number,
): Promise<boolean> {
  try {
    await unit.update((s) => {
      s.State = WorkState.Failed;
      s.Detail = detail;
      if (stdoutSize !== undefined) s.StdoutSize = stdoutSize;
    });
    return true;
  } catch (e) {
    unit.logger.error(`[${unit.id}] could not record failure "${detail}": ${errorText(e)}`);
    return false;
  }
}
