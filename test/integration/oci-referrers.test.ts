/**
 * Referrers through the proxy in front of a real docker-registry 2.8, written from
 * distribution-spec 1.1: "Listing Referrers", "Pushing Manifests with Subject",
 * "Deleting Manifests" and "Referrers Tag Schema".
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  expectedDescriptor,
  type IndexDoc,
  makeArtifact,
  pushEmptyBlob,
  putRaw,
  referrersTagOf,
  type SubjectRef,
} from "../helpers/artifacts.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage, sha256 } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";

requireTools("htpasswd");

const exec = promisify(execFile);
const SBOM = "application/vnd.example.sbom.v1";
const SIG = "application/vnd.example.signature.v1";
const INDEX = "application/vnd.oci.image.index.v1+json";

async function listReferrers(base: string, repo: string, digest: string, query = "") {
  const res = await request("GET", `${base}/v2/${repo}/referrers/${digest}${query}`);
  return { res, doc: res.status === 200 ? res.json<IndexDoc>() : undefined };
}

/** What the referrers tag holds on the upstream itself (what a client without the API sees). */
async function tagIndex(registryUrl: string, repo: string, digest: string): Promise<IndexDoc | number> {
  const res = await request("GET", `${registryUrl}/v2/${repo}/manifests/${referrersTagOf(digest)}`, {
    headers: { accept: ALL_MANIFEST_TYPES },
  });
  if (res.status !== 200) return res.status;
  assert.equal(res.headers["content-type"], INDEX);
  return res.json<IndexDoc>();
}

async function pushSubject(base: string, repo: string): Promise<SubjectRef> {
  const image = makeImage({ layerCount: 1, layerSize: 64 });
  await pushImage(base, repo, image, ["v1"]);
  await pushEmptyBlob(base, repo);
  return { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size };
}

function digests(doc: IndexDoc | undefined): string[] {
  return (doc?.manifests ?? []).map((d) => d.digest).sort();
}

