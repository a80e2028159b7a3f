/**
 * Immutable tags across replicas (issues 20 and the immutable-tag issue): two
 * proxies sharing a real redis-server in front of one real docker-registry 2.8.
 * The check-then-PUT of an immutable tag runs under the replicas' shared tag lock.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import type { TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { errorCode, manifestOf } from "../helpers/tag-delete.js";

describe("immutable tags across replicas (real registry, real redis-server, two proxies)", () => {
  let redis: TestRedis;
  let b: TestProxy;
  const shared = () => ({
    tags: { immutable: ["v*"] },
    state: { redisUrl: redis.url, redisLeaseMs: 1000 },
    log: { level: "warn" },
  });
  before(async () => {
    redis = await startRedis();
  });
  const fx = useRegistryAndProxy(() => ({ proxy: shared() }));
  before(async () => {
    b = await fx.addProxy(shared());
  });
  after(async () => {
    await redis?.dispose();
  });

  /** Two images per replica whose blobs are in the registry, manifests not yet pushed. */
  async function candidates(repo: string) {
    const images = Array.from({ length: 4 }, () => makeImage({ layerCount: 1, layerSize: 64 }));
    for (const image of images) await pushImage(fx.registry.url, repo, image, []);
    return images;
  }

  it("concurrent pushes of one new immutable tag through both replicas: exactly one digest wins and stays, the others get 403 DENIED", async () => {
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      const repo = `imm/race${round}`;
      const images = await candidates(repo);
      const answers = await Promise.all(
        images.map(async (image, i) => ({
          digest: image.manifest.digest,
          res: await request("PUT", `${(i % 2 ? fx.proxy : b).url}/v2/${repo}/manifests/v1`, {
            headers: { "content-type": image.mediaType },
            body: image.manifest.bytes,
          }),
        })),
      );
      const won = answers.filter((x) => x.res.status === 201);
      assert.equal(
        won.length,
        1,
        `round ${round}: ${answers.map((x) => `${x.res.status} ${x.res.text}`).join(" | ")}`,
      );
      for (const x of answers.filter((x) => x.res.status !== 201)) {
        assert.equal(x.res.status, 403, `round ${round}: ${x.res.text}`);
        assert.equal(errorCode(x.res), "DENIED");
      }
      assert.equal((await manifestOf(fx.registry.url, repo, "v1"))?.digest, won[0]!.digest, `round ${round}`);
    }
  });

  it("Redis stopped: a PUT to a new immutable tag answers 503 with Retry-After and writes nothing; a mutable tag's PUT still 201", async () => {
    const repo = "imm/down";
    const [image] = await candidates(repo);
    await redis.stop();
    try {
      const put = (p: TestProxy, tag: string) =>
        request("PUT", `${p.url}/v2/${repo}/manifests/${tag}`, {
          headers: { "content-type": image!.mediaType },
          body: image!.manifest.bytes,
        });
      for (const p of [fx.proxy, b]) {
        const refused = await put(p, "v2");
        assert.equal(refused.status, 503, refused.text);
        assert.equal(errorCode(refused), "UNAVAILABLE");
        assert.ok(Number(refused.headers["retry-after"]) > 0, "Retry-After");
      }
      assert.equal(await manifestOf(fx.registry.url, repo, "v2"), null);
      const mutable = await put(fx.proxy, "latest");
      assert.equal(mutable.status, 201, mutable.text);
      assert.equal((await manifestOf(fx.registry.url, repo, "latest"))?.digest, image!.manifest.digest);
    } finally {
      await redis.start();
    }
  });
});
