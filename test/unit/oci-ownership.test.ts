import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ownsRequest } from "../../src/http/routing.js";
import { parseRoute } from "../../src/oci/routes.js";

const D = `sha256:${"a".repeat(64)}`;

describe("ownsRequest: what OCI 1.1 (oci.referrers) adds", () => {
  const cases: Array<[string, string, boolean]> = [
    ["GET", `/v2/a/referrers/${D}`, true],
    ["HEAD", `/v2/a/referrers/${D}`, true],
    ["PUT", "/v2/a/manifests/v1", true],
    ["PUT", `/v2/a/manifests/${D}`, true],
    ["DELETE", `/v2/a/manifests/${D}`, true],
    ["DELETE", "/v2/a/manifests/v1", true], // the tag delete's (issue 4), not the referrers'
    ["GET", "/v2/a/manifests/v1", false],
    ["HEAD", `/v2/a/manifests/${D}`, false],
    ["PATCH", "/v2/a/blobs/uploads/u1", false],
    ["POST", "/v2/a/blobs/uploads/", false],
  ];
  for (const [method, path, owned] of cases) {
    it(`${method} ${path.replace(D, "<digest>")} → ${owned ? "owned" : "passthrough"}`, () => {
      assert.equal(ownsRequest(parseRoute(method, path), method), owned);
    });
  }
  it("with oci.referrers off, referrers and manifest writes pass through", () => {
    for (const [method, path] of [
      ["GET", `/v2/a/referrers/${D}`],
      ["PUT", "/v2/a/manifests/v1"],
      ["DELETE", `/v2/a/manifests/${D}`],
    ] as const) {
      assert.equal(ownsRequest(parseRoute(method, path), method, { referrers: false }), false);
    }
  });

  it("delete.digestDeletes: protect owns every DELETE by digest and every PUT by tag, even with oci.referrers off", () => {
    const protect = { referrers: false, protectDigestDeletes: true };
    const cases: Array<[string, string, boolean]> = [
      ["DELETE", `/v2/a/manifests/${D}`, true],
      ["DELETE", "/v2/a/manifests/v1", true],
      ["PUT", "/v2/a/manifests/v1", true],
      ["PUT", `/v2/a/manifests/${D}`, false], // writes no tag
      ["GET", "/v2/a/manifests/v1", false],
      ["HEAD", `/v2/a/manifests/${D}`, false],
      ["DELETE", `/v2/a/blobs/${D}`, false],
    ];
    for (const [method, path, owned] of cases) {
      assert.equal(ownsRequest(parseRoute(method, path), method, protect), owned, `${method} ${path}`);
    }
  });
});
