/**
 * Count-bounded caches (src/util/count-bound.ts): the same bound and eviction order
 * as lru-cache's `max`, without allocating room for every entry when the cache is
 * made (the proxy's caches of 10,000-100,000 entries were 5 MiB of live heap at
 * start, docs/performance.md "Memory").
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getHeapStatistics } from "node:v8";
import { LRUCache } from "lru-cache";
import { createTagListCache } from "../../src/tags/list-cache.js";
import { createUploadSessions } from "../../src/upstream/upload-sessions.js";
import { countBound } from "../../src/util/count-bound.js";

const MIB = 1 << 20;

/** V8 heap and external bytes allocated by `make` and still held (collections only lower it). */
function heldBy(make: () => unknown[]): number {
  const before = getHeapStatistics();
  const made = make();
  const after = getHeapStatistics();
  assert.ok(made.length > 0);
  return after.used_heap_size + after.external_memory - (before.used_heap_size + before.external_memory);
}

describe("countBound: an LRU cache bounded by its entry count", () => {
  it("keeps the N most recently used entries: a read refreshes, the least recent goes first", () => {
    const cache = new LRUCache<string, number>({ ...countBound(3), ttl: 60_000 });
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    assert.equal(cache.get("a"), 1);
    cache.set("d", 4);
    assert.deepEqual([...cache.keys()].sort(), ["a", "c", "d"]);
    cache.set("c", 30);
    cache.set("e", 5);
    assert.deepEqual([...cache.keys()].sort(), ["c", "d", "e"]);
    assert.equal(cache.size, 3);
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
    assert.equal(cache.size, 3);
    assert.deepEqual([...cache.keys()].sort(), ["k997", "k998", "k999"]);
  });

  it("a bound of 0 holds one entry at most (never unbounded)", () => {
    const cache = new LRUCache<string, number>(countBound(0));
    cache.set("a", 1);
    cache.set("b", 2);
    assert.equal(cache.size, 1);
  });

  it("createTagListCache with 100,000 grants (the catalog's default): no room allocated up front", () => {
    const held = heldBy(() =>
      Array.from({ length: 8 }, () =>
        createTagListCache({ ttlMs: 30_000, maxEntries: 100_000, maxBytes: MIB }),
      ),
    );
    // lru-cache's `max` made 8 x 4.4 MiB of arrays (keys, values, links, free list, times).
    assert.ok(held < 4 * MIB, `8 empty caches hold ${(held / MIB).toFixed(1)} MiB`);
  });

  it("createUploadSessions with 10,000 sessions (the default): no room allocated up front", () => {
    const held = heldBy(() =>
      Array.from({ length: 40 }, () => createUploadSessions({ max: 10_000, ttlMs: 3_600_000 })),
    );
    assert.ok(held < 4 * MIB, `40 empty session maps hold ${(held / MIB).toFixed(1)} MiB`);
  });
});
