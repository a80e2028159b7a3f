/**
 * The tag swap's locks shared by every replica, in Redis (same interfaces as
 * the in-process ones in tags/locks.ts, which stay in front so that waiters of
 * one replica queue locally, in order, instead of polling Redis).
 *
 * - Tag lock: `SET`-if-absent with a lease (PX) holding a fencing token from
 *   `INCR` (one script: tokens grow in the order locks are granted). Renewed
 *   every lease/3 while held; released only by its holder (compare and delete).
 *   A dead or paused replica's lock expires after the lease.
 * - Fencing: before every upstream write of a swap, `Lease.check()` reads the
 *   lock: when it no longer holds our token (expired, taken by another replica)
 *   the step is not taken (CoordinationError "lease-lost"). When Redis cannot
 *   be asked, the step goes on only while the lease, counted from the last
 *   confirmed grant or renewal on our own clock, has not run out.
 *   The registry itself knows no tokens: a replica paused between its check and
 *   its write can still land that one write late; the swap's unique tombstones
 *   and re-checks keep even that from leaving a tag on a tombstone.
 * - Phase lock per repository: a sorted set of holders (score: lease end, on
 *   Redis's clock) and the running phase; a holder joins when nobody holds or
 *   its phase runs and no holder of the other phase waits. Expired holders
 *   (dead replicas) are dropped by the next attempt. Entering and leaving a
 *   "put" phase each count in the repository's put counter (in the same script),
 *   read by `putStamp`: unchanged means no tag was written through any replica.
 * When Redis cannot be asked for a phase, the step runs under the in-process
 * phase only (the tag lease, checked before it, still fences it).
 * Waiting is polling with jitter (10-40 ms), bounded by `waitMs` ("busy").
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { CoordinationError, type Lease, type Phase, PhaseLock, type SharedLocks } from "../tags/locks.js";
import { createKeyedMutex } from "../util/keyed-mutex.js";

const ACQUIRE_TAG = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], t, 'PX', ARGV[1])
return t`;

const RENEW_TAG = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE_TAG = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS: holders (zset), running phase, waiting phase, put counter. ARGV: phase, holder, lease ms.
// Entering (and leaving) a "put" phase counts in the put counter (PhaseLocks.putStamp).
const ACQUIRE_PHASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local running = redis.call('GET', KEYS[2])
local waiting = redis.call('GET', KEYS[3])
local free = redis.call('ZCARD', KEYS[1]) == 0
if free or (running == ARGV[1] and (not waiting or waiting == ARGV[1])) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if waiting == ARGV[1] then redis.call('DEL', KEYS[3]) end
  if ARGV[1] == 'put' then redis.call('INCR', KEYS[4]) end
  return 1
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
return 0`;

const RENEW_PHASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

// KEYS: holders, running phase, put counter. ARGV: holder, phase.
const RELEASE_PHASE = `
if ARGV[2] == 'put' then redis.call('INCR', KEYS[3]) end
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return 1`;

export interface RedisLockOptions {
  redis: Redis;
  /** Key prefix (SharedState.prefix). */
  prefix: string;
  leaseMs: number;
  /** Renewal period while held (default lease/3). */
  renewEveryMs?: number;
  /** Longest wait for a lock before "busy" (default 3 leases; the server passes at least upstream.requestTimeoutMs). */
  waitMs?: number;
  /** Clock for the local lease validity (tests). */
  now?: () => number;
  /** A held tag lock found taken or expired. */
  onLeaseLost?: () => void;
  /** Seconds waited for a lock (kind "tag" or "phase"). */
  onWait?: (kind: "tag" | "phase", seconds: number) => void;
}

function pause(attempt: number): Promise<void> {
  const ms = Math.min(10 * 2 ** Math.min(attempt, 2), 40) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a Redis command; any failure of Redis itself is a CoordinationError "unavailable". */
async function ask<T>(what: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw new CoordinationError(`redis unavailable (${what}): ${(err as Error).message}`, "unavailable");
  }
}

/** The settings every lock of one replica shares. */
interface LockContext {
  o: RedisLockOptions;
  now: () => number;
  renewEvery: number;
  waitMs: number;
  /** The lease as Redis takes it (milliseconds, a string). */
  lease: string;
}

/** Tries `attempt` (null: not had) until it gives, or `waitMs` ran out ("busy"). */
async function waitFor<T>(
  c: LockContext,
  kind: "tag" | "phase",
  attempt: () => Promise<T | null>,
): Promise<T> {
  const started = c.now();
  for (let i = 0; ; i++) {
    const got = await attempt();
    if (got !== null) {
      c.o.onWait?.(kind, (c.now() - started) / 1000);
      return got;
    }
    if (c.now() - started > c.waitMs) {
      throw new CoordinationError(`${kind} lock still held by another replica after ${c.waitMs} ms`, "busy");
    }
    await pause(i);
  }
}

