/**
 * The swap's locks shared through a real redis-server (src/state/redis-locks.ts),
 * with two "replicas": two lock sets, each on its own connection.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createRedisLocks, type RedisLockOptions } from "../../src/state/redis-locks.js";
import { CoordinationError, type Lease } from "../../src/tags/locks.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";

/** A promise and its resolver. */
function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("locks shared by replicas (real redis-server)", () => {
  let server: TestRedis;
  const clients: Redis[] = [];

  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server?.dispose();
  });

  async function replica(o: Partial<RedisLockOptions> = {}) {
    const redis = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    redis.on("error", () => {});
    clients.push(redis);
    if (redis.status !== "ready") await new Promise((r) => redis.once("ready", r));
    return { redis, locks: createRedisLocks({ redis, prefix: "t:", leaseMs: 5000, ...o }) };
  }

  it("one holder of a tag across replicas at a time; fencing tokens grow in grant order", async () => {
    const a = await replica();
    const b = await replica();
    let holders = 0;
    let most = 0;
    const tokens: number[] = [];
    const work = Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? a : b).locks.tags.run("repo\nx", async (lease) => {
        holders++;
        most = Math.max(most, holders);
        tokens.push((lease as Lease).token);
        await new Promise((r) => setImmediate(r));
        await (lease as Lease).check();
        holders--;
      }),
    );
    await Promise.all(work);
    assert.equal(most, 1);
    assert.equal(tokens.length, 20);
    assert.deepEqual(
      tokens,
      [...tokens].sort((x, y) => x - y),
    );
    assert.equal(new Set(tokens).size, 20);
    assert.equal(await a.redis.exists("t:lock:tag:repo\nx"), 0, "released");
  });

  it("phases across replicas: never a put and a delete together, same phases together", async () => {
    const a = await replica();
    const b = await replica();
    const running = { put: 0, delete: 0 };
    let overlapSame = false;
    const work = Array.from({ length: 30 }, (_, i) => {
      const phase = i % 3 === 0 ? "put" : "delete";
      return (i % 2 ? a : b).locks.phases.run("repo", phase, async () => {
        running[phase]++;
        assert.equal(running[phase === "put" ? "delete" : "put"], 0, "both phases at once");
        if (running[phase] > 1) overlapSame = true;
        await new Promise((r) => setTimeout(r, 5));
        running[phase]--;
      });
    });
    await Promise.all(work);
    assert.ok(overlapSame, "holders of one phase ran together");
    assert.equal(await a.redis.exists("t:phase:repo:holders"), 0, "no state left for an idle repository");
  });

  it("the put stamp changes when any replica enters or leaves a put phase, never for a delete phase", async () => {
    const a = await replica();
    const b = await replica();
    const stamp = () => a.locks.phases.putStamp!("stamped");
    const s0 = await stamp();
    assert.equal(s0, "0");
    await b.locks.phases.run("stamped", "delete", async () => {});
    assert.equal(await stamp(), s0, "a delete phase leaves it");
    let inside: string | null = null;
    await b.locks.phases.run("stamped", "put", async () => {
      inside = await stamp();
    });
    const after1 = await stamp();
    assert.notEqual(inside, s0, "changed on entering");
    assert.notEqual(after1, inside, "changed again on leaving");
    assert.equal(await a.locks.phases.putStamp!("other-repository"), "0", "per repository");
    await server.stop();
    assert.equal(await stamp(), null, "unreadable: null");
    await server.start();
    await new Promise((r) => (a.redis.status === "ready" ? r(null) : a.redis.once("ready", r)));
  });

  it("a replica paused past its lease loses the lock: the other takes it, the first cannot take its next step", async () => {
    let lostA = 0;
    // A never renews (as if paused); B waits at most 30 s.
    const a = await replica({ leaseMs: 300, renewEveryMs: 3_600_000, onLeaseLost: () => lostA++ });
    const b = await replica({ leaseMs: 5000, waitMs: 30_000 });
    const aHolds = signal<Lease>();
    const aDone = signal();
    const first = a.locks.tags.run("repo\ny", async (lease) => {
      aHolds.resolve(lease as Lease);
      await aDone.promise;
    });
    const leaseA = await aHolds.promise;
    await leaseA.check(); // still ours
    // B gets the lock only once A's lease expired in Redis.
    const tokenB = await b.locks.tags.run("repo\ny", async (lease) => {
      await (lease as Lease).check();
      // A, "resumed", must not take its step.
      await assert.rejects(
        leaseA.check(),
        (e: unknown) => e instanceof CoordinationError && e.reason === "lease-lost",
      );
      return (lease as Lease).token;
    });
    assert.ok(tokenB > leaseA.token, "the new holder's token is higher");
    assert.equal(lostA, 1);
    aDone.resolve();
    await first;
  });

  it("Redis gone: a new lock fails closed; a held lease goes on only while its lease runs on the local clock", async () => {
    let clock = 1_000_000;
    const a = await replica({ leaseMs: 10_000, now: () => clock });
    const holds = signal<Lease>();
    const done = signal();
    const held = a.locks.tags.run("repo\nz", async (lease) => {
      holds.resolve(lease as Lease);
      await done.promise;
    });
    const lease = await holds.promise;
    await server.stop();
    try {
      await lease.check(); // unreachable, but the lease granted at `clock` runs 10 s
      clock += 11_000;
      await assert.rejects(
        lease.check(),
        (e: unknown) => e instanceof CoordinationError && e.reason === "unavailable",
      );
      await assert.rejects(
        a.locks.tags.run("repo\nother", async () => "never"),
        (e: unknown) => e instanceof CoordinationError && e.reason === "unavailable",
      );
      done.resolve();
      await held;
    } finally {
      await server.start();
    }
  });
});
