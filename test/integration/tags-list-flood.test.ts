/**
 * The tags-list cache under a flood of made-up credentials (issue 24): a real
 * docker-registry 2.8 without auth (it answers every `Authorization` header) with
 * 2,000 tags, and requests that each carry a new random header. The cache holds
 * one list for the repository, within its byte budget, whatever the headers; each
 * new caller is still asked about upstream. Peak RSS under such a flood is
 * measured by bench/tags-flood.ts (docs/endpoints.md).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const REPO = "flood/app";
const TAGS = 2_000;

/** Makes `count` tags in the registry's storage directly: a tag is a folder to 2.8's tags/list. */
function makeTags(registry: TestRegistry, count: number): void {
  const dir = join(
    registry.dir,
    "storage",
    "docker",
    "registry",
    "v2",
    "repositories",
    REPO,
    "_manifests",
    "tags",
  );
  for (let i = 0; i < count; i++) mkdirSync(join(dir, `build-${i}`), { recursive: true });
}

describe("the tags-list cache under a flood of random Authorization headers (real registry, 2,000 tags)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  before(async () => {
    registry = await startRegistry();
    makeTags(registry, TAGS);
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
  });
  after(async () => {
    agent.destroy();
    await proxy?.stop();
    await registry?.stop();
  });

  it("GET tags/list with 80 distinct made-up credentials: every caller gets the list, the cache holds one copy", async () => {
    const upstreamLists = () => (registry.log().match(/\/v2\/flood\/app\/tags\/list/g) ?? []).length;
    let next = 0;
    const statuses: number[] = [];
    const worker = async () => {
      while (next < 80) {
        next++;
        const authorization = `Basic ${randomBytes(24).toString("base64")}`;
        const res = await request("GET", `${proxy.url}/v2/${REPO}/tags/list`, {
          agent,
          headers: { authorization },
        });
        statuses.push(res.status);
        if (next === 1) assert.equal(res.json<{ tags: string[] }>().tags.length, TAGS);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.deepEqual(new Set(statuses), new Set([200]));
    const cache = proxy.proxy.deps.tagLists;
    assert.equal(cache.size, 1, "one list for the repository, not one per header");
    assert.ok(cache.bytes <= proxy.config.tags.cacheMaxBytes, `${cache.bytes} bytes`);
    assert.ok(cache.grants <= proxy.config.tags.cacheMaxEntries);
    // The upstream still decides for every new caller (its log shows one request each at least).
    const deadline = Date.now() + 10_000;
    while (upstreamLists() < 80 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(upstreamLists() >= 80, `the registry was asked ${upstreamLists()} times`);
  });

  it("a caller that already read the list is served from the cache without asking the upstream again", async () => {
    const authorization = "Basic cmVhZGVyOnNlY3JldA==";
    const first = await request("GET", `${proxy.url}/v2/${REPO}/tags/_list?n=10`, {
      headers: { authorization },
    });
    assert.equal(first.status, 200);
    const hits = async () =>
      sampleValue(
        parseMetrics((await request("GET", `${proxy.url}/metrics`)).text),
        "rcp_cache_lookups_total",
        {
          cache: "tags",
          result: "hit",
        },
      ) ?? 0;
    const before = await hits();
    for (let i = 0; i < 5; i++) {
      const page = await request("GET", `${proxy.url}/v2/${REPO}/tags/_list?n=10&last=build-${i}`, {
        headers: { authorization },
      });
      assert.equal(page.status, 200);
      assert.equal(page.json<{ tags: string[] }>().tags.length, 10);
    }
    assert.equal((await hits()) - before, 5, "five pages from the cache");
    assert.equal(proxy.proxy.deps.tagLists.size, 1);
  });
});