/**
 * The lease of a held tag lock: renewed every `renewEvery` while held, and the
 * fencing check before every write. `stop()` ends the renewal.
 */
function heldLease(c: LockContext, key: string, lockKey: string, token: number, grantedAt: number) {
  const { o } = c;
  let validUntil = grantedAt + o.leaseMs;
  let lost = false;
  const loseIt = () => {
    if (lost) return;
    lost = true;
    o.onLeaseLost?.();
  };
  const renewal = setInterval(() => {
    const t0 = c.now();
    o.redis.eval(RENEW_TAG, 1, lockKey, String(token), c.lease).then(
      (ok) => {
        if (Number(ok) === 1) validUntil = t0 + o.leaseMs;
        else loseIt();
      },
      () => {}, // unreachable: the local validity decides
    );
  }, c.renewEvery);
  renewal.unref();
  const lease: Lease = {
    token,
    async check() {
      if (!lost) {
        let holder: string | null;
        try {
          holder = await o.redis.get(lockKey);
        } catch (err) {
          if (c.now() < validUntil) return;
          throw new CoordinationError(
            `redis unavailable and the lease ran out: ${(err as Error).message}`,
            "unavailable",
          );
        }
        if (holder === String(token)) return;
        loseIt();
      }
      throw new CoordinationError(
        `the lease on ${key.replace("\n", ":")} expired (token ${token}); another replica may own it`,
        "lease-lost",
      );
    },
  };
  return { lease, stop: () => clearInterval(renewal) };
}

async function holdTag<T>(c: LockContext, key: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
  const { o } = c;
  const lockKey = `${o.prefix}lock:tag:${key}`;
  const fence = `${o.prefix}fence`;
  let grantedAt = 0;
  const token = await waitFor(c, "tag", async () => {
    const t0 = c.now();
    const t = Number(await ask("tag lock", () => o.redis.eval(ACQUIRE_TAG, 2, lockKey, fence, c.lease)));
    if (t === 0) return null;
    grantedAt = t0;
    return t;
  });
  const held = heldLease(c, key, lockKey, token, grantedAt);
  try {
    return await fn(held.lease);
  } finally {
    held.stop();
    // Best effort: an unreleased lock expires with its lease.
    await o.redis.eval(RELEASE_TAG, 1, lockKey, String(token)).catch(() => {});
  }
}

/** The repository's put counter (PhaseLocks.putStamp). */
function putsKey(o: RedisLockOptions, key: string): string {
  return `${o.prefix}phase:${key}:puts`;
}

async function holdPhase<T>(c: LockContext, key: string, phase: Phase, fn: () => Promise<T>): Promise<T> {
  const { o } = c;
  const keys = [
    `${o.prefix}phase:${key}:holders`,
    `${o.prefix}phase:${key}:running`,
    `${o.prefix}phase:${key}:waiting`,
    putsKey(o, key),
  ];
  const holder = randomUUID();
  try {
    await waitFor(c, "phase", async () => {
      const ok = await ask("phase lock", () =>
        o.redis.eval(ACQUIRE_PHASE, 4, ...keys, phase, holder, c.lease),
      );
      return Number(ok) === 1 ? true : null;
    });
  } catch (err) {
    // The shared phase only spares the registry's DELETE-vs-PUT race (retried
    // by the swap): without Redis, a step already fenced by its tag lease goes
    // on under the in-process phase alone.
    if (!(err instanceof CoordinationError) || err.reason !== "unavailable") throw err;
    return fn();
  }
  const renewal = setInterval(() => {
    o.redis.eval(RENEW_PHASE, 2, keys[0]!, keys[1]!, holder, c.lease).catch(() => {});
  }, c.renewEvery);
  renewal.unref();
  try {
    return await fn();
  } finally {
    clearInterval(renewal);
    await o.redis.eval(RELEASE_PHASE, 3, keys[0]!, keys[1]!, keys[3]!, holder, phase).catch(() => {});
  }
}

export function createRedisLocks(o: RedisLockOptions): SharedLocks {
  const c: LockContext = {
    o,
    now: o.now ?? Date.now,
    renewEvery: o.renewEveryMs ?? Math.floor(o.leaseMs / 3),
    waitMs: o.waitMs ?? 3 * o.leaseMs,
    lease: String(o.leaseMs),
  };
  // In front: waiters of this replica queue here, in order, instead of polling Redis.
  const localTags = createKeyedMutex();
  const localPhases = new PhaseLock();
  return {
    tags: { run: (key, fn) => localTags.run(key, () => holdTag(c, key, fn)) },
    phases: {
      run: (key, phase, fn) => localPhases.run(key, phase, () => holdPhase(c, key, phase, fn)),
      async putStamp(key) {
        try {
          return (await o.redis.get(putsKey(o, key))) ?? "0";
        } catch {
          return null;
        }
      },
    },
  };
}
