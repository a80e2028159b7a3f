import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createChangeFeed } from "../../src/ops/change-feed.js";
import { createMetrics } from "../../src/ops/metrics.js";
import { cacheKey, createTagListCache, type ListLoad } from "../../src/tags/list-cache.js";

type Load = ListLoad<number>;

function clock() {
  let now = 1_000;
  return { perf: { now: () => now }, advance: (ms: number) => (now += ms) };
}

function counter(tags: string[] = ["a"]) {
  let calls = 0;
  const loader = async (): Promise<Load> => {
    calls++;
    return { tags };
  };
  return { loader, calls: () => calls };
}

describe("cacheKey", () => {
  const cases: Array<[string, string, string | undefined, string, string | undefined, boolean]> = [
    ["same name, same credentials", "a", "Basic YTpi", "a", "Basic YTpi", true],
    ["different credentials", "a", "Basic YTpi", "a", "Basic YTpj", false],
    ["credentials vs anonymous", "a", "Basic YTpi", "a", undefined, false],
    ["anonymous vs empty header", "a", undefined, "a", "", true],
    ["different repositories", "a", "Bearer t", "b", "Bearer t", false],
    ["name prefix", "a", undefined, "a/b", undefined, false],
    ["bearer vs basic with the same secret", "a", "Bearer x", "a", "Basic x", false],
  ];
  for (const [title, n1, a1, n2, a2, same] of cases) {
    it(`${title}: ${same ? "shared" : "separate"}`, () => {
      assert.equal(cacheKey(n1, a1) === cacheKey(n2, a2), same);
    });
  }

  it("never contains the credentials themselves", () => {
    const key = cacheKey("a", "Basic c2VjcmV0");
    assert.ok(!key.includes("c2VjcmV0"));
    assert.match(key, /^a [0-9a-f]{64}$/);
  });
});

describe("createTagListCache", () => {
  it("serves a second load from the cache and counts hits and misses", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10, lookups: metrics.cache });
    const c = counter(["x", "y"]);
    assert.deepEqual(await cache.load("r", "A", c.loader), { tags: ["x", "y"] });
    assert.deepEqual(await cache.load("r", "A", c.loader), { tags: ["x", "y"] });
    assert.equal(c.calls(), 1);
    const text = await metrics.registry.metrics();
    assert.match(text, /rcp_cache_lookups_total\{cache="tags",result="hit"\} 1/);
    assert.match(text, /rcp_cache_lookups_total\{cache="tags",result="miss"\} 1/);
  });

  it("keeps credentials apart: another Authorization loads its own list", async () => {
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10 });
    await cache.load("r", "Basic alice", async () => ({ tags: ["secret"] }));
    const other = await cache.load("r", "Basic mallory", async (): Promise<Load> => ({ failure: 401 }));
    assert.deepEqual(other, { failure: 401 });
    const anon = await cache.load("r", undefined, async (): Promise<Load> => ({ failure: 401 }));
    assert.deepEqual(anon, { failure: 401 });
  });

  it("expires entries after the TTL", async () => {
    const t = clock();
    const cache = createTagListCache({ ttlMs: 100, maxEntries: 10, perf: t.perf });
    const c = counter();
    await cache.load("r", undefined, c.loader);
    t.advance(99);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 1);
    t.advance(2);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 2);
  });

  it("ttl 0 disables caching", async () => {
    const cache = createTagListCache({ ttlMs: 0, maxEntries: 10 });
    const c = counter();
    await cache.load("r", undefined, c.loader);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 2);
    assert.equal(cache.size, 0);
  });

  it("does not store failures", async () => {
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10 });
    let calls = 0;
    const failing = async (): Promise<Load> => {
      calls++;
      return { failure: 404 };
    };
    await cache.load("r", undefined, failing);
    await cache.load("r", undefined, failing);
    assert.equal(calls, 2);
    await assert.rejects(
      cache.load("r", undefined, async () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(cache.size, 0);
  });

  it("shares one load between concurrent callers", async () => {
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const slow = async (): Promise<Load> => {
      calls++;
      await gate;
      return { tags: ["a"] };
    };
    const all = Promise.all([1, 2, 3].map(() => cache.load("r", "A", slow)));
    release();
    assert.deepEqual(await all, [{ tags: ["a"] }, { tags: ["a"] }, { tags: ["a"] }]);
    assert.equal(calls, 1);
  });

  it("drops a repository's entries (every credential) on a change, and only that repository's", async () => {
    const changes = createChangeFeed();
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, changes });
    const c = counter();
    for (const name of ["r", "r/sub", "other"])
      for (const auth of ["A", "B"]) await cache.load(name, auth, c.loader);
    assert.equal(cache.size, 6);
    changes.repositoryChanged("r");
    assert.equal(cache.size, 4);
    await cache.load("r/sub", "A", c.loader);
    assert.equal(c.calls(), 6);
    await cache.load("r", "A", c.loader);
    assert.equal(c.calls(), 7);
    cache.close();
    changes.repositoryChanged("other");
    assert.equal(cache.size, 5, "closed cache no longer listens");
  });

  it("does not store a load that was in flight when the repository changed", async () => {
    const changes = createChangeFeed();
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, changes });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const before = cache.load("r", "A", async (): Promise<Load> => {
      await gate;
      return { tags: ["old"] };
    });
    changes.repositoryChanged("r");
    // A caller after the change starts its own load instead of joining the stale one.
    const after = cache.load("r", "A", async (): Promise<Load> => ({ tags: ["old", "new"] }));
    release();
    assert.deepEqual(await before, { tags: ["old"] });
    assert.deepEqual(await after, { tags: ["old", "new"] });
    assert.deepEqual(await cache.load("r", "A", async () => ({ tags: ["unused"] })), {
      tags: ["old", "new"],
    });
  });

  it("is bounded by maxEntries (least recently used goes first)", async () => {
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 2 });
    const c = counter();
    await cache.load("a", undefined, c.loader);
    await cache.load("b", undefined, c.loader);
    await cache.load("a", undefined, c.loader);
    await cache.load("c", undefined, c.loader);
    assert.equal(cache.size, 2);
    await cache.load("a", undefined, c.loader);
    assert.equal(c.calls(), 3, "a stayed");
    await cache.load("b", undefined, c.loader);
    assert.equal(c.calls(), 4, "b was evicted");
  });

  it("with a shared change stamp (replicas): serves an entry only while the stamp is unchanged", async () => {
    const stamps = new Map<string, string>([["r", "1"]]);
    const cache = createTagListCache({
      ttlMs: 60_000,
      maxEntries: 10,
      freshness: async (name) => stamps.get(name) ?? "0",
    });
    const c = counter();
    await cache.load("r", undefined, c.loader);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 1, "cached while the stamp holds");
    stamps.set("r", "2"); // another replica changed the repository
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 2, "reloaded after the stamp moved");
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 2, "cached again under the new stamp");
  });

  it("with a shared change stamp that cannot be read (Redis down): every load goes upstream, nothing is stored", async () => {
    let up = false;
    const cache = createTagListCache({
      ttlMs: 60_000,
      maxEntries: 10,
      freshness: async () => (up ? "0" : null),
    });
    const c = counter();
    await cache.load("r", undefined, c.loader);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 2);
    assert.equal(cache.size, 0);
    up = true;
    await cache.load("r", undefined, c.loader);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 3);
  });
});
