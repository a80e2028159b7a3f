import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMetrics } from "../../src/ops/metrics.js";
import { createTagDigestCache, type TagTarget } from "../../src/tags/tag-digest-cache.js";

const M: TagTarget = { digest: `sha256:${"a".repeat(64)}`, index: false };
const N: TagTarget = { digest: `sha256:${"b".repeat(64)}`, index: true };

describe("the guard's cache of tag targets", () => {
  it("what a view learned is known to the next view of the same repository and credentials, not to others", async () => {
    const cache = createTagDigestCache({ ttlMs: 60_000, maxEntries: 10 });
    const v = await cache.open("a/b", "Basic x");
    assert.equal(v.get("t"), undefined);
    v.set("t", M);
    v.set("gone", null);
    await v.close();
    const again = await cache.open("a/b", "Basic x");
    assert.deepEqual(again.get("t"), M);
    assert.equal(again.get("gone"), null, "a tag that did not resolve is remembered as such");
    await again.close();
    assert.equal((await cache.open("a/b", "Basic y")).get("t"), undefined, "other credentials");
    assert.equal((await cache.open("a/b", undefined)).get("t"), undefined, "anonymous");
    assert.equal((await cache.open("a/bc", "Basic x")).get("t"), undefined, "another repository");
  });

  it("a tag write (invalidate) drops the repository's entries and keeps views opened before from storing", async () => {
    const cache = createTagDigestCache({ ttlMs: 60_000, maxEntries: 10 });
    const first = await cache.open("r", undefined);
    first.set("t", M);
    await first.close();
    const during = await cache.open("r", undefined);
    cache.invalidate("r");
    during.set("u", N);
    await during.close();
    const after = await cache.open("r", undefined);
    assert.equal(after.get("t"), undefined, "dropped");
    assert.equal(after.get("u"), undefined, "learned across a write: never stored");
    assert.equal(cache.size, 0);
    cache.invalidate("other");
  });

  it("a write of one named tag drops that tag only, and views opened before keep nothing of it", async () => {
    const cache = createTagDigestCache({ ttlMs: 60_000, maxEntries: 10 });
    const first = await cache.open("r", undefined);
    first.set("t", M);
    first.set("u", M);
    await first.close();
    const during = await cache.open("r", undefined);
    cache.invalidate("r", "t");
    assert.equal(during.get("t"), undefined, "asked again within the lookup");
    during.set("t", N); // read before the write landed: must not be kept
    during.set("v", N);
    await during.close();
    const after = await cache.open("r", undefined);
    assert.equal(after.get("t"), undefined);
    assert.deepEqual(after.get("u"), M, "the other tags stay");
    assert.deepEqual(after.get("v"), N);
  });

  it("with replicas: entries are used and stored only while the put stamp is unchanged; no stamp, no cache", async () => {
    let stamp: string | null = "1";
    const cache = createTagDigestCache({ ttlMs: 60_000, maxEntries: 10, stamp: async () => stamp });
    const v = await cache.open("r", undefined);
    v.set("t", M);
    await v.close();
    assert.deepEqual((await cache.open("r", undefined)).get("t"), M);
    stamp = "2"; // another replica entered a put phase
    assert.equal((await cache.open("r", undefined)).get("t"), undefined);
    const racing = await cache.open("r", undefined);
    racing.set("u", N);
    stamp = "3"; // ...and left it while this view looked
    await racing.close();
    assert.equal(
      (await cache.open("r", undefined)).get("u"),
      undefined,
      "learned across a write: not stored",
    );
    stamp = null;
    const blind = await cache.open("r", undefined);
    blind.set("t", M);
    await blind.close();
    stamp = "3";
    assert.equal((await cache.open("r", undefined)).get("t"), undefined, "nothing stored without a stamp");
  });

  it("views of one repository add up; ttlMs 0 keeps nothing; lookups are counted", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const cache = createTagDigestCache({ ttlMs: 60_000, maxEntries: 10, lookups: metrics.cache });
    const a = await cache.open("r", undefined);
    const b = await cache.open("r", undefined);
    a.set("x", M);
    b.set("y", N);
    await a.close();
    await b.close();
    const both = await cache.open("r", undefined);
    assert.deepEqual([both.get("x"), both.get("y")], [M, N]);
    const text = await metrics.registry.metrics();
    assert.match(text, /rcp_cache_lookups_total\{cache="tag-digests",result="miss"\} 2/);
    assert.match(text, /rcp_cache_lookups_total\{cache="tag-digests",result="hit"\} 1/);

    const off = createTagDigestCache({ ttlMs: 0, maxEntries: 10 });
    const v = await off.open("r", undefined);
    v.set("x", M);
    assert.deepEqual(v.get("x"), M, "a view still remembers within its own lookup");
    await v.close();
    assert.equal((await off.open("r", undefined)).get("x"), undefined);
  });
});
