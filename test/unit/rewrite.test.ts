import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { originSet, rewriteLocation } from "../../src/upstream/rewrite.js";

const PROXY = "http://proxy.example:5080";
const KNOWN = originSet(["http://127.0.0.1:5000"]);

describe("rewriteLocation", () => {
  it("an API answer's /v2/ URL names the proxy whatever origin the registry wrote", () => {
    for (const status of [201, 202, 204]) {
      assert.equal(
        rewriteLocation(
          "https://registry.public.example:8443/v2/a/blobs/uploads/u?_state=x",
          status,
          KNOWN,
          PROXY,
        ),
        `${PROXY}/v2/a/blobs/uploads/u?_state=x`,
      );
    }
  });

  it("a storage redirect (3xx) to another origin stays untouched", () => {
    const s3 = "https://bucket.s3.example/v2/docker/registry/blobs/data?X-Amz-Signature=abc";
    assert.equal(rewriteLocation(s3, 307, KNOWN, PROXY), s3);
  });

  it("known origins are still rewritten on any status; URLs outside /v2/ from other origins are not", () => {
    assert.equal(rewriteLocation("http://127.0.0.1:5000/v2/a/", 301, KNOWN, PROXY), `${PROXY}/v2/a/`);
    assert.equal(
      rewriteLocation("https://auth.example/token", 202, KNOWN, PROXY),
      "https://auth.example/token",
    );
    assert.equal(rewriteLocation("/v2/a/manifests/x", 201, KNOWN, PROXY), "/v2/a/manifests/x");
  });
});
