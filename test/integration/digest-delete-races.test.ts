/**
 * The digest delete guard against concurrent pushes (delete.digestDeletes:
 * protect): a tag pushed onto the manifest while its DELETE by digest is judged
 * is never lost silently. Every push answered 201 must leave its tag on the
 * manifest: either it landed before the count (the DELETE is refused: two tags),
 * or after the DELETE (it wrote the manifest again). Real docker-registry 2.8;
 * one proxy, then two replicas sharing a real redis-server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, type Pushed, pushKind } from "../helpers/tag-delete.js";

const ROUNDS = 12;
const PUSHES = 8;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Round {
  deleteStatus: number;
  /** Tags whose PUT answered 201. */
  pushed: string[];
}

/**
 * One DELETE by digest through `deleter` while `PUSHES` tags of the same manifest
 * are pushed through `pushers`, 1 ms apart from an offset that moves with the
 * round (0 to 24 ms): early pushes are counted (403), late ones land after the
 * delete, and in between they race its count and its DELETE. Measured without
 * the lock (guard's look and DELETE outside the delete phase): 8 to 32 pushed
 * tags lost in 12 rounds, and 2.8's 500 on the DELETE; with it, none.
 */
async function race(
  deleter: TestProxy,
  pushers: TestProxy[],
  repo: string,
  manifest: Pushed,
  round: number,
): Promise<Round> {
  const offset = (round * 37) % 25;
  const pushes = Array.from({ length: PUSHES }, async (_, i) => {
    await pause(offset + i);
    const tag = `p${i}`;
    const res = await request("PUT", `${pushers[i % pushers.length]!.url}/v2/${repo}/manifests/${tag}`, {
      headers: { "content-type": manifest.mediaType },
      body: manifest.bytes,
    });
    return res.status === 201 ? tag : null;
  });
  const deleted = request("DELETE", `${deleter.url}/v2/${repo}/manifests/${manifest.digest}`);
  const [res, tags] = await Promise.all([deleted, Promise.all(pushes)]);
  assert.ok([202, 403].includes(res.status), `${repo}: DELETE ${res.status} ${res.text}`);
  return { deleteStatus: res.status, pushed: tags.filter((t): t is string => t !== null) };
}

/** Every pushed tag still resolves to the manifest. */
async function assertNoneLost(registry: TestRegistry, repo: string, manifest: Pushed, round: Round) {
  for (const tag of round.pushed) {
    const now = await manifestOf(registry.url, repo, tag);
    assert.equal(
      now?.digest,
      manifest.digest,
      `${repo}: ${tag} was pushed (201) while the DELETE answered ${round.deleteStatus}, and is gone`,
    );
  }
}

describe("guarded digest deletes racing pushes of the same manifest (real registry)", () => {
  let registry: TestRegistry;
  let redis: TestRedis;
  let single: TestProxy;
  let replicaA: TestProxy;
  let replicaB: TestProxy;

  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
    const protect = { delete: { digestDeletes: "protect" }, log: { level: "warn" } };
    single = await startProxy(registry.url, protect);
    const shared = { ...protect, state: { redisUrl: redis.url, redisLeaseMs: 2000 } };
    replicaA = await startProxy(registry.url, shared);
    // The other replica with the referrers API off: its PUTs by tag are the guard's alone to order.
    replicaB = await startProxy(registry.url, { ...shared, oci: { referrers: false } });
  });
  after(async () => {
    await single?.stop();
    await replicaA?.stop();
    await replicaB?.stop();
    await redis?.dispose();
    await registry?.stop();
  });

  it(`one proxy: DELETE by digest of a one-tag manifest while ${PUSHES} tags are pushed onto it, ${ROUNDS} rounds: no 201 tag lost`, async () => {
    for (let r = 0; r < ROUNDS; r++) {
      const repo = `race/one${r}`;
      const manifest = await pushKind(registry.url, repo, "docker-v2", ["a"]);
      const round = await race(single, [single], repo, manifest, r);
      await assertNoneLost(registry, repo, manifest, round);
    }
  });

  it(`two replicas on Redis: DELETE through one while the other (referrers off) and it push, ${ROUNDS} rounds: no 201 tag lost`, async () => {
    for (let r = 0; r < ROUNDS; r++) {
      const repo = `race/two${r}`;
      const manifest = await pushKind(registry.url, repo, "oci-manifest", ["a"]);
      const round = await race(replicaA, [replicaB, replicaA], repo, manifest, r);
      await assertNoneLost(registry, repo, manifest, round);
    }
  });

  it("two replicas: a tag moved onto the manifest through one replica is counted by the other's next guarded delete (403), whatever its cache held", async () => {
    const repo = "race/cache";
    const manifest = await pushKind(registry.url, repo, "docker-v2", ["a"]);
    const other = await pushKind(registry.url, repo, "docker-v2", ["t", "t2"]);
    // A refused delete of the other manifest makes replica A learn every tag's manifest (t → other).
    const warm = await request("DELETE", `${replicaA.url}/v2/${repo}/manifests/${other.digest}`);
    assert.equal(warm.status, 403, warm.text);
    // `t` moves onto the manifest through replica B: replica A hears of it only through Redis.
    const moved = await request("PUT", `${replicaB.url}/v2/${repo}/manifests/t`, {
      headers: { "content-type": manifest.mediaType },
      body: manifest.bytes,
    });
    assert.equal(moved.status, 201, moved.text);
    const res = await request("DELETE", `${replicaA.url}/v2/${repo}/manifests/${manifest.digest}`);
    assert.equal(res.status, 403, res.text);
    const detail = res.json<{ errors: Array<{ detail: { tags: string[] } }> }>().errors[0]!.detail;
    assert.deepEqual(detail.tags, ["a", "t"]);
    assert.equal((await manifestOf(registry.url, repo, "t"))?.digest, manifest.digest);
  });

  it("Redis unreachable: a guarded delete answers 503 UNAVAILABLE with Retry-After and deletes nothing", async () => {
    const repo = "race/redis-down";
    const manifest = await pushKind(registry.url, repo, "docker-v2", ["a"]);
    await redis.stop();
    try {
      const res = await request("DELETE", `${replicaA.url}/v2/${repo}/manifests/${manifest.digest}`);
      assert.equal(res.status, 503, res.text);
      assert.equal(res.headers["retry-after"], "5");
      assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "UNAVAILABLE");
      assert.equal((await manifestOf(registry.url, repo, "a"))?.digest, manifest.digest);
    } finally {
      await redis.start();
    }
  });
});
