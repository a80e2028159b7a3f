import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HANDLERS } from "../../src/handlers/index.js";
import { ownsRequest } from "../../src/http/routing.js";
import { parseRoute } from "../../src/oci/routes.js";

/** Which tags-list requests the proxy answers itself (true) or passes through (false). */
const cases: Array<[string, string, boolean]> = [
  ["GET", "/v2/a/tags/_list", true],
  ["HEAD", "/v2/a/tags/_list", true],
  ["POST", "/v2/a/tags/_list", true], // 405 with Allow
  ["PUT", "/v2/a/tags/_list", true],
  ["OPTIONS", "/v2/a/tags/_list", true],
  ["GET", "/v2/a/b/tags/list", true],
  ["HEAD", "/v2/a/b/tags/list", true],
  ["POST", "/v2/a/tags/list", false], // legacy: the registry answers other methods
  ["PUT", "/v2/a/tags/list", false],
  ["GET", "/v2/x/tags/tags/_list", true],
  ["GET", "/v2/x/tags/manifests/list", false],
  ["GET", "/v2/a/tags/list/", false],
];

describe("ownsRequest for the tags lists", () => {
  for (const [method, path, owned] of cases) {
    it(`${method} ${path} → ${owned ? "proxy" : "upstream"}`, () => {
      assert.equal(ownsRequest(parseRoute(method, path), method), owned);
    });
  }

  it("the tags-list route kind has a handler", () => {
    assert.equal(typeof HANDLERS["tags-list"], "function");
  });
});
