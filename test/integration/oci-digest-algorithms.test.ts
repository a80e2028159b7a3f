/**
 * Digests in an algorithm other than sha256 (sha512, the conformance suite's second
 * algorithm; sha384 alike). distribution 2.8 stores and answers sha256 only. The spec:
 * "If the client provided digest is invalid or uses an unsupported algorithm, the
 * registry SHOULD respond with a response code 400 Bad Request" (pushing manifests), a
 * blob whose digest does not hold is DIGEST_INVALID, and "If the manifest is not found
 * in the registry, the response code MUST be 404 Not Found". So through the proxy a
 * write naming such a digest gets 400 DIGEST_INVALID at its first request and changes
 * nothing; a manifest read or delete by one gets 404 MANIFEST_UNKNOWN, in OCI JSON.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { EMPTY_BLOB, EMPTY_CONFIG_TYPE, putRaw } from "../helpers/artifacts.js";
import { type Res, request } from "../helpers/http.js";
import { type NginxTier, startNginxTier } from "../helpers/nginx-tier.js";
import { ALL_MANIFEST_TYPES, MT, pushBlob, sha256 } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

requireTools("nginx");

const OCTETS = "application/octet-stream";

function sha512(data: Buffer): string {
  return `sha512:${createHash("sha512").update(data).digest("hex")}`;
}

function sha384(data: Buffer): string {
  return `sha384:${createHash("sha384").update(data).digest("hex")}`;
}

function errorOf(res: Res): {
  code: string;
  message: string;
  detail: { algorithm: string; supported: string[] };
} {
  assert.match(String(res.headers["content-type"]), /^application\/json/, res.text);
  assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
  return res.json<{ errors: Array<ReturnType<typeof errorOf>> }>().errors[0]!;
}

function assertDigestInvalid(res: Res, algorithm: string, what: string): void {
  assert.equal(res.status, 400, `${what}: ${res.text}`);
  const err = errorOf(res);
  assert.equal(err.code, "DIGEST_INVALID", what);
  assert.equal(err.detail.algorithm, algorithm, what);
  assert.deepEqual(err.detail.supported, ["sha256"], what);
}

async function startUpload(base: string, repo: string): Promise<string> {
  const res = await request("POST", `${base}/v2/${repo}/blobs/uploads/`);
  assert.equal(res.status, 202, res.text);
  return res.headers.location as string;
}

function putBlob(location: string, digest: string, body: Buffer): Promise<Res> {
  const sep = location.includes("?") ? "&" : "?";
  return request("PUT", `${location}${sep}digest=${encodeURIComponent(digest)}`, {
    headers: { "content-type": OCTETS },
    body,
  });
}

function emptyConfigManifest(): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: EMPTY_CONFIG_TYPE, digest: EMPTY_BLOB.digest, size: EMPTY_BLOB.size },
      layers: [],
      annotations: { nonce: randomBytes(8).toString("hex") },
    }),
  );
}

function digestCases(name: string, base: () => string): void {
  it(`${name}: closing PUT of a blob upload with ?digest=sha512 answers 400 DIGEST_INVALID; the session finishes with sha256`, async () => {
    const data = randomBytes(512);
    const loc = await startUpload(base(), "algo/blob");
    assertDigestInvalid(await putBlob(loc, sha512(data), data), "sha512", "sha512");
    assertDigestInvalid(await putBlob(loc, sha384(data), data), "sha384", "sha384");
    assert.equal(
      (await request("HEAD", `${base()}/v2/algo/blob/blobs/${sha256(data)}`)).status,
      404,
      "nothing stored",
    );
    const done = await putBlob(loc, sha256(data), data);
    assert.equal(done.status, 201, done.text);
    assert.equal(done.headers["docker-content-digest"], sha256(data));
  });

  it(`${name}: POST with ?digest=, ?mount= or ?digest-algorithm=sha512 answers 400 DIGEST_INVALID and opens no session`, async () => {
    const data = randomBytes(64);
    await pushBlob(base(), "algo/source", { bytes: data, digest: sha256(data), size: data.length });
    const d = sha512(data);
    for (const query of [
      `digest=${d}`,
      `mount=${d}&from=algo/source`,
      `mount=${encodeURIComponent(d)}`,
      "digest-algorithm=sha512",
    ]) {
      const res = await request("POST", `${base()}/v2/algo/target/blobs/uploads/?${query}`, {
        headers: { "content-type": OCTETS },
        body: data,
      });
      assertDigestInvalid(res, "sha512", query);
      assert.equal(res.headers.location, undefined, query);
    }
    assert.equal((await request("HEAD", `${base()}/v2/algo/target/blobs/${sha256(data)}`)).status, 404);
  });

  it(`${name}: PUT /v2/:name/manifests/<sha512 digest> answers 400 DIGEST_INVALID; GET, HEAD and DELETE answer 404 MANIFEST_UNKNOWN`, async () => {
    await pushBlob(base(), "algo/manifest", EMPTY_BLOB);
    const body = emptyConfigManifest();
    const d = sha512(body);
    assertDigestInvalid(await putRaw(base(), "algo/manifest", d, body, MT.ociManifest), "sha512", "PUT");
    for (const method of ["GET", "DELETE"]) {
      const res = await request(method, `${base()}/v2/algo/manifest/manifests/${d}`, {
        headers: { accept: ALL_MANIFEST_TYPES },
      });
      assert.equal(res.status, 404, `${method}: ${res.text}`);
      const err = errorOf(res);
      assert.equal(err.code, "MANIFEST_UNKNOWN");
      assert.match(err.message, /sha256 digests only/);
    }
    const head = await request("HEAD", `${base()}/v2/algo/manifest/manifests/${d}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
    // The same bytes by tag are stored and named by their sha256.
    const tagged = await putRaw(base(), "algo/manifest", "v1", body, MT.ociManifest);
    assert.equal(tagged.status, 201, tagged.text);
    assert.equal(tagged.headers["docker-content-digest"], sha256(body));
  });
}

describe("digest algorithms 2.8 cannot store (sha512, sha384)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let tierProxy: TestProxy;
  let nginx: NginxTier;

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url);
    tierProxy = await startProxy(registry.url, {
      proxy: { trustForwardedHeaders: true },
      oci: { strictUploads: false },
    });
    nginx = await startNginxTier({
      registryUrl: registry.url,
      proxyUrl: tierProxy.url,
      strictUploads: false,
    });
  });
  after(async () => {
    await nginx?.stop();
    await tierProxy?.stop();
    await proxy?.stop();
    await registry?.stop();
  });

  it("2.8 on its own: a sha512 upload is stored under sha256, a sha512 manifest PUT is refused as not matching", async () => {
    const data = randomBytes(512);
    const loc = await startUpload(registry.url, "algo/direct");
    const put = await putBlob(loc, sha512(data), data);
    assert.equal(put.status, 201);
    assert.equal(
      put.headers["docker-content-digest"],
      sha256(data),
      "the digest asked for is not the one answered",
    );
    await pushBlob(registry.url, "algo/direct", EMPTY_BLOB);
    const body = emptyConfigManifest();
    const man = await putRaw(registry.url, "algo/direct", sha512(body), body, MT.ociManifest);
    assert.equal(man.status, 400);
    assert.equal(errorOf(man).code, "DIGEST_INVALID");
  });

  digestCases("through the proxy", () => proxy.url);
  digestCases("through the nginx tier (uploads straight to the registry)", () => nginx.url);

  it("a blob uploaded by sha256 is still read by its sha256 through both", async () => {
    const data = randomBytes(100);
    await pushBlob(proxy.url, "algo/read", { bytes: data, digest: sha256(data), size: data.length });
    for (const base of [proxy.url, nginx.url]) {
      const got = await request("GET", `${base}/v2/algo/read/blobs/${sha256(data)}`);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(data));
    }
  });
});
