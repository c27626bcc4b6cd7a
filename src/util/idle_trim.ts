/**
 * Process-wide buffer pools (QUIC send blocks, mesh link write buffers) register a function
 * that empties them; the node's idle memory reclaimer (src/node/memory.ts) runs them before
 * its GC, so pools filled by a burst shrink once the process is idle instead of pinning
 * their peak for good.
 * @module
 */

const trims = new Set<() => void>();

/** Register `trim` (empties a pool); returns a function that unregisters it. */
export function registerIdleTrim(trim: () => void): () => void {
  trims.add(trim);
  return () => void trims.delete(trim);
}

/** Empty every registered pool (called when the process is idle). */
export function runIdleTrims(): void {
  for (const t of trims) t();
}
