/**
 * Coalesces the items of concurrent callers into batches for one runner that
 * handles a batch at a time (a model on its own thread). While a batch runs,
 * new items queue; when it finishes, everything queued (up to `maxBatch`)
 * goes as the next batch. So an idle server adds no wait at all (a lone call
 * starts at once), and under load each inference carries as many queries as
 * arrived during the previous one: 16 Recalls in flight share one or two
 * inferences instead of queueing for sixteen.
 *
 * Items submitted in the same synchronous run (one `embed` of several
 * texts) start together: dispatch waits for the microtask queue, not a timer.
 */
export class InferenceBatcher<In, Out> {
  private queue: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  private running = false;
  private scheduled = false;

  constructor(
    /** Runs one batch; returns one output per input, in order. */
    private readonly run: (batch: readonly In[]) => Promise<readonly Out[]>,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
  }

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled && !this.running) {
        this.scheduled = true;
        queueMicrotask(() => this.pump());
      }
    });
  }

  /** Items waiting for a batch (not counting the one running). */
  get waiting(): number {
    return this.queue.length;
  }

  private pump(): void {
    this.scheduled = false;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.running = true;
    this.run(batch.map((b) => b.item))
      .then(
        (outputs) => batch.forEach((b, i) => b.resolve(outputs[i]!)),
        (error: unknown) => batch.forEach((b) => b.reject(error)),
      )
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }
}
