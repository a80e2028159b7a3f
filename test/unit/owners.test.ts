/**
 * The routing table (http/routing.ts ownerOf): each request the proxy owns has
 * exactly one named owner, decided there and nowhere else, and every owner of a
 * `/v2/` request has a handler.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HANDLERS } from "../../src/handlers/index.js";
import { type Owner, ownerOf } from "../../src/http/routing.js";
import { immutableScope } from "../../src/oci/immutable-rules.js";
import { parseRoute } from "../../src/oci/routes.js";

const D = `sha256:${"a".repeat(64)}`;

describe("ownerOf: who answers each request", () => {
  const cases: Array<[string, string, Owner | null, { referrers: boolean } | undefined]> = [
    ["GET", "/healthz", "ops", undefined],
    ["GET", "/", null, undefined],
    ["GET", "/v2/a/%2e%2e/b/manifests/x", "invalid", undefined],
    ["GET", "/v2/a/tags/_list", "tags-list", undefined],
    ["POST", "/v2/a/tags/_list", "tags-list", undefined],
    ["POST", "/v2/a/tags/list", null, undefined],
    ["DELETE", "/v2/a/tags/v1", "tag-delete", undefined],
    ["GET", "/v2/a/tags/v1", "tag-delete", undefined],
    ["DELETE", "/v2/a/manifests/v1", "tag-delete", { referrers: false }],
    ["PUT", "/v2/a/manifests/v1", "manifest-put", undefined],
    ["PUT", "/v2/a/manifests/v1", null, { referrers: false }],
    ["DELETE", `/v2/a/manifests/${D}`, "manifest-delete", undefined],
    ["DELETE", `/v2/a/manifests/${D}`, null, { referrers: false }],
    ["GET", `/v2/a/manifests/${D}`, null, undefined],
    ["GET", `/v2/a/referrers/${D}`, "referrers", undefined],
    ["GET", `/v2/a/referrers/${D}`, null, { referrers: false }],
    ["PATCH", "/v2/a/blobs/uploads/u1", null, undefined],
  ];
  for (const [method, path, owner, options] of cases) {
    it(`${method} ${path.replace(D, "<digest>")}${options ? " (referrers off)" : ""} → ${owner ?? "upstream"}`, () => {
      assert.equal(ownerOf(parseRoute(method, path), method, options), owner);
    });
  }

  it("with referrers off, immutable rules give the proxy the covered manifest writes only", () => {
    const o = { referrers: false, immutable: immutableScope(["app:v*"]) };
    assert.equal(ownerOf(parseRoute("PUT", "/v2/app/manifests/v1"), "PUT", o), "manifest-put");
    assert.equal(ownerOf(parseRoute("PUT", "/v2/app/manifests/latest"), "PUT", o), null);
    assert.equal(ownerOf(parseRoute("DELETE", `/v2/app/manifests/${D}`), "DELETE", o), "manifest-delete");
    assert.equal(ownerOf(parseRoute("DELETE", `/v2/other/manifests/${D}`), "DELETE", o), null);
  });

  it("every owner of a /v2/ request has its handler", () => {
    for (const owner of [
      "tags-list",
      "tag-delete",
      "manifest-put",
      "manifest-delete",
      "referrers",
    ] as const) {
      assert.equal(typeof HANDLERS[owner], "function", owner);
    }
  });
});
