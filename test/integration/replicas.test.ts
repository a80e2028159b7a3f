/**
 * Several proxies, one registry (issue 20): two replicas sharing a real
 * redis-server (state.redisUrl) in front of one real docker-registry 2.8.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { SharedState } from "../../src/state/redis.js";
import { createRedisJournal } from "../../src/state/redis-journal.js";
import { intentEntry } from "../../src/tags/swap.js";
import { buildTombstone, isTombstone } from "../../src/tags/tombstone.js";
import { request } from "../helpers/http.js";
import { putManifest } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { errorCode, manifestOf, pushKind, revisionsOf, tagsOf } from "../helpers/tag-delete.js";

/** tags/_list through a proxy (one page), sorted. */
async function listed(proxy: TestProxy, repo: string): Promise<string[]> {
  const res = await request("GET", `${proxy.url}/v2/${repo}/tags/_list`);
  assert.equal(res.status, 200, res.text);
  return [...(res.json<{ tags: string[] }>().tags ?? [])].sort();
}

/** Waits (generous deadline, only to catch hangs) until `ok()` holds. */
async function eventually(what: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("replicas coordinated through Redis (real registry, real redis-server, two proxies)", () => {
  let registry: TestRegistry;
  let redis: TestRedis;
  let a: TestProxy;
  let b: TestProxy;

  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
    const shared = {
      state: { redisUrl: redis.url, redisLeaseMs: 1000, sweepIntervalMs: 200 },
      log: { level: "warn" },
    };
    a = await startProxy(registry.url, shared);
    b = await startProxy(registry.url, shared);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.dispose();
    await registry?.stop();
  });

  it("both replicas deleting the same 30 tags while 10 are re-pushed: 202 or 404, each tag gone or on its original, never a tombstone", async () => {
    const rounds = 10;
    const statuses = new Map<number, number>();
    for (let round = 0; round < rounds; round++) {
      const repo = `rep/race${round}`;
      const tags = Array.from({ length: 30 }, (_, i) => `t${i}`);
      const original = await pushKind(registry.url, repo, "docker-v2", [...tags, "keep"]);
      const repushed = new Set(tags.slice(0, 10));
      const deletes = tags.flatMap((t) =>
        [a, b].map(async (p) => ({ tag: t, res: await request("DELETE", `${p.url}/v2/${repo}/tags/${t}`) })),
      );
      const pushes = [...repushed].map((t, i) =>
        request("PUT", `${(i % 2 ? a : b).url}/v2/${repo}/manifests/${t}`, {
          headers: { "content-type": original.mediaType },
          body: original.bytes,
        }),
      );
      const [answers, pushed] = await Promise.all([Promise.all(deletes), Promise.all(pushes)]);
      for (const p of pushed) assert.equal(p.status, 201, p.text);
      for (const { tag, res } of answers) {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(
          res.status === 202 || res.status === 404,
          `round ${round} ${tag}: ${res.status} ${res.text}`,
        );
      }
      for (const t of tags) {
        const now = await manifestOf(registry.url, repo, t);
        assert.ok(now === null || now.digest === original.digest, `round ${round} ${t} on ${now?.digest}`);
        if (!repushed.has(t)) {
          assert.equal(now, null, `round ${round}: ${t} not deleted`);
          const mine = answers.filter((x) => x.tag === t).map((x) => x.res.status);
          assert.ok(mine.includes(202), `round ${round}: ${t} answered ${mine}`);
        }
      }
      for (const digest of revisionsOf(registry.dir, repo)) {
        const m = await manifestOf(registry.url, repo, digest);
        assert.ok(m && !isTombstone(m.bytes), `round ${round}: tombstone revision ${digest} left`);
      }
      assert.equal((await manifestOf(registry.url, repo, "keep"))?.digest, original.digest);
    }
    console.log(`# answers over ${rounds} rounds: ${JSON.stringify(Object.fromEntries(statuses))}`);
  });

  it("a delete or a push through A: B's tags/_list shows it on the very next request", async () => {
    const repo = "rep/lists";
    const original = await pushKind(registry.url, repo, "oci-manifest", ["a", "b", "c"]);
    assert.deepEqual(await listed(b, repo), ["a", "b", "c"]); // now cached on B
    assert.deepEqual(await listed(b, repo), ["a", "b", "c"]);
    assert.equal((await request("DELETE", `${a.url}/v2/${repo}/tags/b`)).status, 202);
    assert.deepEqual(await listed(b, repo), ["a", "c"]);
    const put = await request("PUT", `${a.url}/v2/${repo}/manifests/d`, {
      headers: { "content-type": original.mediaType },
      body: original.bytes,
    });
    assert.equal(put.status, 201, put.text);
    assert.deepEqual(await listed(b, repo), ["a", "c", "d"]);
  });

  it("a replica that died between its tombstone PUT and DELETE: another finishes the delete from the shared journal", async () => {
    const repo = "rep/dead";
    const original = await pushKind(registry.url, repo, "docker-v2", ["gone", "keep"]);
    // What the dead replica left: the tombstone on the tag, its intent in the shared journal.
    const tombstone = buildTombstone("gone");
    await putManifest(registry.url, repo, "gone", tombstone.bytes, tombstone.mediaType);
    const origin = new URL(registry.url).href.replace(/\/+$/, "");
    const intent = {
      ...intentEntry(randomUUID(), origin, repo, "gone", original, tombstone),
      time: new Date(Date.now() - 60_000).toISOString(),
    };
    const client = new Redis(redis.url);
    try {
      const dead = createRedisJournal({
        redis: client,
        prefix: `rcp:${origin}:`,
        instance: "dead",
      } as SharedState);
      const byOther = async () => {
        let n = 0;
        for (const p of [a, b]) {
          const m = await p.proxy.deps.metrics.sharedRecoveries.get();
          n += m.values.filter((v) => v.labels["by"] === "other").reduce((sum, v) => sum + v.value, 0);
        }
        return n;
      };
      const before = await byOther();
      await dead.add(intent);
      await eventually(
        "a live replica's sweep to complete the entry",
        async () => (await byOther()) > before,
      );
      assert.equal(await byOther(), before + 1);
      assert.equal(await manifestOf(registry.url, repo, "gone"), null);
      assert.equal(await dead.has(intent.id), false);
      assert.deepEqual(await tagsOf(registry.url, repo), ["keep"]);
      assert.equal((await manifestOf(registry.url, repo, "keep"))?.digest, original.digest);
      assert.ok(!revisionsOf(registry.dir, repo).includes(tombstone.digest), "tombstone revision deleted");
    } finally {
      client.disconnect();
    }
  });

  it("Redis stopped: tag deletes answer 503 and change nothing; pulls, pushes and lists go on; deletes work again when it is back", async () => {
    const repo = "rep/outage";
    const original = await pushKind(registry.url, repo, "docker-v2", ["x", "y", "keep"]);
    const revisions = revisionsOf(registry.dir, repo);
    await redis.stop();
    try {
      for (const p of [a, b]) {
        const res = await request("DELETE", `${p.url}/v2/${repo}/tags/x`);
        assert.equal(res.status, 503, res.text);
        assert.equal(errorCode(res), "UNAVAILABLE");
        assert.ok(Number(res.headers["retry-after"]) > 0, "Retry-After");
        const viaManifests = await request("DELETE", `${p.url}/v2/${repo}/manifests/y`);
        assert.equal(viaManifests.status, 503, viaManifests.text);
      }
      assert.equal((await manifestOf(registry.url, repo, "x"))?.digest, original.digest);
      assert.equal((await manifestOf(registry.url, repo, "y"))?.digest, original.digest);
      assert.deepEqual(revisionsOf(registry.dir, repo), revisions, "nothing changed upstream");
      // Reads and plain writes keep working.
      const pull = await request("GET", `${b.url}/v2/${repo}/manifests/x`, {
        headers: { accept: original.mediaType },
      });
      assert.equal(pull.status, 200);
      assert.equal(pull.headers["docker-content-digest"], original.digest);
      const push = await request("PUT", `${a.url}/v2/${repo}/manifests/z`, {
        headers: { "content-type": original.mediaType },
        body: original.bytes,
      });
      assert.equal(push.status, 201, push.text);
      assert.deepEqual(await listed(a, repo), ["keep", "x", "y", "z"]);
      assert.deepEqual(await listed(b, repo), ["keep", "x", "y", "z"]);
      // Readiness says why (and stays ready: reads are served).
      const ready = await request("GET", `${a.url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
      assert.match(ready.text, /redis .*unreachable.*tag deletes answer 503/);
    } finally {
      await redis.start();
    }
    await eventually("A and B to reconnect to Redis", async () => {
      for (const p of [a, b]) {
        if ((await request("GET", `${p.url}/readyz`)).text.includes("redis")) return false;
      }
      return true;
    });
    assert.equal((await request("DELETE", `${a.url}/v2/${repo}/tags/x`)).status, 202);
    assert.equal((await request("DELETE", `${b.url}/v2/${repo}/manifests/y`)).status, 202);
    assert.deepEqual(await tagsOf(registry.url, repo), ["keep", "z"]);
    assert.deepEqual(await listed(a, repo), ["keep", "z"]);
  });
});
