/**
 * Logs the first of a run of identical failures and counts the rest: one
 * line when a failure starts, then one summary per interval with how many
 * followed (a backend outage under load otherwise writes a line per call:
 * 11,582 lines in 6 s were seen). Keys must be bounded (method and code).
 */
export class RepeatThrottle {
  private readonly windows = new Map<string, { repeats: number }>();

  constructor(private readonly intervalMs: number) {}

  /**
   * True if this occurrence should be logged now. Otherwise it is counted,
   * and `summarise(repeats)` runs once at the end of the interval.
   */
  admit(key: string, summarise: (repeats: number) => void): boolean {
    const window = this.windows.get(key);
    if (window) {
      window.repeats++;
      return false;
    }
    const opened = { repeats: 0 };
    this.windows.set(key, opened);
    setTimeout(() => {
      this.windows.delete(key);
      if (opened.repeats > 0) summarise(opened.repeats);
    }, this.intervalMs).unref();
    return true;
  }
}
