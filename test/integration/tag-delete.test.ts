import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { parseJournal } from "../../src/tags/journal.js";
import { startRegistryAndProxy, useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { requireTools } from "../helpers/prereq.js";
import {
  errorCode,
  MANIFEST_KINDS,
  manifestOf,
  pushKind,
  revisionsOf,
  tagsOf,
} from "../helpers/tag-delete.js";

requireTools("skopeo");

const exec = promisify(execFile);

describe("tag delete against a real docker-registry 2.8 (deletes enabled)", () => deleteCases({}));

function deleteCases(overrides: Record<string, unknown>): void {
  let dir: string;
  const fx = useRegistryAndProxy(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-td-"));
    return { proxy: { ...overrides, delete: { journalPath: join(dir, "journal.jsonl") } } };
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of MANIFEST_KINDS) {
    it(`DELETE /tags/:tag and /manifests/:tag of a ${kind} remove only those tags; the third keeps its digest`, async () => {
      const repo = `td/${kind}`;
      const pushed = await pushKind(fx.registry.url, repo, kind, ["a", "b", "c"]);
      const revisionsBefore = revisionsOf(fx.registry.dir, repo);

      const viaTags = await request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/a`);
      assert.equal(viaTags.status, 202, viaTags.text);
      assert.equal(viaTags.body.length, 0);
      assert.equal(viaTags.headers["docker-distribution-api-version"], "registry/2.0");
      const viaManifests = await request("DELETE", `${fx.proxy.url}/v2/${repo}/manifests/b`);
      assert.equal(viaManifests.status, 202, viaManifests.text);
      assert.equal(viaManifests.body.length, 0);

      const c = await manifestOf(fx.registry.url, repo, "c");
      assert.equal(c?.digest, pushed.digest);
      assert.deepEqual(c?.bytes, pushed.bytes);
      assert.equal(c?.mediaType, pushed.mediaType);
      for (const gone of ["a", "b"]) {
        for (const method of ["HEAD", "GET"]) {
          const res = await request(method, `${fx.proxy.url}/v2/${repo}/manifests/${gone}`, {
            headers: { accept: pushed.mediaType },
          });
          assert.equal(res.status, 404, `${method} ${gone}`);
        }
      }
      assert.deepEqual(await tagsOf(fx.proxy.url, repo), ["c"]);
      const newList = await request("GET", `${fx.proxy.url}/v2/${repo}/tags/_list`);
      assert.deepEqual(newList.json<{ tags: string[] }>().tags, ["c"], "gone from tags/_list too");
      // The manifest itself, and every other revision, is still there; no tombstone is left.
      assert.deepEqual(revisionsOf(fx.registry.dir, repo), revisionsBefore);
      const byDigest = await request("GET", `${fx.proxy.url}/v2/${repo}/manifests/${pushed.digest}`, {
        headers: { accept: pushed.mediaType },
      });
      assert.equal(byDigest.status, 200);
      assert.deepEqual(byDigest.body, pushed.bytes);
      const host = fx.proxy.url.replace("http://", "");
      const raw = await exec("skopeo", [
        "inspect",
        "--raw",
        "--tls-verify=false",
        `docker://${host}/${repo}@${pushed.digest}`,
      ]);
      assert.deepEqual(Buffer.from(raw.stdout), pushed.bytes);
    });
  }

  it("DELETE one of two tags on a manifest keeps the other (skopeo inspect by tag still works)", async () => {
    const repo = "td/two";
    const pushed = await pushKind(fx.registry.url, repo, "docker-v2", ["old", "latest"]);
    const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/old`);
    assert.equal(res.status, 202);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["latest"]);
    const host = fx.proxy.url.replace("http://", "");
    const inspect = await exec("skopeo", [
      "inspect",
      "--tls-verify=false",
      `docker://${host}/${repo}:latest`,
    ]);
    assert.equal(JSON.parse(inspect.stdout).Digest, pushed.digest);
  });

  it("journals an intent before and an outcome after each swap, without credentials", async () => {
    const repo = "td/journal";
    const pushed = await pushKind(fx.registry.url, repo, "oci-manifest", ["j", "k"]);
    const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/j`, {
      headers: { authorization: "Basic c2VjcmV0OnNlY3JldA==" },
    });
    assert.equal(res.status, 202);
    const text = readFileSync(join(dir, "journal.jsonl"), "utf8");
    assert.ok(!text.includes("c2VjcmV0"), "no credentials in the journal");
    const rec = parseJournal(text).records.find((r) => r.intent.repository === repo);
    assert.ok(rec);
    assert.equal(rec.intent.tag, "j");
    assert.equal(rec.intent.originalDigest, pushed.digest);
    assert.equal(rec.intent.mediaType, pushed.mediaType);
    assert.deepEqual(Buffer.from(rec.intent.originalBytes ?? "", "base64"), pushed.bytes);
    assert.match(rec.intent.tombstoneDigest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(rec.outcome?.outcome, "deleted");
  });

  it("DELETE of an unknown tag answers 404 MANIFEST_UNKNOWN, in an unknown repository 404 NAME_UNKNOWN", async () => {
    await pushKind(fx.registry.url, "td/known", "docker-v2", ["here"]);
    for (const [path, code] of [
      ["/v2/td/known/tags/nothere", "MANIFEST_UNKNOWN"],
      ["/v2/td/known/manifests/nothere", "MANIFEST_UNKNOWN"],
      ["/v2/td/nope/tags/x", "NAME_UNKNOWN"],
      ["/v2/td/nope/manifests/x", "NAME_UNKNOWN"],
    ] as const) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(errorCode(res), code, path);
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "td/known"), ["here"]);
  });

  it("DELETE with an invalid tag or name answers 400 TAG_INVALID / NAME_INVALID", async () => {
    for (const [path, code] of [
      ["/v2/td/known/tags/-bad", "TAG_INVALID"],
      ["/v2/td/known/manifests/.bad", "TAG_INVALID"],
      [`/v2/td/known/tags/${"x".repeat(129)}`, "TAG_INVALID"],
      ["/v2/TD/known/tags/here", "NAME_INVALID"],
    ] as const) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(errorCode(res), code, path);
    }
  });

  it("repository names with a `tags` component and tags named list and _list are deleted exactly", async () => {
    const inner = await pushKind(fx.registry.url, "x/tags", "docker-v2", ["v1", "list", "_list", "keep"]);
    await pushKind(fx.registry.url, "x", "oci-manifest", ["list", "keep"]);
    for (const path of ["/v2/x/tags/tags/v1", "/v2/x/tags/tags/list", "/v2/x/tags/manifests/_list"]) {
      const res = await request("DELETE", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 202, `${path}: ${res.text}`);
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "x/tags"), ["keep"]);
    assert.deepEqual(await tagsOf(fx.registry.url, "x"), ["keep", "list"]);
    assert.equal((await manifestOf(fx.registry.url, "x/tags", "keep"))?.digest, inner.digest);
    // `DELETE /v2/x/tags/list` names repository x, tag `list`; GET of the same path is still the list.
    const res = await request("DELETE", `${fx.proxy.url}/v2/x/tags/list`);
    assert.equal(res.status, 202);
    assert.deepEqual(await tagsOf(fx.registry.url, "x"), ["keep"]);
    const list = await request("GET", `${fx.proxy.url}/v2/x/tags/list`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json<{ tags: string[] }>().tags, ["keep"]);
  });

  it("GET, HEAD and PUT on /v2/:name/tags/:tag answer 405 with Allow: DELETE", async () => {
    await pushKind(fx.registry.url, "td/methods", "docker-v2", ["here"]);
    for (const method of ["GET", "HEAD", "PUT"]) {
      const res = await request(method, `${fx.proxy.url}/v2/td/methods/tags/here`);
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, "DELETE");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      if (method !== "HEAD") assert.equal(errorCode(res), "UNSUPPORTED");
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "td/methods"), ["here"]);
  });

  it("DELETE /v2/:name/manifests/:digest still passes through with the upstream's meaning", async () => {
    const pushed = await pushKind(fx.registry.url, "td/bydigest", "docker-v2", ["p", "q"]);
    const res = await request("DELETE", `${fx.proxy.url}/v2/td/bydigest/manifests/${pushed.digest}`);
    assert.equal(res.status, 202);
    assert.deepEqual(await tagsOf(fx.registry.url, "td/bydigest"), []);
  });

  it("counts deletes by path and outcome", async () => {
    const count = async (outcome: string) => {
      const text =
        await fx.proxy.proxy.deps.metrics.registry.getSingleMetricAsString("rcp_tag_deletes_total");
      const m = new RegExp(`rcp_tag_deletes_total\\{path="swap",outcome="${outcome}"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    const [ok, notFound] = [await count("ok"), await count("not_found")];
    await pushKind(fx.registry.url, "td/counted", "docker-v2", ["a", "b"]);
    assert.equal((await request("DELETE", `${fx.proxy.url}/v2/td/counted/tags/a`)).status, 202);
    assert.equal((await request("DELETE", `${fx.proxy.url}/v2/td/counted/manifests/b`)).status, 202);
    assert.equal((await request("DELETE", `${fx.proxy.url}/v2/td/counted/tags/a`)).status, 404);
    assert.equal(await count("ok"), ok + 2);
    assert.equal(await count("not_found"), notFound + 1);
  });
}

