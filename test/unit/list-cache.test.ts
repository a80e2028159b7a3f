import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createChangeFeed } from "../../src/ops/change-feed.js";
import { createMetrics } from "../../src/ops/metrics.js";
import { cacheKey, createTagListCache, type ListLoad, listBytes } from "../../src/tags/list-cache.js";
import { TagList } from "../../src/tags/tag-list.js";

type Load = ListLoad<number>;

const MIB = 1 << 20;

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
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10, maxBytes: MIB, lookups: metrics.cache });
    const c = counter(["x", "y"]);
    assert.deepEqual(await cache.load("r", "A", c.loader), { tags: ["x", "y"] });
    assert.deepEqual(await cache.load("r", "A", c.loader), { tags: ["x", "y"] });
    assert.equal(c.calls(), 1);
    const text = await metrics.registry.metrics();
    assert.match(text, /rcp_cache_lookups_total\{cache="tags",result="hit"\} 1/);
    assert.match(text, /rcp_cache_lookups_total\{cache="tags",result="miss"\} 1/);
  });

  it("keeps credentials apart: another Authorization loads its own list", async () => {
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10, maxBytes: MIB });
    await cache.load("r", "Basic alice", async () => ({ tags: ["secret"] }));
    const other = await cache.load("r", "Basic mallory", async (): Promise<Load> => ({ failure: 401 }));
    assert.deepEqual(other, { failure: 401 });
    const anon = await cache.load("r", undefined, async (): Promise<Load> => ({ failure: 401 }));
    assert.deepEqual(anon, { failure: 401 });
  });

  it("expires entries after the TTL", async () => {
    const t = clock();
    const cache = createTagListCache({ ttlMs: 100, maxEntries: 10, maxBytes: MIB, perf: t.perf });
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
    const cache = createTagListCache({ ttlMs: 0, maxEntries: 10, maxBytes: MIB });
    const c = counter();
    await cache.load("r", undefined, c.loader);
    await cache.load("r", undefined, c.loader);
    assert.equal(c.calls(), 2);
    assert.equal(cache.size, 0);
  });

  it("does not store failures", async () => {
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10, maxBytes: MIB });
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
    const cache = createTagListCache({ ttlMs: 1000, maxEntries: 10, maxBytes: MIB });
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

  it("drops a repository's list on a change, and only that repository's", async () => {
    const changes = createChangeFeed();
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB, changes });
    const c = counter();
    for (const name of ["r", "r/sub", "other"])
      for (const auth of ["A", "B"]) await cache.load(name, auth, c.loader);
    assert.equal(c.calls(), 6, "each caller's first read asks the upstream");
    assert.equal(cache.size, 3, "one list per repository");
    assert.equal(cache.grants, 6);
    changes.repositoryChanged("r");
    assert.equal(cache.size, 2);
    await cache.load("r/sub", "A", c.loader);
    assert.equal(c.calls(), 6);
    await cache.load("r", "A", c.loader);
    assert.equal(c.calls(), 7);
    cache.close();
    changes.repositoryChanged("other");
    assert.equal(cache.size, 3, "closed cache no longer listens");
  });

  it("does not store a load that was in flight when the repository changed", async () => {
    const changes = createChangeFeed();
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB, changes });
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

  it("keeps one list per repository, served to every caller the upstream answered with it", async () => {
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB });
    const c = counter(["a", "b"]);
    await cache.load("r", "Basic alice", c.loader);
    await cache.load("r", "Basic bob", c.loader);
    assert.equal(c.calls(), 2, "bob's first read asks the upstream with bob's credentials");
    await cache.load("r", "Basic alice", c.loader);
    await cache.load("r", "Basic bob", c.loader);
    assert.equal(c.calls(), 2, "both now read the one cached list");
    assert.equal(cache.size, 1);
    assert.equal(cache.grants, 2);
  });

  it("a caller the upstream refused holds no grant: the cached list is never served to it", async () => {
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB });
    await cache.load("r", "Basic alice", async (): Promise<Load> => ({ tags: ["secret"] }));
    for (let i = 0; i < 3; i++) {
      const refused = await cache.load("r", "Basic mallory", async (): Promise<Load> => ({ failure: 401 }));
      assert.deepEqual(refused, { failure: 401 });
    }
    assert.equal(cache.grants, 1);
  });

  it("a caller new to a cached list is checked upstream (check) instead of loading a second copy", async () => {
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB });
    const c = counter(["a", "b"]);
    let checks = 0;
    const check = (answer: number | null) => async () => {
      checks++;
      return answer === null ? null : { failure: answer };
    };
    const first = await cache.load("r", "Basic alice", c.loader, check(null));
    assert.equal(c.calls(), 1, "nothing cached yet: the list is loaded");
    assert.equal(checks, 0);
    const bob = await cache.load("r", "Basic bob", c.loader, check(null));
    assert.ok("tags" in first && "tags" in bob);
    assert.equal(bob.tags, first.tags, "bob is served the one cached list");
    assert.equal(checks, 1);
    assert.equal(c.calls(), 1);
    await cache.load("r", "Basic bob", c.loader, check(null));
    assert.equal(checks, 1, "bob holds a grant now");
    assert.deepEqual(await cache.load("r", "Basic mallory", c.loader, check(401)), { failure: 401 });
    assert.deepEqual(await cache.load("r", "Basic mallory", c.loader, check(401)), { failure: 401 });
    assert.equal(checks, 3, "a refused caller is asked about every time");
    assert.equal(cache.grants, 2);
  });

  it("callers with new credentials arriving while the list loads wait for it and are checked: one list is built", async () => {
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let loads = 0;
    let checks = 0;
    const loader = async (): Promise<Load> => {
      loads++;
      await gate;
      return { tags: ["a"] };
    };
    const check = async () => {
      checks++;
      return null;
    };
    const all = Promise.all(["A", "B", "C", "D"].map((who) => cache.load("r", who, loader, check)));
    release();
    const results = await all;
    assert.equal(loads, 1);
    assert.equal(checks, 3);
    assert.ok(results.every((r) => "tags" in r && r.tags === (results[0] as { tags: unknown }).tags));
    assert.equal(cache.grants, 4);
  });

  it("a check that lands after the repository changed loads the new list instead", async () => {
    const changes = createChangeFeed();
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: MIB, changes });
    await cache.load("r", "A", async (): Promise<Load> => ({ tags: ["old"] }));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const checked = cache.load(
      "r",
      "B",
      async (): Promise<Load> => ({ tags: ["old", "new"] }),
      async () => {
        await gate;
        return null;
      },
    );
    changes.repositoryChanged("r");
    release();
    assert.deepEqual(await checked, { tags: ["old", "new"] });
  });

  it("a flood of distinct credentials holds one list and at most maxEntries grants", async () => {
    const tags = Array.from({ length: 20_000 }, (_, i) => `build-${i}`);
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 32 * MIB });
    let calls = 0;
    for (let i = 0; i < 2_000; i++) {
      await cache.load("r", `Basic ${i}`, async (): Promise<Load> => {
        calls++;
        return { tags: [...tags] };
      });
    }
    assert.equal(calls, 2_000, "every new credential is asked upstream");
    assert.equal(cache.size, 1);
    assert.equal(cache.grants, 100);
    assert.equal(cache.bytes, listBytes(tags));
  });

  it("is bounded by maxBytes: the least recently used list goes first; a list over the budget is not kept", async () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    const size = listBytes(list(100));
    const cache = createTagListCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: 2 * size + 10 });
    let calls = 0;
    const loader = (n: number) => async (): Promise<Load> => {
      calls++;
      return { tags: list(n) };
    };
    await cache.load("a", undefined, loader(100));
    await cache.load("b", undefined, loader(100));
    await cache.load("a", undefined, loader(100));
    await cache.load("c", undefined, loader(100));
    assert.equal(cache.size, 2);
    assert.ok(cache.bytes <= 2 * size + 10);
    await cache.load("a", undefined, loader(100));
    assert.equal(calls, 3, "a stayed");
    await cache.load("b", undefined, loader(100));
    assert.equal(calls, 4, "b was evicted");
    await cache.load("huge", undefined, loader(1000));
    await cache.load("huge", undefined, loader(1000));
    assert.equal(calls, 6, "a list larger than the budget is never kept");
  });

  it("sizes lists by their tags: a TagList knows its size, an array is measured", () => {
    const tags = ["a", "bb", "release-2024.01.1"];
    assert.equal(listBytes(tags), listBytes(new TagList(tags)));
    assert.equal(listBytes(tags) >= tags.join("").length + 3 * 24, true);
    assert.equal(
      listBytes(["x".repeat(1000)]) - listBytes(["x"]),
      2 * 999,
      "the characters, and again in the rendered body",
    );
  });

  it("with a shared change stamp (replicas): serves an entry only while the stamp is unchanged", async () => {
    const stamps = new Map<string, string>([["r", "1"]]);
    const cache = createTagListCache({
      ttlMs: 60_000,
      maxEntries: 10,
      maxBytes: MIB,
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
      maxBytes: MIB,
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
