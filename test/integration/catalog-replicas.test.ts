/**
 * `GET /v2/_catalog` with two replicas sharing a real redis-server (issue 32):
 * the last tag of a repository deleted through one replica, the other's very next
 * catalog leaves the repository out, though it remembered it as having tags.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pushRepositories, wholeCatalog } from "../helpers/catalog.js";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

describe("GET /v2/_catalog with replicas on Redis", () => {
  let registry: TestRegistry;
  let redis: TestRedis;
  let a: TestProxy;
  let b: TestProxy;
  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
    // A long catalog TTL: only the shared change stamp can make b see the delete.
    const shared = {
      state: { redisUrl: redis.url },
      catalog: { cacheTtlMs: 600_000 },
      log: { level: "warn" },
    };
    a = await startProxy(registry.url, shared);
    b = await startProxy(registry.url, shared);
    await pushRepositories(registry.url, ["rep/a", "rep/b", "rep/c"]);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.dispose();
    await registry?.stop();
  });

  it("DELETE of the last tag through replica a: replica b's next catalog leaves it out, and a push through a brings it back on b", async () => {
    assert.deepEqual(await wholeCatalog(b.url), ["rep/a", "rep/b", "rep/c"]);
    const del = await request("DELETE", `${a.url}/v2/rep/b/tags/t`);
    assert.equal(del.status, 202, del.text);
    assert.deepEqual(await wholeCatalog(b.url), ["rep/a", "rep/c"]);
    await pushRepositories(a.url, ["rep/b"]);
    assert.deepEqual(await wholeCatalog(b.url), ["rep/a", "rep/b", "rep/c"]);
  });
});
