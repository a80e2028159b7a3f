import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { diskBytes, exec, gcOptions, runGcForTest, type Seed, seedGc, snapshot } from "../helpers/gc.js";
import { createHtpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, writeOciLayout } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";

const MiB = 1024 * 1024;

describe("gc on a real docker-registry 2.8 with filesystem storage", () => {
  let seed: Seed;
  let storage: string;
  let registryConfig: string;
  let host: string;
  const work = mkdtempSync(join(tmpdir(), "rcp-gc-"));
  // gc's own mechanics: old's delete is not held by a tag history (history-gc.test.ts has that).
  const fx = useRegistryAndProxy({ proxy: { metrics: { port: 0 }, history: { windowMs: 0 } } });
  before(async () => {
    storage = join(fx.registry.dir, "storage");
    registryConfig = join(fx.registry.dir, "config.yml");
    host = fx.proxy.url.replace(/^http:\/\//, "");
    seed = await seedGc(fx.proxy.url, "gc/app");
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
  });

  it("the dry run names old's manifest and nothing reachable, and changes no byte of the storage", async () => {
    const before = snapshot(storage);
    const { result } = await runGcForTest(gcOptions({ registryConfig }));
    assert.deepEqual(snapshot(storage), before);
    assert.equal(result.dryRun, true);
    const repos = result.plan.repositories.filter((r) => r.unreachable.length > 0);
    assert.deepEqual(
      repos.map((r) => [r.name, r.unreachable]),
      [["gc/app", [seed.oldDigest]]],
    );
    assert.ok(result.plan.bytes >= 6 * MiB, `would free ${result.plan.bytes}`);
    assert.equal(result.exitCode, 0);
  });

  it("--apply frees at least 6 MiB on disk; new and multi pull whole, the referrer is still listed, old's digest is gone", async () => {
    const before = diskBytes(storage);
    const { result, err } = await runGcForTest(
      gcOptions({
        registryConfig,
        apply: true,
        adminUrl: fx.proxy.proxy.metricsUrl(),
        registryUrl: fx.proxy.url,
      }),
    );
    assert.equal(result.exitCode, 0, err);
    const freedOnDisk = before - diskBytes(storage);
    assert.ok(freedOnDisk >= 6 * MiB, `freed ${freedOnDisk} bytes on disk`);
    assert.ok(result.freed!.total >= 6 * MiB, `reported ${result.freed!.total}`);
    assert.ok(result.freed!.repositories["gc/app"]! >= 6 * MiB);
    assert.deepEqual(
      result.deletes.map((d) => [d.repository, d.digest, d.result]),
      [["gc/app", seed.oldDigest, "deleted"]],
    );

    for (const tag of ["new", "multi"]) {
      await exec("skopeo", [
        "copy",
        "--all",
        "--src-tls-verify=false",
        `docker://${host}/gc/app:${tag}`,
        `oci:${join(work, tag)}:${tag}`,
      ]);
    }
    const referrers = await request("GET", `${fx.proxy.url}/v2/gc/app/referrers/${seed.newDigest}`);
    assert.equal(referrers.status, 200);
    const listed = referrers.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest);
    assert.deepEqual(listed, [seed.artifactDigest]);
    const gone = await request("GET", `${fx.proxy.url}/v2/gc/app/manifests/${seed.oldDigest}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(gone.status, 404);
    const state = await request("GET", `${fx.proxy.proxy.metricsUrl()}/admin/read-only`);
    assert.equal(state.json<{ readOnly: boolean }>().readOnly, false, "the window is left");
    const metrics = parseMetrics((await request("GET", `${fx.proxy.proxy.metricsUrl()}/metrics`)).text);
    assert.equal(sampleValue(metrics, "rcp_gc_manifests_deleted_total"), 1);
    assert.equal(sampleValue(metrics, "rcp_gc_bytes_freed_total"), result.freed!.total);
  });

  it("a push right after gc uploads the layer gc just deleted again, and pulls whole", async () => {
    const layout = join(work, "again");
    writeOciLayout(layout, seed.old, "again");
    await exec("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      `oci:${layout}:again`,
      `docker://${host}/gc/app:again`,
    ]);
    const blob = await request("HEAD", `${fx.proxy.url}/v2/gc/app/blobs/${seed.old.layers[0]!.digest}`);
    assert.equal(blob.status, 200);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${host}/gc/app:again`,
      `oci:${join(work, "again-back")}:again`,
    ]);
  });
});

describe("gc --apply on a registry with Basic auth", () => {
  let seed: Seed;
  const htpasswd = createHtpasswd({ alice: "secret-a" });
  const fx = useRegistryAndProxy({
    registry: { htpasswdFile: htpasswd.file },
    proxy: { metrics: { port: 0 }, log: { level: "warn" }, history: { windowMs: 0 } },
  });
  before(async () => {
    seed = await seedGc(fx.proxy.url, "auth/app", htpasswd.basic("alice"));
  });

  it("without credentials: refused before the window (the proxy answers 401), nothing changed; with them the deletes pass", async () => {
    const base = {
      registryConfig: join(fx.registry.dir, "config.yml"),
      apply: true,
      adminUrl: fx.proxy.proxy.metricsUrl(),
      registryUrl: fx.proxy.url,
    };
    const storage = join(fx.registry.dir, "storage");
    const untouched = snapshot(storage);
    await assert.rejects(
      runGcForTest(gcOptions(base)),
      (err: Error) => err.name === "GcRefusedError" && /answered 401.*--username/.test(err.message),
    );
    assert.deepEqual(snapshot(storage), untouched, "nothing changed");
    assert.ok(
      !fx.proxy.logs().some((l) => l.includes('"msg":"read-only window"')),
      "the window was never entered",
    );

    const credentials = { username: "alice", password: "secret-a", source: "flags" };
    const { result, err } = await runGcForTest(gcOptions({ ...base, credentials }));
    assert.equal(result.exitCode, 0, err);
    assert.deepEqual(
      result.deletes.map((d) => [d.digest, d.result]),
      [[seed.oldDigest, "deleted"]],
    );
    assert.ok(result.freed!.total >= 6 * MiB);
  });
});
