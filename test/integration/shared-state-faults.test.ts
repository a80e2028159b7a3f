/**
 * Shared state (Redis) failing at the moments a healthy run never shows, with a
 * real redis-server and a real docker-registry 2.8: the command connection slower
 * to come up than the subscriber at start-up, and Redis going away in the middle of
 * a tag delete (after its lock, before its journal intent). Each answer is what
 * docs/replicas.md promises: no warning on a clean start, 503 with Retry-After and
 * nothing changed when Redis is down.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { startFakeUpstream } from "../helpers/fake-upstream.js";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { errorCode, manifestOf, pushKind, revisionsOf } from "../helpers/tag-delete.js";

/**
 * A TCP relay in front of Redis that holds the bytes the first connection sends for
 * `holdMs` (the proxy opens its command connection first, then its subscriber), and
 * keeps what every connection sent.
 */
async function slowFirstConnection(port: number, holdMs: number) {
  const sent: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const index = sent.push("") - 1;
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const relay = () => {
      client.on("data", (d: Buffer) => {
        sent[index] += d.toString("latin1");
      });
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (index === 0) {
      client.pause();
      setTimeout(relay, holdMs);
    } else relay();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    sent: () => [...sent],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("shared state (Redis) failures answer what the docs promise (real registry, real redis-server)", () => {
  let registry: TestRegistry;
  let redis: TestRedis;
  const proxies: TestProxy[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
  });
  after(async () => {
    for (const close of closers) await close();
    for (const p of proxies) await p.stop();
    await redis?.dispose();
    await registry?.stop();
  });

  it("a clean start with Redis up, its command connection ready after the subscriber: no warning and no stack trace in the log", async () => {
    const relay = await slowFirstConnection(redis.port, 400);
    try {
      const proxy = await startProxy(registry.url, { state: { redisUrl: relay.url } });
      proxies.push(proxy);
      // Both connections up: the subscriber subscribed, the command connection answered.
      const deadline = Date.now() + 30_000;
      while (!relay.sent()[1]?.toLowerCase().includes("subscribe") || !relay.sent()[0]) {
        assert.ok(Date.now() < deadline, `connections never came up: ${JSON.stringify(relay.sent())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(relay.sent()[1]!.toLowerCase(), /subscribe/, "the second connection is the subscriber");
      const ready = await request("GET", `${proxy.url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
      assert.doesNotMatch(ready.text, /redis/, "readiness has no Redis note once connected");
      await new Promise((r) => setTimeout(r, 300));
      const loud = proxy
        .logs()
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 40);
      assert.deepEqual(loud, [], "no warning or error on a healthy start");
      assert.ok(!proxy.logs().some((l) => /Stream isn't writeable|"stack"/.test(l)), "no stack trace");
      await proxy.stop();
      proxies.splice(proxies.indexOf(proxy), 1);
    } finally {
      await relay.stop();
    }
  });

  it("DELETE /v2/:name/tags/:tag with Redis gone after the tag lock and before the journal intent → 503 UNAVAILABLE with Retry-After, nothing changed; 202 once Redis is back", async () => {
    const fake = await startFakeUpstream(registry.url);
    closers.push(() => fake.stop());
    const repo = "faults/redis-mid-delete";
    const original = await pushKind(registry.url, repo, "docker-v2", ["x", "keep"]);
    const revisions = revisionsOf(registry.dir, repo);
    const proxy = await startProxy(fake.url, {
      state: { redisUrl: redis.url, sweepIntervalMs: 0 },
      log: { level: "warn" },
    });
    proxies.push(proxy);
    try {
      // The swap's first read of the tag, under its shared lock: Redis dies meanwhile.
      fake.addRule({
        method: "GET",
        path: new RegExp(`/v2/${repo}/manifests/x$`),
        times: 1,
        action: { until: () => redis.stop() },
      });
      const res = await request("DELETE", `${proxy.url}/v2/${repo}/tags/x`);
      assert.equal(res.status, 503, res.text);
      assert.equal(errorCode(res), "UNAVAILABLE");
      assert.equal(res.headers["retry-after"], "5");
      assert.match(res.text, /nothing was changed/);
      assert.equal((await manifestOf(registry.url, repo, "x"))?.digest, original.digest, "x untouched");
      assert.deepEqual(revisionsOf(registry.dir, repo), revisions, "no tombstone was written");
      assert.ok(
        !fake.requests.some((r) => r.method === "PUT"),
        "no upstream write after the failed journal intent",
      );
    } finally {
      await redis.start();
    }
    const deadline = Date.now() + 30_000;
    while ((await request("GET", `${proxy.url}/readyz`)).text.includes("redis")) {
      assert.ok(Date.now() < deadline, "the proxy never reconnected to Redis");
      await new Promise((r) => setTimeout(r, 50));
    }
    const again = await request("DELETE", `${proxy.url}/v2/${repo}/tags/x`);
    assert.equal(again.status, 202, again.text);
    assert.equal(await manifestOf(registry.url, repo, "x"), null);
    assert.equal((await manifestOf(registry.url, repo, "keep"))?.digest, original.digest);
  });
});
