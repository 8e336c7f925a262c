/**
 * Settles with `work`, or rejects with the signal's reason as soon as the
 * call's deadline passes or the client cancels, whichever comes first. A
 * backend that hangs then costs the caller no more than its deadline; the
 * work itself is not undone, which is why every store write is atomic.
 */
export function withinDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