describe("referrers API through the proxy (2.8 upstream)", () => {
  const fx = useRegistryAndProxy();

  /** Each test its own repository: a subject with an SBOM and a signature pushed through the proxy. */
  async function withReferrers(repo: string) {
    const subject = await pushSubject(fx.proxy.url, repo);
    const sbom = makeArtifact(subject, {
      artifactType: SBOM,
      annotations: { "org.example.sbom.format": "json" },
    });
    const sig = makeArtifact(subject, { artifactType: SIG });
    for (const a of [sbom, sig]) {
      const res = await putRaw(fx.proxy.url, repo, a.digest, a.bytes, a.mediaType);
      assert.equal(res.status, 201, res.text);
    }
    return { subject, sbom, sig };
  }

  it("GET /v2/:name/referrers/:digest with no referrers answers 200 and an empty OCI index", async () => {
    const repo = "ref/empty";
    const subject = await pushSubject(fx.proxy.url, repo);
    const { res, doc } = await listReferrers(fx.proxy.url, repo, subject.digest);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], INDEX);
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.equal(res.headers["oci-filters-applied"], undefined);
    assert.deepEqual(doc, { schemaVersion: 2, mediaType: INDEX, manifests: [] });
    const direct = await request("GET", `${fx.registry.url}/v2/${repo}/referrers/${subject.digest}`);
    assert.equal(direct.status, 404, "2.8 itself has no referrers API");
  });

  it("GET referrers of an unknown repository answers 200 with an empty index, never 404", async () => {
    const { res, doc } = await listReferrers(fx.proxy.url, "no/such/repo", sha256("no subject"));
    assert.equal(res.status, 200);
    assert.deepEqual(doc?.manifests, []);
  });

  it("PUT /v2/:name/manifests/:digest with subject answers 201 with OCI-Subject and updates the tag schema", async () => {
    const repo = "ref/put";
    const subject = await pushSubject(fx.proxy.url, repo);
    const sbom = makeArtifact(subject, { artifactType: SBOM });
    const sig = makeArtifact(subject, { artifactType: SIG });
    for (const a of [sbom, sig]) {
      const res = await putRaw(fx.proxy.url, repo, a.digest, a.bytes, a.mediaType);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["oci-subject"], subject.digest);
      assert.equal(res.headers["docker-content-digest"], a.digest);
      assert.equal(res.headers.location, `${fx.proxy.url}/v2/${repo}/manifests/${a.digest}`);
    }
    const tag = await tagIndex(fx.registry.url, repo, subject.digest);
    assert.notEqual(typeof tag, "number", "the <alg>-<hex> tag exists on the upstream");
    assert.deepEqual(digests(tag as IndexDoc), [sbom.digest, sig.digest].sort());
  });

  it("GET referrers lists both with artifactType, annotations, mediaType, size and digest", async () => {
    const repo = "ref/list";
    const { subject, sbom, sig } = await withReferrers(repo);
    const { res, doc } = await listReferrers(fx.proxy.url, repo, subject.digest);
    assert.equal(res.status, 200);
    assert.equal(doc?.schemaVersion, 2);
    assert.equal(doc?.mediaType, INDEX);
    const byDigest = new Map(doc!.manifests.map((d) => [d.digest, d]));
    assert.equal(byDigest.size, 2);
    assert.deepEqual(byDigest.get(sbom.digest), expectedDescriptor(sbom));
    assert.deepEqual(byDigest.get(sig.digest), expectedDescriptor(sig));
  });

  it("GET referrers?artifactType= filters and says so in OCI-Filters-Applied", async () => {
    const repo = "ref/filter";
    const { subject, sbom } = await withReferrers(repo);
    const q = `?artifactType=${encodeURIComponent(SBOM)}`;
    const { res, doc } = await listReferrers(fx.proxy.url, repo, subject.digest, q);
    assert.equal(res.status, 200);
    assert.equal(res.headers["oci-filters-applied"], "artifactType");
    assert.deepEqual(digests(doc), [sbom.digest]);
    const none = await listReferrers(fx.proxy.url, repo, subject.digest, "?artifactType=application/none");
    assert.equal(none.res.headers["oci-filters-applied"], "artifactType");
    assert.deepEqual(none.doc?.manifests, []);
  });

  it("HEAD referrers answers 200 with the index Content-Type and no body", async () => {
    const repo = "ref/head";
    const { subject } = await withReferrers(repo);
    const res = await request("HEAD", `${fx.proxy.url}/v2/${repo}/referrers/${subject.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], INDEX);
    assert.equal(res.body.length, 0);
  });

  it("GET referrers with a malformed digest answers 400 DIGEST_INVALID in OCI JSON", async () => {
    const res = await request("GET", `${fx.proxy.url}/v2/ref/any/referrers/sha256:totallywrong`);
    assert.equal(res.status, 400);
    assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "DIGEST_INVALID");
  });

  it("DELETE /v2/:name/referrers/:digest is refused with 405 and Allow", async () => {
    const res = await request("DELETE", `${fx.proxy.url}/v2/ref/any/referrers/${sha256("a subject")}`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, "GET, HEAD");
  });

  it("pushing the same referrer again (by tag this time) keeps it listed exactly once", async () => {
    const repo = "ref/again";
    const { subject, sbom, sig } = await withReferrers(repo);
    const res = await putRaw(fx.proxy.url, repo, "sbom-again", sbom.bytes, sbom.mediaType);
    assert.equal(res.status, 201);
    assert.equal(res.headers["oci-subject"], subject.digest);
    const { doc } = await listReferrers(fx.proxy.url, repo, subject.digest);
    assert.deepEqual(digests(doc), [sbom.digest, sig.digest].sort());
  });

  it("DELETE /v2/:name/manifests/:digest of a referrer answers 202 and it leaves the index", async () => {
    const repo = "ref/delete";
    const { subject, sbom, sig } = await withReferrers(repo);
    const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/${sig.digest}`);
    assert.equal(res.status, 202);
    const { doc } = await listReferrers(fx.proxy.url, repo, subject.digest);
    assert.deepEqual(digests(doc), [sbom.digest]);
    assert.deepEqual(digests((await tagIndex(fx.registry.url, repo, subject.digest)) as IndexDoc), [
      sbom.digest,
    ]);
    const again = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/${sig.digest}`);
    assert.equal(again.status, 404, "a second delete is the upstream's 404");
  });

  it("a referrer without artifactType is listed with its config mediaType", async () => {
    const repo = "ref/plain";
    // pushSubject pushed the `{}` config blob; only its declared mediaType differs.
    const subject = await pushSubject(fx.proxy.url, repo);
    const plain = makeArtifact(subject, { configType: "application/vnd.example.config.v1+json" });
    const res = await putRaw(fx.proxy.url, repo, plain.digest, plain.bytes, plain.mediaType);
    assert.equal(res.status, 201, res.text);
    const q = `?artifactType=${encodeURIComponent("application/vnd.example.config.v1+json")}`;
    const { doc } = await listReferrers(fx.proxy.url, repo, subject.digest, q);
    assert.deepEqual(doc?.manifests, [expectedDescriptor(plain, "application/vnd.example.config.v1+json")]);
  });

  it("concurrent referrer pushes for one subject are all listed, each exactly once", async () => {
    const target = await pushSubject(fx.proxy.url, "ref/busy");
    const many = Array.from({ length: 8 }, (_, i) => makeArtifact(target, { artifactType: `${SIG}.${i}` }));
    const results = await Promise.all(
      many.map((a) => putRaw(fx.proxy.url, "ref/busy", a.digest, a.bytes, a.mediaType)),
    );
    for (const r of results) {
      assert.equal(r.status, 201);
      assert.equal(r.headers["oci-subject"], target.digest);
    }
    const { doc } = await listReferrers(fx.proxy.url, "ref/busy", target.digest);
    assert.deepEqual(digests(doc), many.map((a) => a.digest).sort());
  });
});

describe("referrers tag schema maintained by a client as well as by the proxy", () => {
  const repo = "ref/client";
  const fx = useRegistryAndProxy();

  it("an index pre-created by a client plus a referrer pushed through the proxy lists both, once each", async () => {
    const subject = await pushSubject(fx.proxy.url, repo);
    // A client on the legacy registry (no referrers API): push R1 and the tag schema index itself.
    const r1 = makeArtifact(subject, { artifactType: SBOM });
    assert.equal((await putRaw(fx.registry.url, repo, r1.digest, r1.bytes, r1.mediaType)).status, 201);
    const clientIndex = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [expectedDescriptor(r1)] }),
    );
    const tag = referrersTagOf(subject.digest);
    assert.equal((await putRaw(fx.registry.url, repo, tag, clientIndex, INDEX)).status, 201);

    const r2 = makeArtifact(subject, { artifactType: SIG });
    const pushed = await putRaw(fx.proxy.url, repo, r2.digest, r2.bytes, r2.mediaType);
    assert.equal(pushed.status, 201);
    assert.equal(pushed.headers["oci-subject"], subject.digest);

    // A client that updates the tag anyway, following the spec: pull, skip if present, push.
    const pulled = await request("GET", `${fx.proxy.url}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: INDEX },
    });
    const current = pulled.json<IndexDoc>();
    if (!current.manifests.some((d) => d.digest === r2.digest)) {
      current.manifests.push(expectedDescriptor(r2) as IndexDoc["manifests"][number]);
      await putRaw(fx.proxy.url, repo, tag, Buffer.from(JSON.stringify(current)), INDEX);
    }

    const { doc } = await listReferrers(fx.proxy.url, repo, subject.digest);
    assert.deepEqual(doc!.manifests.map((d) => d.digest).sort(), [r1.digest, r2.digest].sort());
    const viaTag = (await tagIndex(fx.registry.url, repo, subject.digest)) as IndexDoc;
    assert.deepEqual(viaTag.manifests.map((d) => d.digest).sort(), [r1.digest, r2.digest].sort());
  });

  it("a referrers tag holding something other than an index is left alone and no OCI-Subject is claimed", async () => {
    const subject = await pushSubject(fx.proxy.url, "ref/occupied");
    const squatter = makeImage({ layerCount: 1, layerSize: 32 });
    await pushImage(fx.proxy.url, "ref/occupied", squatter, [referrersTagOf(subject.digest)]);
    const a = makeArtifact(subject, { artifactType: SBOM });
    const res = await putRaw(fx.proxy.url, "ref/occupied", a.digest, a.bytes, a.mediaType);
    assert.equal(res.status, 201);
    assert.equal(res.headers["oci-subject"], undefined, "the client must do (or skip) the update itself");
    const still = await request(
      "HEAD",
      `${fx.registry.url}/v2/ref/occupied/manifests/${referrersTagOf(subject.digest)}`,
      {
        headers: { accept: ALL_MANIFEST_TYPES },
      },
    );
    assert.equal(still.headers["docker-content-digest"], squatter.manifest.digest);
    const { res: listed, doc } = await listReferrers(fx.proxy.url, "ref/occupied", subject.digest);
    assert.equal(listed.status, 200);
    assert.deepEqual(doc?.manifests, []);
  });
});

