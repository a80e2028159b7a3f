import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRoute, parseTarget, type RouteMatch } from "../../src/oci/routes.js";

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
  ["GET", "/v2/a/unknown/thing", "repository"],
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
  ["GET", "/v2/tags/list", "repository"],
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

const H = "a".repeat(64);

/** Spellings 2.8 routes as API routes (notes §13): the proxy routes them the same, and forwards the plain spelling. */
const spellings: Array<[string, string, RouteMatch, string | null]> = [
  [
    "PUT",
    "/%762/a/manifests/v1.0",
    { kind: "manifest", name: "a", reference: "v1.0", by: "tag" },
    "/v2/a/manifests/v1.0",
  ],
  [
    "PUT",
    "/v%32/a/manifests/v1.0",
    { kind: "manifest", name: "a", reference: "v1.0", by: "tag" },
    "/v2/a/manifests/v1.0",
  ],
  [
    "PUT",
    "/v2/a/%6danifests/v1.0",
    { kind: "manifest", name: "a", reference: "v1.0", by: "tag" },
    "/v2/a/manifests/v1.0",
  ],
  [
    "PUT",
    "/v2/a/manifest%73/v1.0",
    { kind: "manifest", name: "a", reference: "v1.0", by: "tag" },
    "/v2/a/manifests/v1.0",
  ],
  [
    "DELETE",
    `/v%32/a/manifests/sha256%3A${H}`,
    { kind: "manifest", name: "a", reference: `sha256:${H}`, by: "digest" },
    `/v2/a/manifests/sha256:${H}`,
  ],
  ["DELETE", "/v2/a/%74ags/v1", { kind: "tag", name: "a", tag: "v1" }, "/v2/a/tags/v1"],
  [
    "GET",
    "/v2/a/tags/%5Flist?n=1",
    { kind: "tags-list", name: "a", variant: "_list" },
    "/v2/a/tags/_list?n=1",
  ],
  ["POST", "/v2/a/blobs/%75ploads/", { kind: "upload-start", name: "a" }, "/v2/a/blobs/uploads/"],
  [
    "PUT",
    "/v2/a/blobs/uploads/%31d?_state=x%3D%3D&digest=sha256:" + H,
    { kind: "upload", name: "a", uploadId: "1d" },
    `/v2/a/blobs/uploads/1d?_state=x%3D%3D&digest=sha256:${H}`,
  ],
  ["GET", "/%68ealthz", { kind: "non-api", path: "/healthz" }, "/healthz"],
  [
    "GET",
    "/v2/a/manifests/latest?x=%",
    { kind: "manifest", name: "a", reference: "latest", by: "tag" },
    null,
  ],
];

describe("parseTarget: every spelling is the route the registry reads", () => {
  for (const [method, url, route, upstream] of spellings) {
    it(`${method} ${url.length > 70 ? `${url.slice(0, 70)}…` : url}`, () => {
      const t = parseTarget(method, url);
      assert.deepEqual(t.route, route);
      assert.equal(t.upstream, upstream);
      assert.equal(t.rawPath, url.split("?")[0]);
    });
  }

  it("a plain target is forwarded as it came (upstream null) with its query", () => {
    const t = parseTarget("PATCH", "/v2/a/blobs/uploads/1d?_state=abc%3D");
    assert.deepEqual(t, {
      route: { kind: "upload", name: "a", uploadId: "1d" },
      path: "/v2/a/blobs/uploads/1d",
      rawPath: "/v2/a/blobs/uploads/1d",
      query: "_state=abc%3D",
      upstream: null,
    });
  });

  it("what the proxy will not map is refused with 400 NAME_INVALID, never forwarded", () => {
    for (const url of [
      "/v2/a/manifest%73/v1%2E0", // an encoded dot
      "/v2/a%2Fb/manifests/v1", // an encoded separator
      "/%2576%32/a/manifests/v1", // double encoding
      "/v2/a/manifests/v1%", // a broken escape (Go: 400)
      "/v2/a/manifests/v1%0A", // a control character
    ]) {
      const r = parseTarget("PUT", url).route;
      assert.equal(r.kind === "invalid" && r.code, "NAME_INVALID", url);
    }
  });

  it("a # anywhere in the target is refused (a forwarding URL parser would cut it there)", () => {
    for (const url of ["/v2/a/manifests/v1#x/y", "/v2/a/blobs/uploads/?digest=sha256:x#y", "/v2/#"]) {
      const r = parseTarget("PUT", url).route;
      assert.equal(r.kind === "invalid" && r.code, "NAME_INVALID", url);
    }
  });
});

/** Upload queries the registry acts on: strictly read, refused before anything is forwarded. */
const uploadQueries: Array<[string, string, string | null]> = [
  ["POST", "", null],
  ["POST", `digest=sha256:${H}`, null],
  ["POST", `mount=sha256:${H}&from=a/b`, null],
  ["POST", `mount=sha256%3A${H}&from=a%2Fb`, null],
  ["POST", "digest=sha256:zz", "DIGEST_INVALID"],
  ["POST", "digest=", "DIGEST_INVALID"],
  ["POST", `digest=sha256:${H}&digest=sha256:${H}`, "DIGEST_INVALID"],
  ["POST", "digest=%", "DIGEST_INVALID"],
  ["POST", "mount=sha256:zz&from=a", "DIGEST_INVALID"],
  ["POST", `mount=sha256:${H}&from=../x`, "NAME_INVALID"],
  ["POST", `mount=sha256:${H}&from=UPPER`, "NAME_INVALID"],
  ["POST", `mount=sha256:${H}&from=a&from=b`, "NAME_INVALID"],
  ["POST", `mount=sha256:${H}&from=`, "NAME_INVALID"],
  ["POST", `mount=sha256:${H};from=a`, "DIGEST_INVALID"],
  ["POST", "x=%zz", "BLOB_UPLOAD_INVALID"],
  ["POST", "other=1", null],
  ["PUT", `_state=abc%3D%3D&digest=sha256:${H}`, null],
  ["PUT", "_state=abc&digest=sha256:zz", "DIGEST_INVALID"],
  ["PUT", `_state=abc&digest=sha256:${H}&digest=sha256:${"b".repeat(64)}`, "DIGEST_INVALID"],
  ["PUT", "_state=%&digest=x", "BLOB_UPLOAD_INVALID"],
  ["PATCH", "_state=%&digest=sha256:zz", null],
  ["GET", "_state=abc&digest=zz", null],
];

describe("parseTarget: upload queries", () => {
  for (const [method, query, code] of uploadQueries) {
    const path = method === "POST" ? "/v2/a/blobs/uploads/" : "/v2/a/blobs/uploads/1d";
    it(`${method} ${path}?${query.length > 50 ? `${query.slice(0, 50)}…` : query} → ${code ?? "forwarded"}`, () => {
      const r = parseTarget(method, `${path}${query ? `?${query}` : ""}`).route;
      if (code === null) assert.notEqual(r.kind, "invalid", JSON.stringify(r));
      else assert.equal(r.kind === "invalid" && r.code, code, JSON.stringify(r));
    });
  }
});
