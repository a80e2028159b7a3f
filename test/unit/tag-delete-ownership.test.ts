import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ownsRequest } from "../../src/http/routing.js";
import { parseRoute } from "../../src/oci/routes.js";

describe("tag delete ownership (with oci.referrers off, so only the tag delete owns manifests)", () => {
  const cases: Array<[string, string, boolean]> = [
    ["DELETE", "/v2/a/b/tags/v1", true],
    ["GET", "/v2/a/b/tags/v1", true], // answered 405 Allow: DELETE by the proxy
    ["HEAD", "/v2/a/b/tags/v1", true],
    ["DELETE", "/v2/a/tags/list", true], // the tag named `list`
    ["DELETE", "/v2/a/manifests/v1", true],
    ["DELETE", "/v2/x/tags/manifests/_list", true],
    ["DELETE", `/v2/a/manifests/sha256:${"a".repeat(64)}`, false], // by digest: passthrough
    ["GET", "/v2/a/manifests/v1", false],
    ["HEAD", "/v2/a/manifests/v1", false],
    ["PUT", "/v2/a/manifests/v1", false],
  ];
  for (const [method, path, owned] of cases) {
    it(`${method} ${path} is ${owned ? "answered by the proxy" : "passed through"}`, () => {
      assert.equal(ownsRequest(parseRoute(method, path), method, { referrers: false }), owned);
    });
  }
});

describe("tag delete ownership with oci.referrers on", () => {
  it("DELETE by tag is still the tag delete's, whatever the referrers setting", () => {
    for (const referrers of [true, false]) {
      assert.equal(ownsRequest(parseRoute("DELETE", "/v2/a/manifests/v1"), "DELETE", { referrers }), true);
    }
  });
});