describe("referrers behind Basic auth", () => {
  let dir: string;
  const auth = `Basic ${Buffer.from("alice:secret").toString("base64")}`;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-oci-ref-auth-"));
    writeFileSync(join(dir, "htpasswd"), (await exec("htpasswd", ["-Bbn", "alice", "secret"])).stdout);
  });
  const fx = useRegistryAndProxy(() => ({ registry: { htpasswdFile: join(dir, "htpasswd") } }));
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("GET referrers without credentials relays the registry's 401 and challenge unchanged", async () => {
    const digest = sha256("anything");
    const res = await request("GET", `${fx.proxy.url}/v2/ref/auth/referrers/${digest}`);
    const direct = await request("GET", `${fx.registry.url}/v2/ref/auth/manifests/${referrersTagOf(digest)}`);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], direct.headers["www-authenticate"]);
    assert.equal(res.text, direct.text);
  });

  it("with the caller's credentials a referrer is pushed, indexed and listed", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(fx.proxy.url, "ref/auth", image, ["v1"], auth);
    await pushEmptyBlob(fx.proxy.url, "ref/auth", auth);
    const subject = { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    const a = makeArtifact(subject, { artifactType: SBOM });
    const put = await putRaw(fx.proxy.url, "ref/auth", a.digest, a.bytes, a.mediaType, auth);
    assert.equal(put.status, 201);
    assert.equal(put.headers["oci-subject"], subject.digest);
    const res = await request("GET", `${fx.proxy.url}/v2/ref/auth/referrers/${subject.digest}`, {
      headers: { authorization: auth },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json<IndexDoc>().manifests.map((d) => d.digest),
      [a.digest],
    );
  });
});
