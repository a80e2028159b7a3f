import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeArtifact, pushEmptyBlob, putRaw, referrersTagOf } from "../helpers/artifacts.js";
import { headThenDelete, refusalOf, skopeoDelete } from "../helpers/digest-delete.js";
import { gcOptions, runGcForTest, seedGc } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { MT, makeImage, makeIndex, pushImage, putManifest } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, type Pushed, pushKind, revisionsOf, tagsOf } from "../helpers/tag-delete.js";
import { ACCESS_LOG, forwardedDuring } from "../helpers/upstream-watch.js";

async function digestDeletes(proxy: TestProxy, outcome: string): Promise<number> {
  const res = await request("GET", `${proxy.proxy.metricsUrl() ?? proxy.url}/metrics`);
  return sampleValue(parseMetrics(res.text), "rcp_digest_deletes_total", { outcome }) ?? 0;
}

function del(proxy: TestProxy, repo: string, ref: string) {
  return request("DELETE", `${proxy.url}/v2/${repo}/manifests/${ref}`);
}

describe("delete.digestDeletes: protect, in front of a real docker-registry 2.8", () => {
  let registry: TestRegistry;
  let guarded: TestProxy;
  let plain: TestProxy;

  before(async () => {
    registry = await startRegistry({ extra: ACCESS_LOG });
    guarded = await startProxy(registry.url, { delete: { digestDeletes: "protect" } });
    plain = await startProxy(registry.url);
  });
  after(async () => {
    await guarded.stop();
    await plain.stop();
    await registry.stop();
  });

  it("DELETE /v2/<name>/manifests/<digest> of a manifest with two tags: 403 DENIED naming both, nothing deleted", async () => {
    const { digest } = await pushKind(registry.url, "dd/two", "docker-v2", ["a", "b"]);
    const before = await digestDeletes(guarded, "refused_tags");
    let res!: Awaited<ReturnType<typeof del>>;
    const forwarded = await forwardedDuring(registry, guarded.url, async () => {
      res = await del(guarded, "dd/two", digest);
    });
    assert.equal(res.status, 403, res.text);
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    const refusal = refusalOf(res);
    assert.equal(refusal.code, "DENIED");
    assert.deepEqual(refusal.detail.tags, ["a", "b"]);
    assert.equal(refusal.detail.digest, digest);
    assert.match(refusal.message, /is tagged a and b \(2 tags\)/);
    assert.match(refusal.message, /DELETE \/v2\/dd\/two\/manifests\/<tag>/);
    assert.ok(!forwarded.some((l) => l.startsWith("DELETE")), `no DELETE upstream: ${forwarded.join(", ")}`);
    assert.deepEqual(await tagsOf(registry.url, "dd/two"), ["a", "b"]);
    assert.equal((await manifestOf(registry.url, "dd/two", digest))?.digest, digest);
    assert.equal(await digestDeletes(guarded, "refused_tags"), before + 1);
    const line = guarded.logs().find((l) => l.includes("digest delete refused") && l.includes("dd/two"));
    assert.ok(line, "the refusal is logged");
  });

  it("the tag delete removes one tag, then the DELETE by digest of the last one is 202", async () => {
    const { digest } = await pushKind(registry.url, "dd/steps", "oci-manifest", ["a", "b", "c"]);
    assert.equal((await del(guarded, "dd/steps", "a")).status, 202); // by tag: the swap
    assert.equal((await del(guarded, "dd/steps", digest)).status, 403);
    assert.equal((await del(guarded, "dd/steps", "b")).status, 202);
    const res = await del(guarded, "dd/steps", digest);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(await tagsOf(registry.url, "dd/steps"), []);
    assert.equal(await manifestOf(registry.url, "dd/steps", digest), null);
  });

  it("DELETE by digest of an untagged manifest, and of an unknown digest, behave as the registry's", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(registry.url, "dd/untagged", image, ["keep"]);
    const other = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(registry.url, "dd/untagged", other, []);
    await putManifest(
      registry.url,
      "dd/untagged",
      other.manifest.digest,
      other.manifest.bytes,
      other.mediaType,
    );
    assert.equal((await del(guarded, "dd/untagged", other.manifest.digest)).status, 202);
    assert.deepEqual(revisionsOf(registry.dir, "dd/untagged"), [image.manifest.digest]);
    const unknown = await del(guarded, "dd/untagged", `sha256:${"0".repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "MANIFEST_UNKNOWN");
  });

  it("a platform of a tagged multi-arch index is refused naming the index; the index's last tag, then the platform, delete", async () => {
    const repo = "dd/multi";
    const children = [
      makeImage({ layerCount: 1, layerSize: 64 }),
      makeImage({ layerCount: 1, layerSize: 64 }),
    ];
    for (const c of children) {
      await pushImage(registry.url, repo, c, []);
      await putManifest(registry.url, repo, c.manifest.digest, c.manifest.bytes, c.mediaType);
    }
    // One level of nesting: the tagged index lists an index that lists the platforms.
    const inner = makeIndex(children);
    await putManifest(registry.url, repo, inner.digest, inner.bytes, inner.mediaType);
    const outer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociIndex,
        manifests: [{ mediaType: MT.ociIndex, digest: inner.digest, size: inner.size }],
      }),
    );
    const outerDigest = await putManifest(registry.url, repo, "latest", outer, MT.ociIndex);
    const platform = children[1]!.manifest.digest;
    const res = await del(guarded, repo, platform);
    assert.equal(res.status, 403, res.text);
    const refusal = refusalOf(res);
    assert.deepEqual(refusal.detail.tags, []);
    assert.deepEqual(refusal.detail.indexes, [{ digest: outerDigest, tags: ["latest"] }]);
    assert.match(refusal.message, new RegExp(`part of the image index ${outerDigest}, tagged latest`));
    assert.equal((await manifestOf(registry.url, repo, platform))?.digest, platform);
    // The index itself has one tag: its delete by digest goes through; then nothing holds the platform.
    assert.equal((await del(guarded, repo, outerDigest)).status, 202);
    assert.equal((await del(guarded, repo, platform)).status, 202);
  });

  it("a signature listed only by the referrers tag schema deletes (202) and leaves its subject's index", async () => {
    const repo = "dd/signed";
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(guarded.url, repo, image, ["v1"]);
    await pushEmptyBlob(guarded.url, repo);
    const sig = makeArtifact(
      { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size },
      { artifactType: "application/vnd.example.signature" },
    );
    const put = await putRaw(guarded.url, repo, sig.digest, sig.bytes, sig.mediaType);
    assert.equal(put.status, 201, put.text);
    const res = await del(guarded, repo, sig.digest);
    assert.equal(res.status, 202, res.text);
    const index = await manifestOf(registry.url, repo, referrersTagOf(image.manifest.digest));
    assert.deepEqual(JSON.parse(index!.bytes.toString()).manifests, []);
  });

  /** DELETEs `path` through the guarded proxy; its answer and the registry's request lines meanwhile. */
  async function deleteRaw(path: string) {
    let res!: Awaited<ReturnType<typeof request>>;
    const forwarded = await forwardedDuring(registry, guarded.url, async () => {
      res = await request("DELETE", `${guarded.url}${path}`);
    });
    return { res, deletes: forwarded.filter((l) => l.startsWith("DELETE")) };
  }

  it("a digest spelled sha256%3A…, or a name with an encoded letter, never reaches the registry as a delete", async () => {
    const { digest } = await pushKind(registry.url, "dd/encoded", "oci-manifest", ["x", "y"]);
    for (const path of [
      `/v2/dd/encoded/manifests/${digest.replace(":", "%3A")}`,
      `/v2/dd/encoded/manifests/${digest.replace(":", "%3a")}`,
      `/v2/dd/%65ncoded/manifests/${digest}`,
    ]) {
      const { res, deletes } = await deleteRaw(path);
      // Refused by the route grammar (400) or by the guard (403): never forwarded.
      assert.ok([400, 403].includes(res.status), `${path}: ${res.status} ${res.text}`);
      assert.deepEqual(deletes, [], path);
    }
    assert.deepEqual(await tagsOf(registry.url, "dd/encoded"), ["x", "y"]);
  });

  it("an encoded route keyword (%6danifests, /v%32/) meets the guard too", async () => {
    const { digest } = await pushKind(registry.url, "dd/keyword", "oci-manifest", ["x", "y"]);
    for (const path of [`/v2/dd/keyword/%6danifests/${digest}`, `/v%32/dd/keyword/manifests/${digest}`]) {
      const { res, deletes } = await deleteRaw(path);
      assert.ok([400, 403].includes(res.status), `${path}: ${res.status} ${res.text}`);
      assert.deepEqual(deletes, [], path);
    }
    assert.deepEqual(await tagsOf(registry.url, "dd/keyword"), ["x", "y"]);
  });

  it("deletes sent together (a UI's selection) ask each tag once; the next one asks none again", async () => {
    const repo = "dd/selection";
    const pairs: Pushed[] = [];
    for (let i = 0; i < 3; i++)
      pairs.push(await pushKind(registry.url, repo, "docker-v2", [`a${i}`, `b${i}`]));
    for (let i = 0; i < 10; i++) await pushKind(registry.url, repo, "oci-manifest", [`other${i}`]);
    const fresh = await startProxy(registry.url, { delete: { digestDeletes: "protect" } });
    try {
      const heads = (lines: string[]) =>
        lines.filter((l) => l.startsWith(`HEAD /v2/${repo}/manifests/`) && !l.includes("sha256:"));
      const together = await forwardedDuring(registry, fresh.url, async () => {
        const answers = await Promise.all(pairs.map((p) => del(fresh, repo, p.digest)));
        assert.deepEqual(
          answers.map((r) => r.status),
          [403, 403, 403],
        );
      });
      assert.equal(heads(together).length, 16, `each of the 16 tags once:\n${heads(together).join("\n")}`);
      const next = await forwardedDuring(registry, fresh.url, async () => {
        assert.equal((await del(fresh, repo, pairs[0]!.digest)).status, 403);
      });
      assert.deepEqual(heads(next), [], "the cache answers");
      // A tag pushed through the proxy: only that tag is asked again.
      const other = pairs[1]!;
      const moved = await request("PUT", `${fresh.url}/v2/${repo}/manifests/other0`, {
        headers: { "content-type": other.mediaType },
        body: other.bytes,
      });
      assert.equal(moved.status, 201, moved.text);
      let refused!: Awaited<ReturnType<typeof del>>;
      const after = await forwardedDuring(registry, fresh.url, async () => {
        refused = await del(fresh, repo, other.digest);
      });
      assert.deepEqual(heads(after), [`HEAD /v2/${repo}/manifests/other0`]);
      assert.deepEqual(refusalOf(refused).detail.tags, ["a1", "b1", "other0"]);
      assert.equal(await digestDeletes(fresh, "refused_tags"), 5);
    } finally {
      await fresh.stop();
    }
  });

  it("allow (the default): the DELETE by digest removes the manifest and every tag, as the registry does", async () => {
    const { digest } = await pushKind(registry.url, "dd/allow", "docker-v2", ["a", "b"]);
    const res = await del(plain, "dd/allow", digest);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(await tagsOf(registry.url, "dd/allow"), []);
  });

  it("skopeo delete of an image with two tags fails printing the refusal; with one tag it works", async () => {
    const host = guarded.url.replace("http://", "");
    await pushKind(registry.url, "dd/skopeo", "oci-manifest", ["a", "b"]);
    const refused = await skopeoDelete(host, "dd/skopeo:a");
    assert.equal(refused.ok, false);
    // skopeo 1.9 prints the body and the status: the message names the tags and the way out.
    assert.match(refused.stderr, /Failed to delete .*is tagged a and b \(2 tags\).*\(403 Forbidden\)/);
    assert.match(refused.stderr, /Remove one tag with DELETE \/v2\/dd\/skopeo\/manifests\/<tag>/);
    assert.deepEqual(await tagsOf(registry.url, "dd/skopeo"), ["a", "b"]);

    await pushKind(registry.url, "dd/skopeo-one", "oci-manifest", ["only"]);
    const done = await skopeoDelete(host, "dd/skopeo-one:only");
    assert.ok(done.ok, done.stderr);
    assert.deepEqual(await tagsOf(registry.url, "dd/skopeo-one"), []);
  });

  it("skopeo delete through the proxy in allow mode removes every tag of the image", async () => {
    await pushKind(registry.url, "dd/skopeo-allow", "oci-manifest", ["a", "b"]);
    const done = await skopeoDelete(plain.url.replace("http://", ""), "dd/skopeo-allow:a");
    assert.ok(done.ok, done.stderr);
    assert.deepEqual(await tagsOf(registry.url, "dd/skopeo-allow"), []);
  });

  it("the HEAD-then-DELETE curl script: 403 with the refusal (protect), 202 and both tags gone (allow)", async () => {
    await pushKind(registry.url, "dd/script", "docker-v2", ["a", "b"]);
    const refused = await headThenDelete(guarded.url, "dd/script", "a");
    assert.equal(refused.status, 403);
    assert.match(refused.body, /"code":"DENIED"/);
    assert.deepEqual(await tagsOf(registry.url, "dd/script"), ["a", "b"]);

    await pushKind(registry.url, "dd/script-one", "docker-v2", ["only"]);
    assert.equal((await headThenDelete(guarded.url, "dd/script-one", "only")).status, 202);
    assert.deepEqual(await tagsOf(registry.url, "dd/script-one"), []);

    assert.equal((await headThenDelete(plain.url, "dd/script", "a")).status, 202);
    assert.deepEqual(await tagsOf(registry.url, "dd/script"), []);
  });
});

describe("gc --apply through a proxy with delete.digestDeletes: protect", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;

  before(async () => {
    registry = await startRegistry();
    // gc's deletes through the guard: old's delete is not held by a tag history (history-gc.test.ts has that).
    proxy = await startProxy(registry.url, {
      metrics: { port: 0 },
      delete: { digestDeletes: "protect" },
      history: { windowMs: 0 },
    });
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
  });

  it("deletes the untagged manifest it found (the guard allows it) and leaves the multi-arch image whole", async () => {
    const seed = await seedGc(proxy.url, "dd/gc");
    const { result, err } = await runGcForTest(
      gcOptions({
        registryConfig: join(registry.dir, "config.yml"),
        apply: true,
        adminUrl: proxy.proxy.metricsUrl(),
        registryUrl: proxy.url,
      }),
    );
    assert.equal(result.exitCode, 0, err);
    assert.deepEqual(
      result.deletes.map((d) => [d.repository, d.digest, d.result]),
      [["dd/gc", seed.oldDigest, "deleted"]],
    );
    for (const child of seed.childDigests) {
      assert.equal((await manifestOf(registry.url, "dd/gc", child))?.digest, child);
    }
    // gc's delete, and the zero digest its preflight deletes to learn it may delete (nothing is there).
    assert.equal(await digestDeletes(proxy, "allowed"), 2);
  });
});
