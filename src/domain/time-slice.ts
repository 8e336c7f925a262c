import { setImmediate as nextTurn } from "node:timers/promises";

/** How long a request's synchronous work may hold the event loop before it yields. */
export const sliceMs = 4;

/**
 * Cooperative time slicing for work that is linear but large (counting the
 * tokens of 4 MiB of text, scanning it for personal data): the work calls
 * the returned function between units, and it yields to the event loop once
 * a slice has been used, so other callers' requests run in between. Throws
 * the signal's reason if the call was abandoned meanwhile.
 */
export function timeSlicer(signal?: AbortSignal): () => Promise<void> {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await nextTurn();
    signal?.throwIfAborted();
    sliceStart = performance.now();
  };
}
