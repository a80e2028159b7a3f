/**
 * gc keeps the tag history's window, on a real docker-registry 2.8 with filesystem
 * storage: `gc --apply` keeps every manifest and blob an undelete inside the window
 * needs (a tag deleted by the swap, tags lost with a delete by digest), reports
 * what the window holds, and still collects what was purged; afterwards each
 * undeleted tag pulls whole with skopeo.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resultLines } from "../../src/gc/report.js";
import { exec, gcOptions, runGcForTest } from "../helpers/gc.js";
import { cli } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, assertLayoutHolds, type Image, makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { tagsOf } from "../helpers/tag-delete.js";

const MiB = 1024 * 1024;

describe("gc --apply inside the tag history's window", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;
  const work = mkdtempSync(join(tmpdir(), "rcp-history-gc-"));
  const repo = "hgc/app";
  // 3 MiB of random bytes each: gzip cannot shrink them.
  const tagged = makeImage({ layerCount: 1, layerSize: 3 * MiB });
  const byDigest = makeImage({ layerCount: 2, layerSize: 3 * MiB });
  const purged = makeImage({ layerCount: 1, layerSize: 3 * MiB });
  const keep = makeImage({ layerCount: 1, layerSize: 64 });

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { metrics: { port: 0 } });
    admin = proxy.proxy.metricsUrl()!;
    await pushImage(proxy.url, repo, keep, ["keep"]);
    await pushImage(proxy.url, repo, tagged, ["old"]);
    await pushImage(proxy.url, repo, byDigest, ["b1", "b2"]);
    await pushImage(proxy.url, repo, purged, ["secret"]);
    const del = (path: string) => request("DELETE", `${proxy.url}/v2/${repo}/${path}`);
    assert.equal((await del("tags/old")).status, 202);
    assert.equal((await del(`manifests/${byDigest.manifest.digest}`)).status, 202);
    assert.equal((await del("tags/secret")).status, 202);
    // The secret must go: purged from the history, the next gc may reclaim it.
    assert.equal((await cli(["history", "purge", `${repo}:secret`, "--admin", admin])).code, 0);
    assert.deepEqual(await tagsOf(registry.url, repo), ["keep"]);
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("the dry run asks the proxy what its window holds and plans to delete only the purged manifest", async () => {
    const { result } = await runGcForTest(
      gcOptions({ registryConfig: join(registry.dir, "config.yml"), adminUrl: admin }),
    );
    const plan = result.plan.repositories.find((r) => r.name === repo);
    assert.deepEqual(plan?.unreachable, [purged.manifest.digest]);
    assert.equal(result.history?.windowMs, 604_800_000);
    assert.equal(result.history?.keptManifests, 1, "old's manifest (b1/b2's has no revision left)");
    assert.ok((result.history?.keptBytes ?? 0) >= 3 * MiB, `${result.history?.keptBytes}`);
  });

  it("--apply keeps what the window needs, frees the purged image, and reports the window", async () => {
    const { result, err } = await runGcForTest(
      gcOptions({
        registryConfig: join(registry.dir, "config.yml"),
        apply: true,
        adminUrl: admin,
        registryUrl: proxy.url,
      }),
    );
    assert.equal(result.exitCode, 0, err);
    assert.deepEqual(
      result.deletes.map((d) => [d.digest, d.result]),
      [[purged.manifest.digest, "deleted"]],
    );
    assert.ok((result.freed?.repositories[repo] ?? 0) >= 3 * MiB, "the purged layer is gone from disk");
    assert.equal(result.history?.relinked, 1, "the manifest deleted by digest is kept for undelete");
    assert.deepEqual(result.history?.lost, []);
    const line = resultLines(result).find((l) => l.startsWith("history window"));
    assert.match(
      line ?? "",
      /^history window \(7 days\): holds \d+ manifests; keeps 1 untagged manifests, .*; 1 deleted by digest kept for undelete$/,
    );
    const gone = await request("HEAD", `${proxy.url}/v2/${repo}/manifests/${purged.manifest.digest}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(gone.status, 404);
    // gc's own delete is in the history, holding nothing.
    const held = (await request("GET", `${admin}/admin/history/_held`)).json<{
      manifests: { digest: string }[];
    }>();
    assert.ok(!held.manifests.some((m) => m.digest === purged.manifest.digest));
  });

  it("after gc, undelete old, b1 and b2: each pulls whole with skopeo", async () => {
    for (const tag of ["old", "b1", "b2"]) {
      const run = await cli(["undelete", `${repo}:${tag}`, "--admin", admin]);
      assert.equal(run.code, 0, `${tag}: ${run.err}`);
    }
    const host = proxy.url.replace(/^http:\/\//, "");
    const pulls: Array<[string, Image]> = [
      ["old", tagged],
      ["b1", byDigest],
      ["b2", byDigest],
    ];
    for (const [tag, image] of pulls) {
      const dir = join(work, tag);
      await exec("skopeo", [
        "copy",
        "--src-tls-verify=false",
        `docker://${host}/${repo}:${tag}`,
        `oci:${dir}:${tag}`,
      ]);
      assertLayoutHolds(dir, tag, image);
    }
    assert.equal((await cli(["undelete", `${repo}:secret`, "--admin", admin])).code, 6, "purged");
  });
});
