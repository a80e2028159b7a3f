/**
 * Referrers index maintenance when the upstream fails where a real registry
 * will not on demand (a scripted fault point in front of docker-registry 2.8):
 * the referrers tag PUT failing, and the manifest read before a DELETE by
 * digest refused with 401 or 403.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import {
  type IndexDoc,
  makeArtifact,
  pushEmptyBlob,
  putRaw,
  referrersTagOf,
  type SubjectRef,
} from "../helpers/artifacts.js";
import { FAULTS, type FakeUpstream, startFakeUpstream } from "../helpers/fake-upstream.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

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
  let registry: TestRegistry | undefined;
  let fake: FakeUpstream | undefined;
  let proxy: TestProxy | undefined;

  before(async () => {
    registry = await startRegistry();
    fake = await startFakeUpstream(registry.url);
    proxy = await startProxy(fake.url, { log: { level: "debug" } });
  });
  afterEach(() => {
    fake?.clearRules();
    fake?.clearRequests();
  });
  after(async () => {
    await proxy?.stop();
    await fake?.stop();
    await registry?.stop();
  });

  async function pushSubject(repo: string): Promise<SubjectRef> {
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(registry!.url, repo, image, ["v1"]);
    await pushEmptyBlob(registry!.url, repo);
    return { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size };
  }

  it("the referrers index PUT fails: the referrer is stored (201) but the answer carries no OCI-Subject", async () => {
    const repo = "rf/index-put-fails";
    const subject = await pushSubject(repo);
    const artifact = makeArtifact(subject, { artifactType: "application/vnd.example.sbom.v1" });
    const indexPath = new RegExp(`/manifests/${referrersTagOf(subject.digest)}$`);
    fake!.addRule({ method: "PUT", path: indexPath, action: FAULTS.status500 });
    const failedBefore = await referrerUpdates(proxy!, "add", "failed");

    const res = await putRaw(proxy!.url, repo, artifact.digest, artifact.bytes, artifact.mediaType);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers["docker-content-digest"], artifact.digest);
    assert.equal(res.headers["oci-subject"], undefined, "no OCI-Subject: the index does not list it");
    assert.ok(
      fake!.requests.some((r) => r.method === "PUT" && indexPath.test(r.path)),
      "the index PUT was tried",
    );
    const stored = await request("GET", `${registry!.url}/v2/${repo}/manifests/${artifact.digest}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(stored.status, 200, "the referrer itself is stored");
    assert.deepEqual(await indexed(registry!.url, repo, subject.digest), []);
    assert.equal(await referrerUpdates(proxy!, "add", "failed"), failedBefore + 1);
    assert.ok(proxy!.logs().some((l) => l.includes("referrers index not updated")));

    // Without the fault the same PUT indexes it and claims the subject.
    fake!.clearRules();
    const again = await putRaw(proxy!.url, repo, artifact.digest, artifact.bytes, artifact.mediaType);
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers["oci-subject"], subject.digest);
    assert.deepEqual(await indexed(registry!.url, repo, subject.digest), [artifact.digest]);
  });

  for (const status of [401, 403]) {
    it(`DELETE by digest when the manifest read answers ${status}: the DELETE is still forwarded (202) and the index entry stays`, async () => {
      const repo = `rf/unreadable-${status}`;
      const subject = await pushSubject(repo);
      const artifact = makeArtifact(subject, { artifactType: "application/vnd.example.sig.v1" });
      const put = await putRaw(proxy!.url, repo, artifact.digest, artifact.bytes, artifact.mediaType);
      assert.equal(put.headers["oci-subject"], subject.digest);
      const unreadableBefore = await referrerUpdates(proxy!, "remove", "unreadable");
      fake!.addRule({
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

      const res = await request("DELETE", `${proxy!.url}/v2/${repo}/manifests/${artifact.digest}`);
      assert.equal(res.status, 202, res.text);
      const gone = await request("GET", `${registry!.url}/v2/${repo}/manifests/${artifact.digest}`, {
        headers: { accept: ALL_MANIFEST_TYPES },
      });
      assert.equal(gone.status, 404, "the registry deleted the manifest");
      assert.deepEqual(
        await indexed(registry!.url, repo, subject.digest),
        [artifact.digest],
        "the index could not be read for the subject, so its entry stays",
      );
      assert.equal(await referrerUpdates(proxy!, "remove", "unreadable"), unreadableBefore + 1);
      assert.ok(
        proxy!
          .logs()
          .some(
            (l) =>
              l.includes("manifest not readable with the caller's credentials") && l.includes(`${status}`),
          ),
      );
    });
  }
});
