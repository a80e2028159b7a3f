import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestRefusal, isUnsupportedDigest } from "../../src/oci/digest-support.js";
import { parseRoute } from "../../src/oci/routes.js";

const S256 = `sha256:${"a".repeat(64)}`;
const S384 = `sha384:${"b".repeat(96)}`;
const S512 = `sha512:${"c".repeat(128)}`;

function refusalOf(method: string, url: string) {
  const q = url.indexOf("?");
  return digestRefusal(method, parseRoute(method, q === -1 ? url : url.slice(0, q)), url);
}

describe("isUnsupportedDigest", () => {
  it("is true for well-formed sha384 and sha512 digests only", () => {
    assert.equal(isUnsupportedDigest(S256), false);
    assert.equal(isUnsupportedDigest(S384), true);
    assert.equal(isUnsupportedDigest(S512), true);
    assert.equal(isUnsupportedDigest("sha512:abc"), false, "malformed: the grammar's business");
    assert.equal(isUnsupportedDigest("md5:abc"), false);
  });
});

describe("digestRefusal", () => {
  const cases: Array<[string, string, number | null, string | null]> = [
    ["PUT", `/v2/a/manifests/${S512}`, 400, "DIGEST_INVALID"],
    ["PUT", `/v2/a/manifests/${S384}`, 400, "DIGEST_INVALID"],
    ["GET", `/v2/a/manifests/${S512}`, 404, "MANIFEST_UNKNOWN"],
    ["HEAD", `/v2/a/manifests/${S512}`, 404, "MANIFEST_UNKNOWN"],
    ["DELETE", `/v2/a/manifests/${S512}`, 404, "MANIFEST_UNKNOWN"],
    ["PUT", `/v2/a/manifests/${S256}`, null, null],
    ["GET", "/v2/a/manifests/v1", null, null],
    ["PUT", `/v2/a/blobs/uploads/u1?_state=x&digest=${S512}`, 400, "DIGEST_INVALID"],
    ["PUT", `/v2/a/blobs/uploads/u1?digest=${encodeURIComponent(S512)}&_state=x`, 400, "DIGEST_INVALID"],
    ["PUT", `/v2/a/blobs/uploads/u1?_state=x&digest=${S256}`, null, null],
    ["PUT", "/v2/a/blobs/uploads/u1?_state=x", null, null],
    ["PATCH", `/v2/a/blobs/uploads/u1?_state=x&digest=${S512}`, null, null],
    ["POST", `/v2/a/blobs/uploads/?digest=${S512}`, 400, "DIGEST_INVALID"],
    ["POST", `/v2/a/blobs/uploads/?mount=${S512}&from=b`, 400, "DIGEST_INVALID"],
    ["POST", "/v2/a/blobs/uploads/?digest-algorithm=sha512", 400, "DIGEST_INVALID"],
    ["POST", "/v2/a/blobs/uploads/?digest-algorithm=sha256", null, null],
    ["POST", `/v2/a/blobs/uploads/?mount=${S256}&from=b`, null, null],
    ["POST", "/v2/a/blobs/uploads/", null, null],
    ["GET", `/v2/a/blobs/${S512}`, null, null],
    ["DELETE", `/v2/a/blobs/${S512}`, null, null],
  ];
  for (const [method, url, status, code] of cases) {
    it(`${method} ${url.replace(/[0-9a-f]{64,}/, "…")} → ${status ?? "passes"}`, () => {
      const r = refusalOf(method, url);
      assert.equal(r?.status ?? null, status);
      assert.equal(r?.code ?? null, code);
      if (r) assert.deepEqual(r.detail.supported, ["sha256"]);
    });
  }
  it("names the algorithm and the digest in the detail", () => {
    const r = refusalOf("PUT", `/v2/a/manifests/${S512}`)!;
    assert.deepEqual(r.detail, { digest: S512, algorithm: "sha512", supported: ["sha256"] });
    assert.match(r.message, /sha256 digests only, not sha512/);
  });
});