describe("tag delete when the upstream cannot delete", () => {
  it("deletes disabled: 405 UNSUPPORTED, and the tag's bytes and the revisions are untouched", async () => {
    const { registry, proxy, stop } = await startRegistryAndProxy({ registry: { deleteEnabled: false } });
    try {
      const pushed = await pushKind(registry.url, "off/app", "oci-manifest", ["a", "b"]);
      const before = await manifestOf(registry.url, "off/app", "a");
      const revisions = revisionsOf(registry.dir, "off/app");
      for (const path of ["/v2/off/app/tags/a", "/v2/off/app/manifests/a"]) {
        const res = await request("DELETE", `${proxy.url}${path}`);
        assert.equal(res.status, 405, path);
        assert.equal(errorCode(res), "UNSUPPORTED");
      }
      const afterward = await manifestOf(registry.url, "off/app", "a");
      assert.deepEqual(afterward?.bytes, before?.bytes);
      assert.equal(afterward?.digest, pushed.digest);
      assert.deepEqual(revisionsOf(registry.dir, "off/app"), revisions);
      assert.deepEqual(await tagsOf(registry.url, "off/app"), ["a", "b"]);
    } finally {
      await stop();
    }
  });

  it("read-only upstream (405 text/plain on DELETE): 405 UNSUPPORTED in OCI JSON", async () => {
    const { proxy, stop } = await startRegistryAndProxy({ registry: { readOnly: true } });
    try {
      const res = await request("DELETE", `${proxy.url}/v2/ro/app/tags/a`);
      assert.equal(res.status, 405);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(errorCode(res), "UNSUPPORTED");
    } finally {
      await stop();
    }
  });
});
