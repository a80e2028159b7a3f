/**
 * `restore` once garbage collection took the original (real registry, real proxy,
 * real `gc --apply`): the journal still holds the manifest's bytes, but the blobs
 * it refers to are gone, so the registry refuses the PUT with 400
 * MANIFEST_BLOB_UNKNOWN. docs/tag-delete.md promises exit 5 ("original manifest gone
 * (GC'd)"), never the generic 1.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { gcOptions, runGcForTest, type Seed, seedGc } from "../helpers/gc.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf } from "../helpers/tag-delete.js";

const ROOT = resolve(import.meta.dirname, "../..");

function restore(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "restore", ...args],
      { cwd: ROOT, timeout: 120_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, out: stdout + stderr }),
    );
  });
}

describe("restore after gc collected the original", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let seed: Seed;

  before(async () => {
    registry = await startRegistry();
    // Without the tag history's window (which keeps the original for an undelete): gc takes it
    // at once, as it does once the window has passed (history-gc.test.ts has the window).
    proxy = await startProxy(registry.url, {
      metrics: { port: 0 },
      log: { level: "warn" },
      history: { windowMs: 0 },
    });
    seed = await seedGc(proxy.url, "restore-gc/app");
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("restore --repository R --tag T after gc --apply → exit 5 naming MANIFEST_BLOB_UNKNOWN; the tag stays absent", async () => {
    const registryConfig = join(registry.dir, "config.yml");
    const { result, err } = await runGcForTest(
      gcOptions({ registryConfig, apply: true, adminUrl: proxy.proxy.metricsUrl(), registryUrl: proxy.url }),
    );
    assert.equal(result.exitCode, 0, err);
    assert.ok(result.deletes.some((d) => d.digest === seed.oldDigest && d.result === "deleted"));

    const res = await restore([
      "--repository",
      seed.repo,
      "--tag",
      "old",
      "--journal",
      proxy.config.delete.journalPath,
      "--upstream",
      registry.url,
    ]);
    assert.equal(res.code, 5, res.out);
    assert.match(res.out, /MANIFEST_BLOB_UNKNOWN/);
    assert.match(res.out, /garbage-collected/);
    assert.equal(await manifestOf(registry.url, seed.repo, "old"), null, "nothing was put back");
  });
});
