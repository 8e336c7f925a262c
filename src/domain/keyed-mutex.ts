/**
 * Runs async critical sections one at a time per key, in arrival order, and
 * lets different keys run in parallel. A key's queue is dropped as soon as
 * it drains, so memory grows with the keys in use, not the keys ever seen.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await section();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a section running or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
