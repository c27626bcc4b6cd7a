/**
 * The plug-in seam of the work engine: every work type (`work-command` now; `remote` and a
 * Deno-sandboxed type later) implements {@link WorkUnitType}. The engine owns unit IDs,
 * directories, the status file and result streaming; a type owns how a unit runs.
 * @module
 */

import type { Logger } from "../log.ts";
import type { StatusFileData } from "./status_file.ts";

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

/** Result of cancel/release: done now, or retried in the background (remote units). */
export type WorkOpResult = "done" | "pending";

/** One registered work type. */
export interface WorkUnitType {
  /** Work type name (unique per node). */
  readonly name: string;
  /** Whether submissions must carry a verified signature (advertised as `Secure`). */
  readonly verifySignature: boolean;
  /** Whether to list it in the control service's `WorkCommands` (false for `remote`). */
  readonly advertise: boolean;
  /**
   * Validate the work parameters of a new unit and return its initial ExtraData. Called
   * BEFORE the unit directory exists; throw an Error with the upstream message to refuse.
   */
  allocate(params: Record<string, string>): unknown;
  /** Start a freshly submitted unit (status is Pending `Starting Worker`). */
  start(unit: UnitContext): Promise<void>;
  /** Resume (or fail) a unit found on disk at startup. */
  restart(unit: UnitContext): Promise<void>;
  /** Cancel a unit; a finished unit is left unchanged. */
  cancel(unit: UnitContext): Promise<WorkOpResult>;
  /** Everything release needs before the engine deletes the directory (implies cancel). */
  release(unit: UnitContext, force: boolean): Promise<WorkOpResult>;
  /** Optional redaction of control replies (the file on disk keeps everything). */
  redact?(status: StatusFileData): StatusFileData;
  /** Stop background work without touching running jobs (engine shutdown). */
  close?(): void;
}
