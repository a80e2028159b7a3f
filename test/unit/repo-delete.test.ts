/**
 * The repository delete's pure parts: the route (`DELETE /v2/<name>` on the
 * canonical path, never a path ending in a route word), its owner, and the plan
 * and run of tags/repo-deleter.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ownerOf } from "../../src/http/routing.js";
import { parseRoute, parseTarget } from "../../src/oci/routes.js";
import { isWindowWrite } from "../../src/ops/write-window.js";
import { planRepoDelete, runRepoDelete } from "../../src/tags/repo-deleter.js";

describe("DELETE /v2/<name>: the route", () => {
  it("DELETE of a path no other route takes is the repository, read decoded once", () => {
    for (const [path, name] of [
      ["/v2/foo", "foo"],
      ["/v2/foo/bar", "foo/bar"],
      ["/v2/a/b/c/d", "a/b/c/d"],
      ["/v2/%66oo", "foo"],
      ["/v2/foo/%62ar", "foo/bar"],
      ["/v2/tags/foo", "tags/foo"],
      ["/v2/foo/tags/x/y", "foo/tags/x/y"],
      ["/v2/foo/manifests/a/b", "foo/manifests/a/b"],
    ] as const) {
      const route = parseRoute("DELETE", path);
      assert.deepEqual(route, { kind: "repository", name }, path);
      assert.equal(ownerOf(route, "DELETE"), "repo-delete", path);
      assert.equal(isWindowWrite(route.kind, "DELETE"), true, path);
    }
  });

  it("other routes keep their DELETE: tags, manifests, blobs, uploads", () => {
    assert.equal(parseRoute("DELETE", "/v2/foo/tags/list").kind, "tag");
    assert.equal(parseRoute("DELETE", "/v2/foo/manifests/v1").kind, "manifest");
    assert.equal(parseRoute("DELETE", `/v2/foo/blobs/sha256:${"a".repeat(64)}`).kind, "blob");
    assert.equal(parseRoute("DELETE", "/v2/foo/blobs/uploads/abc").kind, "upload");
  });

  it("a path ending in a route word or a slash is refused (405 UNSUPPORTED), never the repository `foo/tags`", () => {
    for (const path of [
      "/v2/foo/tags",
      "/v2/foo/manifests",
      "/v2/foo/blobs",
      "/v2/foo/blobs/",
      "/v2/foo/blobs/uploads",
      "/v2/foo/referrers",
      "/v2/foo/uploads",
      "/v2/foo/",
      "/v2/foo/%74ags",
      "/v2/foo/%6d%61nifests",
      "/v2/tags",
    ]) {
      const route = parseRoute("DELETE", path);
      assert.equal(route.kind, "invalid", path);
      if (route.kind !== "invalid") continue;
      assert.equal(route.code, "UNSUPPORTED", path);
      assert.match(route.message, /is not a repository delete/, path);
      assert.equal(ownerOf(route, "DELETE"), "invalid", path);
    }
  });

  it("bad names and encoded separators are refused; other methods are the repository's 405, or no route", () => {
    for (const path of [
      "/v2/Foo",
      "/v2/foo-",
      "/v2/foo//bar",
      "/v2/foo/./bar",
      "/v2/foo%2Fbar",
      "/v2/%2566oo",
    ]) {
      const route = parseRoute("DELETE", path);
      assert.equal(route.kind, "invalid", path);
      if (route.kind === "invalid") assert.equal(route.code, "NAME_INVALID", path);
    }
    for (const method of ["GET", "HEAD", "PUT", "POST", "PATCH", "OPTIONS"]) {
      // The repository's other methods: its handler's 405; never a write for the window.
      assert.deepEqual(parseRoute(method, "/v2/foo/bar"), { kind: "repository", name: "foo/bar" }, method);
      assert.equal(ownerOf(parseRoute(method, "/v2/foo/bar"), method), "repo-delete", method);
      assert.equal(isWindowWrite("repository", method), false, method);
      // A route word or an invalid name is no route for them: the registry answers.
      assert.equal(parseRoute(method, "/v2/foo/tags").kind, "v2-other", method);
      assert.equal(parseRoute(method, "/v2/Foo").kind, "v2-other", method);
      assert.equal(ownerOf(parseRoute(method, "/v2/foo/blobs"), method), null, method);
    }
  });

  it("the upstream target is the canonical path re-encoded", () => {
    const t = parseTarget("DELETE", "/v2/%66oo/bar");
    assert.deepEqual(t.route, { kind: "repository", name: "foo/bar" });
    assert.equal(t.path, "/v2/foo/bar");
  });
});

describe("planRepoDelete and runRepoDelete", () => {
  const none = () => null;

  it("no tags: the repository is unknown; duplicates and order do not matter", () => {
    assert.deepEqual(planRepoDelete([], none), { kind: "no-tags" });
    assert.deepEqual(planRepoDelete(["b", "a", "b"], none), { kind: "delete", tags: ["a", "b"] });
  });

  it("every immutable tag is named, and nothing is planned", () => {
    const rule = (tag: string) => (tag.startsWith("v") ? "v*" : null);
    assert.deepEqual(planRepoDelete(["v2", "latest", "v1"], rule), {
      kind: "refused",
      immutable: [
        { tag: "v1", rule: "v*" },
        { tag: "v2", rule: "v*" },
      ],
    });
  });

  it("all done: every tag deleted, none remaining", async () => {
    const seen: string[] = [];
    const r = await runRepoDelete(["a", "b", "c"], async (t) => {
      seen.push(t);
      return { ok: true };
    });
    assert.deepEqual(r, { deleted: ["a", "b", "c"], remaining: [], failed: [] });
    assert.deepEqual(seen.sort(), ["a", "b", "c"]);
  });

  it("after the first failure no further tag starts; the result says which were deleted and which remain", async () => {
    const started: string[] = [];
    const tags = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const r = await runRepoDelete(
      tags,
      async (t) => {
        started.push(t);
        return t === "t1" ? { ok: false, error: "boom" } : { ok: true };
      },
      1,
    );
    assert.deepEqual(started, ["t0", "t1"]);
    assert.deepEqual(r.deleted, ["t0"]);
    assert.deepEqual(r.remaining, tags.slice(1));
    assert.deepEqual(r.failed, [{ tag: "t1", error: "boom" }]);
  });
});
