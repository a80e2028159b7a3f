/**
 * `gc` and repositories without tags (issue 32), on a real docker-registry 2.8.2
 * with filesystem storage: the dry run lists them, `--apply` removes their
 * storage (never a nested repository's, never one with an upload in progress or
 * held by the tag history), the registry's own catalog drops them, and a push
 * with skopeo afterwards brings a name back.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { emptyByDigest, pushRepositories, SMALL_IMAGE, wholeCatalog } from "../helpers/catalog.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { exec, gcOptions, runGcForTest, snapshot } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, writeOciLayout } from "../helpers/oci.js";

/** Emptied on the registry itself (no history holds them): these go. */
const GONE = ["empty/gone", "empty/pair/x", "empty/pair/x/y", "empty/parent"];

describe("gc with repositories that have no tags", () => {
  // The tag history on (its default window): a tag deleted through the proxy is held.
  const fx = useRegistryAndProxy({ proxy: { metrics: { port: 0 } } });
  const work = mkdtempSync(join(tmpdir(), "rcp-gc-empty-"));
  let storage: string;
  let registryConfig: string;
  let host: string;
  before(async () => {
    storage = join(fx.registry.dir, "storage");
    registryConfig = join(fx.registry.dir, "config.yml");
    host = fx.proxy.url.replace(/^http:\/\//, "");
    const digest = await pushRepositories(fx.registry.url, [
      ...GONE,
      "empty/parent/child",
      "empty/held",
      "empty/uploading",
      "empty/tagged",
    ]);
    for (const name of GONE) await emptyByDigest(fx.registry.url, name, digest);
    await emptyByDigest(fx.registry.url, "empty/uploading", digest);
    const upload = await request("POST", `${fx.registry.url}/v2/empty/uploading/blobs/uploads/`);
    assert.equal(upload.status, 202);
    const del = await request("DELETE", `${fx.proxy.url}/v2/empty/held/tags/t`);
    assert.equal(del.status, 202, del.text);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("gc (dry run) lists the repositories without tags that would go and those kept, and changes nothing", async () => {
    const before = snapshot(storage);
    const { result } = await runGcForTest(
      gcOptions({ registryConfig, adminUrl: fx.proxy.proxy.metricsUrl() }),
    );
    assert.deepEqual(snapshot(storage), before);
    assert.deepEqual(result.empty?.remove, GONE);
    assert.deepEqual(result.empty?.kept, [
      { name: "empty/held", because: "held by the tag history" },
      { name: "empty/uploading", because: "uploads in progress" },
    ]);
  });

  it("gc --apply removes their storage: the registry's catalog drops them, the nested child still pulls, the kept ones stay", async () => {
    const { result, err } = await runGcForTest(
      gcOptions({
        registryConfig,
        apply: true,
        adminUrl: fx.proxy.proxy.metricsUrl(),
        registryUrl: fx.proxy.url,
      }),
    );
    assert.equal(result.exitCode, 0, err);
    assert.deepEqual(result.empty?.removed, GONE);
    assert.ok(result.steps.some((s) => s.name === "remove the storage of repositories without tags" && s.ok));
    const catalog = await wholeCatalog(fx.registry.url);
    for (const name of GONE) assert.ok(!catalog.includes(name), `${name} left the registry's catalog`);
    for (const name of ["empty/parent/child", "empty/held", "empty/uploading", "empty/tagged"])
      assert.ok(catalog.includes(name), `${name} stays`);
    const repos = join(storage, "docker", "registry", "v2", "repositories", "empty");
    assert.ok(!existsSync(join(repos, "pair")), "a folder left empty goes");
    assert.ok(!existsSync(join(repos, "parent", "_layers")));
    const child = await request("GET", `${fx.proxy.url}/v2/empty/parent/child/manifests/t`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(child.status, 200);
    const layer = await request(
      "GET",
      `${fx.proxy.url}/v2/empty/parent/child/blobs/${SMALL_IMAGE.layers[0]!.digest}`,
    );
    assert.equal(layer.status, 200, "the child's layer survived garbage-collect");
    // Kept: the registry still knows it (200, no tags; the proxy answers 404 for a repository without tags).
    const tags = await request("GET", `${fx.registry.url}/v2/empty/held/tags/list`);
    assert.equal(tags.status, 200);
  });

  it("a push with skopeo to a removed name works and the name is back in the catalog", async () => {
    const layout = join(work, "again");
    writeOciLayout(layout, SMALL_IMAGE, "again");
    await exec("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      `oci:${layout}:again`,
      `docker://${host}/empty/gone:again`,
    ]);
    assert.ok((await wholeCatalog(fx.registry.url)).includes("empty/gone"));
    assert.ok((await wholeCatalog(fx.proxy.url)).includes("empty/gone"));
    const list = await request("GET", `${fx.proxy.url}/v2/empty/gone/tags/list`);
    assert.deepEqual(list.json<{ tags: string[] }>().tags, ["again"]);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${host}/empty/gone:again`,
      `oci:${join(work, "back")}:again`,
    ]);
  });
});
