/**
 * Referrers index maintenance when the upstream fails where a real registry
 * will not on demand (a scripted fault point in front of docker-registry 2.8):
 * the referrers tag PUT failing, and the manifest read before a DELETE by
 * digest refused with 401 or 403.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  type IndexDoc,
  makeArtifact,
  pushEmptyBlob,
  putRaw,
  referrersTagOf,
  type SubjectRef,
} from "../helpers/artifacts.js";
import { FAULTS, startFakeUpstream } from "../helpers/fake-upstream.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import type { TestProxy } from "../helpers/proxy.js";

/** The digests the subject's referrers tag lists on the registry itself ([] when there is none). */
async function indexed(base: string, repo: string, subject: string): Promise<string[]> {
  const res = await request("GET", `${base}/v2/${repo}/manifests/${referrersTagOf(subject)}`, {
    headers: { accept: ALL_MANIFEST_TYPES },
  });
  if (res.status === 404) return [];
  assert.equal(res.status, 200, res.text);
  return res
    .json<IndexDoc>()
    .manifests.map((d) => d.digest)
    .sort();
}

async function referrerUpdates(proxy: TestProxy, op: string, outcome: string): Promise<number> {
  const text = (await request("GET", `${proxy.url}/metrics`)).text;
  return sampleValue(parseMetrics(text), "rcp_referrers_index_updates_total", { op, outcome }) ?? 0;
}

describe("referrers index with upstream faults", () => {
  const fx = useRegistryAndProxy({
    front: (r) => startFakeUpstream(r.url),
    proxy: { log: { level: "debug" } },
  });
  afterEach(() => {
    fx.front.clearRules();
    fx.front.clearRequests();
  });

  async function pushSubject(repo: string): Promise<SubjectRef> {
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(fx.registry.url, repo, image, ["v1"]);
    await pushEmptyBlob(fx.registry.url, repo);
    return { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size };
  }

  it("the referrers index PUT fails: the referrer is stored (201) but the answer carries no OCI-Subject", async () => {
    const repo = "rf/index-put-fails";
    const subject = await pushSubject(repo);
    const artifact = makeArtifact(subject, { artifactType: "application/vnd.example.sbom.v1" });
    const indexPath = new RegExp(`/manifests/${referrersTagOf(subject.digest)}$`);
    fx.front.addRule({ method: "PUT", path: indexPath, action: FAULTS.status500 });
    const failedBefore = await referrerUpdates(fx.proxy, "add", "failed");

    const res = await putRaw(fx.proxy.url, repo, artifact.digest, artifact.bytes, artifact.mediaType);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers["docker-content-digest"], artifact.digest);
    assert.equal(res.headers["oci-subject"], undefined, "no OCI-Subject: the index does not list it");
    assert.ok(
      fx.front.requests.some((r) => r.method === "PUT" && indexPath.test(r.path)),
      "the index PUT was tried",
    );
    const stored = await request("GET", `${fx.registry.url}/v2/${repo}/manifests/${artifact.digest}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(stored.status, 200, "the referrer itself is stored");
    assert.deepEqual(await indexed(fx.registry.url, repo, subject.digest), []);
    assert.equal(await referrerUpdates(fx.proxy, "add", "failed"), failedBefore + 1);
    assert.ok(fx.proxy.logs().some((l) => l.includes("referrers index not updated")));

    // Without the fault the same PUT indexes it and claims the subject.
    fx.front.clearRules();
    const again = await putRaw(fx.proxy.url, repo, artifact.digest, artifact.bytes, artifact.mediaType);
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers["oci-subject"], subject.digest);
    assert.deepEqual(await indexed(fx.registry.url, repo, subject.digest), [artifact.digest]);
  });

  for (const status of [401, 403]) {
    it(`DELETE by digest when the manifest read answers ${status}: the DELETE is still forwarded (202) and the index entry stays`, async () => {
      const repo = `rf/unreadable-${status}`;
      const subject = await pushSubject(repo);
      const artifact = makeArtifact(subject, { artifactType: "application/vnd.example.sig.v1" });
      const put = await putRaw(fx.proxy.url, repo, artifact.digest, artifact.bytes, artifact.mediaType);
      assert.equal(put.headers["oci-subject"], subject.digest);
      const unreadableBefore = await referrerUpdates(fx.proxy, "remove", "unreadable");
      fx.front.addRule({
        method: "GET",
        path: new RegExp(`/manifests/${artifact.digest}$`),
        times: 1,
        action: {
          status,
          body: JSON.stringify({
            errors: [{ code: status === 401 ? "UNAUTHORIZED" : "DENIED", message: "no" }],
          }),
          headers: { "content-type": "application/json" },
        },
      });

      const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/${artifact.digest}`);
      assert.equal(res.status, 202, res.text);
      const gone = await request("GET", `${fx.registry.url}/v2/${repo}/manifests/${artifact.digest}`, {
        headers: { accept: ALL_MANIFEST_TYPES },
      });
      assert.equal(gone.status, 404, "the registry deleted the manifest");
      assert.deepEqual(
        await indexed(fx.registry.url, repo, subject.digest),
        [artifact.digest],
        "the index could not be read for the subject, so its entry stays",
      );
      assert.equal(await referrerUpdates(fx.proxy, "remove", "unreadable"), unreadableBefore + 1);
      assert.ok(
        fx.proxy
          .logs()
          .some(
            (l) =>
              l.includes("manifest not readable with the caller's credentials") && l.includes(`${status}`),
          ),
      );
    });
  }
});
