/**
 * Deadlines for many short operations on one timer: each operation is added with
 * its deadline and deleted when it settles (a Set add and delete, no timer per
 * operation). The one timer is armed for the earliest deadline known when it was
 * set; when it fires it expires what is due and re-arms for the earliest left.
 * Operations that all use the same timeout arrive in deadline order, so the timer
 * is re-armed about once per timeout period, not per operation.
 *
 * The timer is unref'd: what keeps a process alive is the operations' own I/O.
 */
import { performance } from "node:perf_hooks";

export interface Expiring {
  /** performance.now() time at which expire() is due. */
  readonly deadline: number;
  expire(): void;
}

export class DeadlineTimer {
  private readonly live = new Set<Expiring>();
  private timer: NodeJS.Timeout | null = null;
  private firesAt = Number.POSITIVE_INFINITY;

  add(item: Expiring): void {
    this.live.add(item);
    if (item.deadline < this.firesAt) this.arm(item.deadline);
  }

  delete(item: Expiring): void {
    this.live.delete(item);
  }

  /** Operations still waiting for their deadline. */
  get size(): number {
    return this.live.size;
  }

  /** Stops the timer; the operations left are not expired. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.firesAt = Number.POSITIVE_INFINITY;
    this.live.clear();
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.firesAt = at;
    // +1: the timer's millisecond clock must not fire before performance.now() reaches `at`.
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - performance.now()) + 1));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.firesAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const due: Expiring[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const item of this.live) {
      if (item.deadline <= now) due.push(item);
      else if (item.deadline < next) next = item.deadline;
    }
    for (const item of due) this.live.delete(item);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    // A late wake-up finds several due: they expire in deadline order.
    if (due.length > 1) due.sort((a, b) => a.deadline - b.deadline);
    for (const item of due) item.expire();
  };
}
