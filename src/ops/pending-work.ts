/**
 * Work still running (the promises of the requests the proxy answers itself), as
 * a count and the callers waiting for it to reach zero: the shutdown waits for
 * them, nothing else reads them.
 *
 * Not a Set of the promises: a Set that lives as long as the server is in the old
 * generation, and every add and delete that resizes its table allocates the new
 * table there too (V8 allocates a rehashed table in the generation of the old
 * one). Under 14,000 cached tag lists a second that was 5 MiB of old generation
 * in 4 s, garbage that only a full collection frees (docs/performance.md).
 */
export class PendingWork {
  #count = 0;
  #waiters: (() => void)[] = [];
  readonly #done = (): void => {
    this.#count--;
    if (this.#count > 0 || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  };

  /** Counts `work` until it settles (fulfilled or rejected). */
  track(work: Promise<unknown>): void {
    this.#count++;
    work.then(this.#done, this.#done);
  }

  /** Work tracked and not settled yet. */
  get size(): number {
    return this.#count;
  }

  /** Resolves once no tracked work is running (at once when none is). */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
