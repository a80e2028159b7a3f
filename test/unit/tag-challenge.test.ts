import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseChallenge } from "../../src/oci/auth-challenge.js";
import { authFailure, DIGEST_DELETE_ACTIONS, widenChallenge } from "../../src/tags/challenge.js";

describe("delete-path challenges", () => {
  it("parses a Bearer challenge with quoted and bare values", () => {
    assert.deepEqual(
      parseChallenge('Bearer realm="http://t/token",service=reg,scope="repository:a/b:delete"'),
      {
        scheme: "bearer",
        params: { realm: "http://t/token", service: "reg", scope: "repository:a/b:delete" },
      },
    );
  });

  it("widens a Bearer challenge to pull,push,delete on the repository, keeping realm, service and error", () => {
    const up =
      'Bearer realm="http://127.0.0.1:1/token",service="legacy-registry",scope="repository:demo/app:delete",error="insufficient_scope"';
    assert.equal(
      widenChallenge(up, "demo/app"),
      'Bearer realm="http://127.0.0.1:1/token",service="legacy-registry",scope="repository:demo/app:pull,push,delete",error="insufficient_scope"',
    );
    assert.equal(
      widenChallenge('Bearer realm="r",service="s",scope="repository:x:pull,push"', "x"),
      'Bearer realm="r",service="s",scope="repository:x:pull,push,delete"',
    );
  });

  it("a guarded digest delete widens to pull,delete (it reads the tags, then deletes)", () => {
    assert.equal(
      widenChallenge(
        'Bearer realm="r",service="s",scope="repository:a/b:delete",error="insufficient_scope"',
        "a/b",
        DIGEST_DELETE_ACTIONS,
      ),
      'Bearer realm="r",service="s",scope="repository:a/b:pull,delete",error="insufficient_scope"',
    );
    const e = authFailure(401, { "www-authenticate": 'Bearer realm="r"' }, "n", {}, DIGEST_DELETE_ACTIONS);
    assert.equal(e.headers["www-authenticate"], 'Bearer realm="r",scope="repository:n:pull,delete"');
  });

  it("passes a Basic challenge unchanged", () => {
    assert.equal(widenChallenge('Basic realm="basic-realm"', "a"), 'Basic realm="basic-realm"');
  });

  it("401 answers UNAUTHORIZED with the widened challenge; 403 answers DENIED", () => {
    const e = authFailure(401, { "www-authenticate": 'Bearer realm="r",service="s"' }, "n", { step: "x" });
    assert.equal(e.status, 401);
    assert.equal(e.code, "UNAUTHORIZED");
    assert.equal(
      e.headers["www-authenticate"],
      'Bearer realm="r",service="s",scope="repository:n:pull,push,delete"',
    );
    const d = authFailure(403, {}, "n", {});
    assert.equal(d.status, 403);
    assert.equal(d.code, "DENIED");
  });
});
