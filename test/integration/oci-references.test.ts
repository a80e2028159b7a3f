/**
 * Digest and reference validation in front of the upstream. distribution-spec:
 * `<reference>` "MUST be either (a) the digest of the manifest or (b) a tag name"
 * and an invalid request gets a 4xx with OCI error JSON. 2.8 answers a GET or
 * HEAD of a malformed digest with 500 UNKNOWN (leaking a storage path), and an
 * over-long tag with its router's text/plain 404.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { type Res, request } from "../helpers/http.js";

const JSON_TYPE = "application/json; charset=utf-8";

function errorCode(res: Res): string | undefined {
  return res.json<{ errors: Array<{ code: string }> }>().errors[0]?.code;
}

describe("malformed references through the proxy (2.8 upstream)", () => {
  const fx = useRegistryAndProxy();

  const digests = [
    "sha256:totallywrong",
    "sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
    `sha256:${"a".repeat(63)}`,
    "md5:d41d8cd98f00b204e9800998ecf8427e",
  ];

  it("2.8 alone answers GET and HEAD of a malformed manifest digest with 500", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await request(method, `${fx.registry.url}/v2/r/a/manifests/sha256:totallywrong`);
      assert.equal(res.status, 500, method);
    }
  });

  for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
    it(`${method} /v2/:name/manifests/<malformed digest> answers 400 DIGEST_INVALID in OCI JSON`, async () => {
      for (const d of digests) {
        const res = await request(method, `${fx.proxy.url}/v2/r/a/manifests/${d}`, {
          headers: method === "PUT" ? { "content-type": "application/vnd.oci.image.manifest.v1+json" } : {},
          ...(method === "PUT" ? { body: "{}" } : {}),
        });
        assert.equal(res.status, 400, `${method} ${d}`);
        assert.equal(res.headers["content-type"], JSON_TYPE);
        assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
        if (method !== "HEAD") assert.equal(errorCode(res), "DIGEST_INVALID", `${method} ${d}`);
      }
    });
  }

  it("GET /v2/:name/manifests/<tag of 129 characters> answers 404 MANIFEST_UNKNOWN in OCI JSON (2.8: text/plain 404)", async () => {
    const path = `/v2/r/a/manifests/${"t".repeat(129)}`;
    const res = await request("GET", `${fx.proxy.url}${path}`);
    assert.equal(res.status, 404);
    assert.equal(res.headers["content-type"], JSON_TYPE);
    assert.equal(errorCode(res), "MANIFEST_UNKNOWN");
    const direct = await request("GET", `${fx.registry.url}${path}`);
    assert.equal(direct.status, 404);
    assert.match(direct.headers["content-type"] as string, /^text\/plain/);
  });

  it("blobs and referrers with a malformed digest answer 400 DIGEST_INVALID in OCI JSON", async () => {
    for (const path of ["/v2/r/a/blobs/sha256:zz", "/v2/r/a/referrers/sha256:totallywrong"]) {
      const res = await request("GET", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(errorCode(res), "DIGEST_INVALID", path);
    }
  });

  it("a well-formed digest that does not exist still gets the upstream's 404 MANIFEST_UNKNOWN", async () => {
    const res = await request("GET", `${fx.proxy.url}/v2/r/a/manifests/sha256:${"0".repeat(64)}`);
    assert.equal(res.status, 404);
    assert.equal(errorCode(res), "MANIFEST_UNKNOWN");
  });
});
