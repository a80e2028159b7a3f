/**
 * DELETE /v2/<name> through the deployments' tiers: the nginx tier (deploy/nginx,
 * real nginx by run.sh) sends it to the proxy, and two replicas sharing one Redis
 * share the history of a repository deleted through either; both answer the
 * emptied repository's tags list with 404 NAME_UNKNOWN at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, entries } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { type NginxTier, startNginxTier } from "../helpers/nginx-tier.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { errorCode, pushKind, tagsOf } from "../helpers/tag-delete.js";
import { seed } from "../helpers/tags.js";

/** The proxy's access lines (method and path) of DELETEs. */
function deletesSeenBy(proxy: TestProxy): string[] {
  return proxy
    .logs()
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["msg"] === "request" && l["method"] === "DELETE")
    .map((l) => String(l["path"]));
}

describe("DELETE /v2/<name> through the nginx tier", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let nginx: NginxTier;
  before(async () => {
    requireTools("nginx");
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { proxy: { trustForwardedHeaders: true } });
    nginx = await startNginxTier({ registryUrl: registry.url, proxyUrl: proxy.url });
  });
  after(async () => {
    await nginx?.stop();
    await proxy?.stop();
    await registry?.stop();
  });

  it("DELETE /v2/<name> through nginx: the proxy deletes every tag; the tags lists then answer 404 NAME_UNKNOWN", async () => {
    await pushKind(nginx.url, "tier/app", "oci-manifest", ["a", "b"]);
    const res = await request("DELETE", `${nginx.url}/v2/tier/app`);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json(), { name: "tier/app", deleted: ["a", "b"] });
    assert.ok(deletesSeenBy(proxy).includes("/v2/tier/app"), "nginx sent it to the proxy");
    assert.deepEqual(await tagsOf(registry.url, "tier/app"), []);
    for (const variant of ["list", "_list"]) {
      const list = await request("GET", `${nginx.url}/v2/tier/app/tags/${variant}`);
      assert.equal(list.status, 404, variant);
      assert.equal(errorCode(list), "NAME_UNKNOWN");
    }
  });

  it("through nginx, a route suffix or an encoded spelling meets the proxy's rules; nothing else changes", async () => {
    await seed(registry.url, "tier/keep", ["t"]);
    await seed(registry.url, "tier/keep/tags", ["t"]);
    for (const path of ["/v2/tier/keep/tags", "/v2/tier/keep/%74ags", "/v2/tier/keep/"]) {
      const res = await request("DELETE", `${nginx.url}${path}`);
      assert.equal(res.status, 405, `${path}: ${res.text}`);
      assert.equal(errorCode(res), "UNSUPPORTED", path);
    }
    assert.deepEqual(await tagsOf(registry.url, "tier/keep"), ["t"]);
    assert.deepEqual(await tagsOf(registry.url, "tier/keep/tags"), ["t"]);
    await seed(registry.url, "tier/enc", ["t"]);
    const encoded = await request("DELETE", `${nginx.url}/v2/tier/%65nc`);
    assert.equal(encoded.status, 202, encoded.text);
    assert.deepEqual(await tagsOf(registry.url, "tier/enc"), []);
  });
});

describe("DELETE /v2/<name> with two replicas on Redis", () => {
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

  it("a repository deleted through A: B lists 404 at once, both show the history, undelete through B brings a tag back", async () => {
    const repo = "rep/gone";
    await pushKind(a.url, repo, "docker-v2", ["x", "y", "z"]);
    // B has the list cached before the delete.
    const cached = await request("GET", `${b.url}/v2/${repo}/tags/_list`);
    assert.deepEqual(cached.json(), { name: repo, tags: ["x", "y", "z"] });
    const res = await request("DELETE", `${a.url}/v2/${repo}`);
    assert.equal(res.status, 202, res.text);
    const listB = await request("GET", `${b.url}/v2/${repo}/tags/_list`);
    assert.equal(listB.status, 404, listB.text);
    assert.equal(errorCode(listB), "NAME_UNKNOWN");
    const seenByA = await entries(adminOf(a), repo);
    const seenByB = await entries(adminOf(b), repo);
    assert.deepEqual(seenByA, seenByB);
    assert.deepEqual(
      seenByB
        .filter((e) => e.type === "TagDeleted")
        .map((e) => ("tag" in e ? e.tag : ""))
        .sort(),
      ["x", "y", "z"],
    );
    const undo = await cli(["undelete", `${repo}:y`, "--admin", adminOf(b)]);
    assert.equal(undo.code, 0, undo.err);
    assert.deepEqual(await tagsOf(registry.url, repo), ["y"]);
    const listA = await request("GET", `${a.url}/v2/${repo}/tags/_list`);
    assert.deepEqual(listA.json(), { name: repo, tags: ["y"] });
  });
});
