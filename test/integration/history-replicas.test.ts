/**
 * Two proxy replicas sharing one Redis (state.redisUrl) in front of one real
 * docker-registry 2.8 see one tag history: changes through either are listed by
 * both (each naming its replica), an undelete on one puts back a tag the other
 * deleted, and a purge on one is seen by the other; gc's roots are the same.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, entries } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, tagsOf } from "../helpers/tag-delete.js";

describe("tag history shared by two replicas through Redis", () => {
  let redis: TestRedis;
  let registry: TestRegistry;
  let a: TestProxy;
  let b: TestProxy;
  const adminOf = (p: TestProxy) => p.proxy.metricsUrl()!;

  before(async () => {
    redis = await startRedis();
    registry = await startRegistry();
    const config = { metrics: { port: 0 }, state: { redisUrl: redis.url }, log: { level: "warn" } };
    a = await startProxy(registry.url, config);
    b = await startProxy(registry.url, config);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await registry?.stop();
    await redis?.dispose();
  });

  it("a push through each replica and a delete through one: both list all three, naming the replica", async () => {
    const repo = "rep/hist";
    const first = makeImage({ layerCount: 1, layerSize: 64 });
    const second = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(a.url, repo, first, ["v1"]);
    await pushImage(b.url, repo, second, ["v1"]);
    assert.equal((await request("DELETE", `${a.url}/v2/${repo}/tags/v1`)).status, 202);
    const seenByA = await entries(adminOf(a), repo, "v1");
    const seenByB = await entries(adminOf(b), repo, "v1");
    assert.deepEqual(seenByA, seenByB);
    assert.deepEqual(
      seenByB.map((e) => e.type),
      ["TagDeleted", "TagMoved", "TagMoved"],
    );
    const [deleted, moved, created] = seenByB;
    assert.equal(deleted?.replica, created?.replica, "A deleted and created");
    assert.notEqual(moved?.replica, created?.replica, "B moved it");
    assert.equal((moved as { from?: string }).from, first.manifest.digest);

    // Undelete through B a tag A deleted.
    const run = await cli(["undelete", `${repo}:v1`, "--admin", adminOf(b)]);
    assert.equal(run.code, 0, run.err);
    assert.equal((await manifestOf(registry.url, repo, "v1"))?.digest, second.manifest.digest);
    const [undone] = await entries(adminOf(a), repo, "v1");
    assert.deepEqual([undone?.type, undone?.via], ["TagMoved", "undelete"]);

    // gc asks either replica: the same roots.
    const held = async (p: TestProxy) =>
      (await request("GET", `${adminOf(p)}/admin/history/_held`))
        .json<{ manifests: { digest: string }[] }>()
        .manifests.map((m) => m.digest)
        .sort();
    assert.deepEqual(await held(a), await held(b));
    assert.deepEqual(await held(b), [first.manifest.digest, second.manifest.digest].sort());
  });

  it("a purge through one replica is seen by the other; undelete there then says purged", async () => {
    const repo = "rep/purge";
    await pushImage(b.url, repo, makeImage({ layerCount: 1, layerSize: 64 }), ["x", "y"]);
    assert.equal((await request("DELETE", `${b.url}/v2/${repo}/tags/x`)).status, 202);
    const purge = await cli(["history", "purge", `${repo}:x`, "--admin", adminOf(a)]);
    assert.equal(purge.code, 0, purge.err);
    assert.deepEqual(
      (await entries(adminOf(b), repo, "x")).map((e) => e.type),
      ["HistoryPurged"],
    );
    const run = await cli(["undelete", `${repo}:x`, "--admin", adminOf(b)]);
    assert.equal(run.code, 6, run.err);
    assert.deepEqual(await tagsOf(registry.url, repo), ["y"]);
    const repos = (await request("GET", `${adminOf(b)}/admin/history`)).json<{
      repositories: { repository: string }[];
    }>();
    assert.deepEqual(repos.repositories.map((r) => r.repository).sort(), ["rep/hist", "rep/purge"]);
  });
});
