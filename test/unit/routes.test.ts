import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRoute, type RouteMatch } from "../../src/oci/routes.js";

const D = `sha256:${"a".repeat(64)}`;

const cases: Array<[string, string, RouteMatch | RouteMatch["kind"]]> = [
  ["GET", "/v2/", { kind: "base" }],
  ["GET", "/v2", { kind: "base" }],
  ["GET", "/v2/_catalog", { kind: "catalog" }],
  ["GET", "/v2/a/tags/list", { kind: "tags-list", name: "a", variant: "list" }],
  ["GET", "/v2/a/b/c/tags/list", { kind: "tags-list", name: "a/b/c", variant: "list" }],
  ["GET", "/v2/x/tags/tags/_list", { kind: "tags-list", name: "x/tags", variant: "_list" }],
  ["HEAD", "/v2/x/tags/_list", { kind: "tags-list", name: "x", variant: "_list" }],
  ["GET", "/v2/x/tags/tags/list", { kind: "tags-list", name: "x/tags", variant: "list" }],
  ["DELETE", "/v2/x/tags/list", { kind: "tag", name: "x", tag: "list" }],
  ["DELETE", "/v2/x/tags/_list", { kind: "tag", name: "x", tag: "_list" }],
  ["DELETE", "/v2/x/tags/tags/v1.0", { kind: "tag", name: "x/tags", tag: "v1.0" }],
  ["GET", "/v2/a/manifests/latest", { kind: "manifest", name: "a", reference: "latest", by: "tag" }],
  ["DELETE", "/v2/a/manifests/list", { kind: "manifest", name: "a", reference: "list", by: "tag" }],
  ["GET", `/v2/a/manifests/${D}`, { kind: "manifest", name: "a", reference: D, by: "digest" }],
  [
    "GET",
    "/v2/a/manifests/manifests/x",
    { kind: "manifest", name: "a/manifests", reference: "x", by: "tag" },
  ],
  ["GET", `/v2/a/blobs/${D}`, { kind: "blob", name: "a", digest: D }],
  ["POST", "/v2/a/b/blobs/uploads/", { kind: "upload-start", name: "a/b" }],
  ["PATCH", "/v2/a/blobs/uploads/5f0c-aa_b.c=", { kind: "upload", name: "a", uploadId: "5f0c-aa_b.c=" }],
  ["POST", "/v2/x/blobs/blobs/uploads/", { kind: "upload-start", name: "x/blobs" }],
  ["GET", `/v2/a/referrers/${D}`, { kind: "referrers", name: "a", digest: D }],
  ["GET", "/v2/a/blobs/uploads", "v2-other"],
  ["GET", "/v2/a/tags/list/", "v2-other"],
  ["GET", "/v2/a/unknown/thing", "v2-other"],
  ["GET", "/healthz", { kind: "non-api", path: "/healthz" }],
  ["GET", "/", { kind: "non-api", path: "/" }],
  // hostile and malformed
  ["GET", "/v2/UPPER/tags/list", "invalid"],
  ["GET", "/v2/../tags/list", "invalid"],
  ["GET", "/v2/a/../b/tags/list", "invalid"],
  ["GET", "/v2/a/%2e%2e/tags/list", "invalid"],
  ["GET", "/v2/a%2fb/tags/list", "invalid"],
  ["GET", "/v2/a%00/tags/list", "invalid"],
  ["GET", "/v2/a//b/tags/list", "invalid"],
  ["GET", "/v2/a/manifests/sha256:totallywrong", "invalid"],
  ["GET", `/v2/a/manifests/sha256:${"A".repeat(64)}`, "invalid"],
  ["GET", `/v2/a/manifests/md5:${"a".repeat(32)}`, "invalid"],
  ["GET", "/v2/a/manifests/-bad", "invalid"],
  ["GET", `/v2/a/manifests/${"t".repeat(129)}`, "invalid"],
  ["GET", "/v2/a/blobs/notadigest", "invalid"],
  ["DELETE", "/v2/a/tags/.hidden", "invalid"],
  ["GET", `/v2/${"a".repeat(256)}/tags/list`, "invalid"],
  ["GET", "/v2/tags/list", "v2-other"],
  // request targets that are not origin-form paths, and traversal outside /v2/
  ["GET", "http://evil.example/v2/", "invalid"],
  ["OPTIONS", "*", "invalid"],
  ["GET", "//evil.example/v2/", "invalid"],
  ["GET", "", "invalid"],
  ["GET", "/../v2/a/tags/list", "invalid"],
  ["GET", "/./v2/", "invalid"],
  ["GET", "/%2e%2e/v2/", "invalid"],
  ["GET", "/a//b", "invalid"],
];

describe("parseRoute", () => {
  for (const [method, path, expected] of cases) {
    it(`${method} ${path.length > 60 ? `${path.slice(0, 60)}…` : path}`, () => {
      const got = parseRoute(method, path);
      if (typeof expected === "string") assert.equal(got.kind, expected);
      else assert.deepEqual(got, expected);
    });
  }

  it("names the right OCI code for each kind of bad input", () => {
    const code = (p: string) => {
      const r = parseRoute("GET", p);
      return r.kind === "invalid" ? r.code : r.kind;
    };
    assert.equal(code("/v2/UPPER/tags/list"), "NAME_INVALID");
    assert.equal(code("/v2/a/manifests/sha256:totallywrong"), "DIGEST_INVALID");
    assert.equal(code("/v2/a/manifests/-bad"), "MANIFEST_UNKNOWN");
    assert.equal(code("/v2/a/manifests/.INVALID_MANIFEST_NAME"), "MANIFEST_UNKNOWN");
    const put = parseRoute("PUT", "/v2/a/manifests/-bad");
    assert.equal(put.kind === "invalid" && put.code, "TAG_INVALID");
    const del = parseRoute("DELETE", "/v2/a/manifests/-bad");
    assert.equal(del.kind === "invalid" && del.code, "TAG_INVALID");
    assert.equal(code("/v2/a/blobs/uploads/bad$id"), "BLOB_UPLOAD_INVALID");
  });
});
