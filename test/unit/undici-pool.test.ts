/**
 * The proxy loads undici's Pool and request API from their own modules, not
 * through the package's index (which loads all of undici: docs/performance.md).
 * They must stay the very functions the package exports, whatever undici version
 * is installed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pool as PackagePool } from "undici";
import { Pool, undiciRequest } from "../../src/registry-client/http.js";

describe("undici, loaded in parts", () => {
  it("Pool is the class undici exports", () => {
    assert.equal(Pool, PackagePool);
  });

  it("the request API is every dispatcher's request method", () => {
    assert.equal(undiciRequest, PackagePool.prototype.request);
  });
});
