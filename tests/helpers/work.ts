/**
 * Expected shapes of work-unit data that several tests check against Go receptor's output.
 * @module
 */

/** The keys of a remote unit's ExtraData in Go's order (its RemoteExtraData struct). */
export const REMOTE_EXTRA_DATA_KEYS = [
  "RemoteNode",
  "RemoteWorkType",
  "RemoteParams",
  "RemoteUnitID",
  "RemoteStarted",
  "LocalCancelled",
  "LocalReleased",
  "SignWork",
  "TLSClient",
  "Expiration",
] as const;
