/**
 * DELETE /v2/<name> (the repository delete) through the proxy, in front of a real
 * docker-registry 2.8.2: every tag goes by the single tag delete, the history can
 * bring each back, the emptied repository's tags lists answer 404 NAME_UNKNOWN, a
 * new push works; bad input (no such repository, a route suffix in any spelling,
 * immutable tags, the read-only window) gets an OCI error and changes nothing.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { cli, entries } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { makeImage, writeOciLayout } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { errorCode, pushKind, tagsOf } from "../helpers/tag-delete.js";
import { seed } from "../helpers/tags.js";

requireTools("skopeo");
const exec = promisify(execFile);

function errorOf(res: { json<T>(): T }) {
  return res.json<{ errors: Array<{ code: string; message: string; detail: Record<string, unknown> }> }>()
    .errors[0]!;
}

describe("DELETE /v2/<name> against a real docker-registry 2.8", () => {
  let dir: string;
  let admin: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-rd-"));
  });
  const fx = useRegistryAndProxy(() => ({
    proxy: {
      metrics: { port: 0 },
      tags: { immutable: ["locked/*:v*"] },
      delete: { journalPath: join(dir, "journal.jsonl") },
    },
  }));
  before(() => {
    admin = fx.proxy.proxy.metricsUrl()!;
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("DELETE /v2/<name>: 202 naming every tag, upstream has none left, tags/list and tags/_list answer 404 NAME_UNKNOWN", async () => {
    const repo = "rd/app";
    await pushKind(fx.registry.url, repo, "oci-manifest", ["a", "b"]);
    await pushKind(fx.registry.url, repo, "docker-list", ["c"]);
    await pushKind(fx.registry.url, "rd/app/sibling", "docker-v2", ["keep"]);
    const before = await request("GET", `${fx.proxy.url}/v2/${repo}/tags/list`);
    assert.equal(before.status, 200);

    const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}`);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.json(), { name: repo, deleted: ["a", "b", "c"] });
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.deepEqual(await tagsOf(fx.registry.url, repo), [], "upstream: no tag left");
    const direct = await request("GET", `${fx.registry.url}/v2/${repo}/tags/list`);
    assert.equal(direct.status, 200, "2.8.2 itself still answers 200 for the emptied repository");
    for (const variant of ["list", "_list"]) {
      for (const q of ["", "?n=1"]) {
        const list = await request("GET", `${fx.proxy.url}/v2/${repo}/tags/${variant}${q}`);
        assert.equal(list.status, 404, `${variant}${q}`);
        assert.equal(errorCode(list), "NAME_UNKNOWN");
      }
    }
    assert.deepEqual(
      await tagsOf(fx.registry.url, "rd/app/sibling"),
      ["keep"],
      "a nested repository is another one",
    );
    const again = await request("DELETE", `${fx.proxy.url}/v2/${repo}`);
    assert.equal(again.status, 404);
    assert.equal(errorCode(again), "NAME_UNKNOWN");
  });

  it("every tag of a deleted repository is in the history, and undelete brings it back", async () => {
    const repo = "rd/hist";
    const pushed = await pushKind(fx.registry.url, repo, "oci-manifest", ["x", "y"]);
    assert.equal((await request("DELETE", `${fx.proxy.url}/v2/${repo}`)).status, 202);
    const list = await entries(admin, repo);
    assert.deepEqual(
      list.map((e) => [e.type, "tag" in e ? e.tag : null, "digest" in e ? e.digest : null]).sort(),
      [
        ["TagDeleted", "x", pushed.digest],
        ["TagDeleted", "y", pushed.digest],
      ].sort(),
      JSON.stringify(list),
    );
    const undo = await cli(["undelete", `${repo}:x`, "--admin", admin]);
    assert.equal(undo.code, 0, undo.err);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["x"]);
    const listed = await request("GET", `${fx.proxy.url}/v2/${repo}/tags/_list`);
    assert.deepEqual(listed.json(), { name: repo, tags: ["x"] });
  });

  it("a repository pushed again with skopeo after its delete is pulled and listed normally", async () => {
    const repo = "rd/again";
    const host = fx.proxy.url.replace("http://", "");
    const layout = join(dir, "layout");
    writeOciLayout(layout, makeImage({ layerCount: 1, layerSize: 128 }), "latest");
    const copy = (tag: string) =>
      exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        `oci:${layout}:latest`,
        `docker://${host}/${repo}:${tag}`,
      ]);
    await copy("one");
    assert.equal((await request("DELETE", `${fx.proxy.url}/v2/${repo}`)).status, 202);
    await copy("two");
    const listed = await request("GET", `${fx.proxy.url}/v2/${repo}/tags/list`);
    assert.deepEqual(listed.json(), { name: repo, tags: ["two"] });
    const pulled = join(dir, "pulled");
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${host}/${repo}:two`,
      `oci:${pulled}:x`,
    ]);
    const missing = await exec("skopeo", [
      "inspect",
      "--tls-verify=false",
      `docker://${host}/${repo}:one`,
    ]).then(
      () => "found",
      (err: { stderr?: string }) => err.stderr ?? "",
    );
    assert.match(missing, /manifest unknown/i);
  });

  it("an immutable tag refuses the whole delete with 403 DENIED naming it; nothing changes", async () => {
    const repo = "locked/app";
    await seed(fx.registry.url, repo, ["latest", "v1", "v2"]);
    const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}`);
    assert.equal(res.status, 403, res.text);
    const e = errorOf(res);
    assert.equal(e.code, "DENIED");
    assert.match(e.message, /immutable tags \(v1, v2\)/);
    assert.deepEqual(e.detail["tags"], [
      { tag: "v1", rule: "locked/*:v*" },
      { tag: "v2", rule: "locked/*:v*" },
    ]);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["latest", "v1", "v2"]);
  });

  it("a name that is no repository: 404 NAME_UNKNOWN; invalid names 400 NAME_INVALID; nothing changes", async () => {
    await seed(fx.registry.url, "rd/bad", ["t"]);
    for (const path of ["/v2/rd/none", "/v2/rd/ba"]) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(errorCode(res), "NAME_UNKNOWN", path);
    }
    for (const path of ["/v2/RD/bad", "/v2/rd/bad-", "/v2/rd//bad"]) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(errorCode(res), "NAME_INVALID", path);
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "rd/bad"), ["t"]);
  });

  it("a path ending in a route word, in any spelling, is no repository delete: 405 UNSUPPORTED, nothing changes", async () => {
    // Repositories named like the routes' words exist: none of them is deleted.
    for (const repo of ["rs/foo", "rs/foo/tags", "rs/foo/manifests", "rs/foo/blobs", "rs/foo/referrers"])
      await seed(fx.registry.url, repo, ["t"]);
    const paths = [
      "/v2/rs/foo/tags",
      "/v2/rs/foo/manifests",
      "/v2/rs/foo/blobs",
      "/v2/rs/foo/blobs/",
      "/v2/rs/foo/blobs/uploads",
      "/v2/rs/foo/referrers",
      "/v2/rs/foo/",
      "/v2/rs/foo/%74ags",
      "/v2/rs/foo/%6Danifests",
      "/v2/%72s/foo/blob%73/",
    ];
    for (const path of paths) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 405, `${path}: ${res.text}`);
      assert.equal(errorCode(res), "UNSUPPORTED", path);
      assert.match(errorOf(res).message, /is not a repository delete/, path);
    }
    // An encoded separator is refused whatever follows (the registry would read it otherwise).
    for (const path of ["/v2/rs/foo%2Ftags", "/v2/rs%2Ffoo", "/v2/rs/foo%2F"]) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(errorCode(res), "NAME_INVALID", path);
    }
    for (const repo of ["rs/foo", "rs/foo/tags", "rs/foo/manifests", "rs/foo/blobs", "rs/foo/referrers"])
      assert.deepEqual(await tagsOf(fx.registry.url, repo), ["t"], repo);
  });

  it("encoded spellings of a repository are read decoded once: /v2/rs/%65nc and /v2/%72s/enc2 delete those repositories", async () => {
    await seed(fx.registry.url, "rs/enc", ["t"]);
    await seed(fx.registry.url, "rs/enc2", ["t"]);
    const a = await request("DELETE", `${fx.proxy.url}/v2/rs/%65nc`);
    assert.equal(a.status, 202, a.text);
    assert.deepEqual(a.json(), { name: "rs/enc", deleted: ["t"] });
    const b = await request("DELETE", `${fx.proxy.url}/v2/%72s/enc2`);
    assert.equal(b.status, 202, b.text);
    assert.deepEqual(await tagsOf(fx.registry.url, "rs/enc"), []);
    assert.deepEqual(await tagsOf(fx.registry.url, "rs/enc2"), []);
    await seed(fx.registry.url, "rs/enc3", ["t"]);
    const twice = await request("DELETE", `${fx.proxy.url}/v2/rs/%2565nc3`);
    assert.equal(twice.status, 400, "decoded once: rs/%65nc3 is no name");
    assert.deepEqual(await tagsOf(fx.registry.url, "rs/enc3"), ["t"]);
  });

  it("other methods on /v2/<name>: 405 METHOD_UNKNOWN with Allow: DELETE, nothing changes", async () => {
    await seed(fx.registry.url, "rd/methods", ["t"]);
    for (const method of ["GET", "HEAD", "PUT", "POST", "PATCH", "OPTIONS"]) {
      const res = await request(
        method,
        `${fx.proxy.url}/v2/rd/methods`,
        method === "PUT" ? { body: "x" } : {},
      );
      assert.equal(res.status, 405, method);
      assert.equal(res.headers["allow"], "DELETE", method);
      if (method !== "HEAD") assert.equal(errorCode(res), "METHOD_UNKNOWN", method);
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "rd/methods"), ["t"]);
  });

  it("inside the read-only window: 503 UNAVAILABLE with Retry-After; nothing changes; after it, 202", async () => {
    await seed(fx.registry.url, "rd/window", ["t", "u"]);
    const enter = await request("POST", `${admin}/admin/read-only`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    assert.equal(enter.status, 200, enter.text);
    const lease = enter.json<{ lease: { id: string } }>().lease.id;
    const res = await request("DELETE", `${fx.proxy.url}/v2/rd/window`);
    assert.equal(res.status, 503);
    assert.equal(errorCode(res), "UNAVAILABLE");
    assert.ok(Number(res.headers["retry-after"]) >= 1);
    assert.deepEqual(await tagsOf(fx.registry.url, "rd/window"), ["t", "u"]);
    const leave = await request("DELETE", `${admin}/admin/read-only/${lease}`);
    assert.ok(leave.status < 300, leave.text);
    assert.equal((await request("DELETE", `${fx.proxy.url}/v2/rd/window`)).status, 202);
  });
});
