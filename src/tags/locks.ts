/**
 * In-process locks for the tag swap.
 *
 * - Tag locks (`localTagLocks`, on util/keyed-mutex.ts): one holder per key.
 *   Deletes of the same tag through one proxy run one after the other, so the
 *   second sees the tag gone (404) instead of racing the first.
 * - `PhaseLock`: per repository, any number of holders of one phase ("put" or
 *   "delete") at a time, never both phases together. 2.8 deletes a manifest by
 *   scanning every tag link of the repository; a tag link being rewritten by a
 *   PUT at that moment makes the scan fail with a 500 (registry-2.8 notes §12),
 *   while parallel DELETEs alone, or parallel PUTs alone, never fail. Batching by
 *   phase keeps many swaps in one repository parallel without racing ourselves.
 *   Waiters are served in arrival order by phase batches, so neither phase
 *   starves: once someone waits, newcomers of the running phase queue too.
 *
 * Neither holds state for idle keys (bounded by the work in flight).
 *
 * `TagLocks` and `PhaseLocks` are what the swap needs of them; with Redis
 * (state.redisUrl) src/state/redis-locks.ts implements both across replicas,
 * with leases and a fencing `Lease` checked before every upstream write.
 */

import { createKeyedMutex } from "../util/keyed-mutex.js";

type Release = () => void;

/** A lock held in shared state, with a lease: checked before every upstream write (fencing). */
export interface Lease {
  /** The fencing token: monotonically increasing across every replica. */
  readonly token: number;
  /** Resolves while the lease is still ours; rejects with a CoordinationError otherwise. */
  check(): Promise<void>;
}

/** One holder per key (the same tag). `fn` gets the lease when the lock is shared. */
export interface TagLocks {
  run<T>(key: string, fn: (lease: Lease | null) => Promise<T>): Promise<T>;
}

/**
 * Per repository, one phase at a time ("put" or "delete"), any number of holders
 * of it. A "put" names the tag it writes when it knows it (for announcingPuts).
 */
export interface PhaseLocks {
  run<T>(key: string, phase: Phase, fn: () => Promise<T>, tag?: string): Promise<T>;
  /**
   * Replicas: a value that changes whenever a "put" phase of `key` is entered or
   * left on any replica; null when it cannot be read now. Absent in one process.
   */
  putStamp?(key: string): Promise<string | null>;
}

/** The locks of a tag swap when replicas share them (Redis). */
export interface SharedLocks {
  readonly tags: TagLocks;
  readonly phases: PhaseLocks;
}

/** Shared state could not give or keep a lock: the step was not taken. */
export class CoordinationError extends Error {
  constructor(
    message: string,
    /** unavailable: Redis unreachable; lease-lost: another replica may own it now; busy: waited too long. */
    readonly reason: "unavailable" | "lease-lost" | "busy",
  ) {
    super(message);
    this.name = "CoordinationError";
  }
}

/** The tag lock's key: a tag delete and a PUT to an immutable tag of the same tag exclude each other. */
export function tagLockKey(repository: string, tag: string): string {
  return `${repository}\n${tag}`;
}

/** Phase locks whose every step first checks `lease` (a step no longer owned is never taken). */
export function fenced(phases: PhaseLocks, lease: Lease | null, onStep?: () => void): PhaseLocks {
  if (lease === null) return phases;
  return {
    run: (key, phase, fn, tag) =>
      phases.run(
        key,
        phase,
        async () => {
          await lease.check();
          onStep?.();
          return fn();
        },
        tag,
      ),
  };
}

/**
 * Phase locks that call `onPut(key, tag)` once a "put" phase of `key` is held and
 * again before it is left (whatever `fn` did): every tag written through them is
 * seen while no "delete" phase of the repository can run (the digest delete
 * guard's cache, tags/tag-digest-cache.ts, drops that tag then, or the whole
 * repository when the writer did not name its tag).
 */
export function announcingPuts(
  phases: PhaseLocks,
  onPut: (key: string, tag: string | undefined) => void,
): PhaseLocks {
  const announced: PhaseLocks = {
    run: (key, phase, fn, tag) =>
      phase !== "put"
        ? phases.run(key, phase, fn, tag)
        : phases.run(
            key,
            phase,
            async () => {
              onPut(key, tag);
              try {
                return await fn();
              } finally {
                onPut(key, tag);
              }
            },
            tag,
          ),
  };
  if (phases.putStamp) announced.putStamp = (key) => phases.putStamp!(key);
  return announced;
}

/** One proxy's tag locks (no replicas): the keyed mutex, without a lease. */
export function localTagLocks(): TagLocks {
  const mutex = createKeyedMutex();
  return { run: (key, fn) => mutex.run(key, () => fn(null)) };
}

export type Phase = "put" | "delete";

interface Waiter {
  phase: Phase;
  grant: () => void;
}

interface PhaseState {
  phase: Phase | null;
  holders: number;
  queue: Waiter[];
}

export class PhaseLock implements PhaseLocks {
  private readonly states = new Map<string, PhaseState>();

  async acquire(key: string, phase: Phase): Promise<Release> {
    let s = this.states.get(key);
    if (!s) {
      s = { phase: null, holders: 0, queue: [] };
      this.states.set(key, s);
    }
    const state = s;
    if (state.holders === 0 || (state.phase === phase && state.queue.length === 0)) {
      state.phase = phase;
      state.holders++;
    } else {
      await new Promise<void>((grant) => state.queue.push({ phase, grant }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.holders--;
      if (state.holders > 0) return;
      const next = state.queue[0];
      if (!next) {
        state.phase = null;
        this.states.delete(key);
        return;
      }
      // Grant every waiter of the next phase that is already queued.
      state.phase = next.phase;
      const granted = state.queue.filter((w) => w.phase === next.phase);
      state.queue = state.queue.filter((w) => w.phase !== next.phase);
      state.holders = granted.length;
      for (const w of granted) w.grant();
    };
  }

  async run<T>(key: string, phase: Phase, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key, phase);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Repositories with holders or waiters. */
  get size(): number {
    return this.states.size;
  }
}
