/**
 * `gc --apply` proves that the window it holds guards the registry it collects
 * (issue: gc run against proxy B with proxy A's window). Two real registries, A and
 * B, each behind its own proxy: gc refuses every mixed-up invocation with exit 2
 * and changes nothing on either side; given only --admin, it learns the proxy's
 * API from the admin listener and collects. Every check before the window fails
 * without entering it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Seed, seedGc, snapshot } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

function gc(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "gc", ...args],
      { cwd: ROOT, env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 180_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe("gc --apply holds the window of the registry it collects (two registries, two proxies)", () => {
  let registryA: TestRegistry;
  let registryB: TestRegistry;
  let proxyA: TestProxy;
  let proxyB: TestProxy;
  let seedB: Seed;
  const spawned: ProxyProcess[] = [];
  const cleanup: string[] = [];
  const configOf = (r: TestRegistry) => join(r.dir, "config.yml");
  const storageOf = (r: TestRegistry) => join(r.dir, "storage");
  const windowOf = async (p: TestProxy) =>
    (await request("GET", `${p.proxy.metricsUrl()}/admin/read-only`)).json<{ readOnly: boolean }>();
  /** How many times the window of `p` opened or closed so far (its log). */
  const windowChanges = (p: TestProxy) =>
    p.logs().filter((l) => l.includes('"msg":"read-only window"')).length;

  before(async () => {
    [registryA, registryB] = await Promise.all([startRegistry(), startRegistry()]);
    // gc's guard, not the tag history: the seeds' deleted tags are not held (history-gc.test.ts has that).
    const o = { metrics: { port: 0 }, log: { level: "warn" }, history: { windowMs: 0 } };
    [proxyA, proxyB] = await Promise.all([startProxy(registryA.url, o), startProxy(registryB.url, o)]);
    await seedGc(proxyA.url, "guard/a");
    seedB = await seedGc(proxyB.url, "guard/b");
  });
  after(async () => {
    for (const p of spawned) {
      p.kill();
      await p.exited;
    }
    await proxyA?.stop();
    await proxyB?.stop();
    await registryA?.stop();
    await registryB?.stop();
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it("GET /admin/upstream names the upstream and where the proxy's API listens", async () => {
    const res = await request("GET", `${proxyB.proxy.metricsUrl()}/admin/upstream`);
    assert.equal(res.status, 200, res.text);
    const doc = res.json<{ upstream: string; embedded: unknown; proxy: { port: number; tls: boolean } }>();
    assert.equal(doc.upstream, registryB.url);
    assert.equal(doc.embedded, null);
    assert.deepEqual(doc.proxy, { port: proxyB.port, tls: false, publicUrl: null });
  });

  it("--registry-config B --admin A --registry B: B's writes are not held by A's window → exit 2 naming it; nothing changed on A or B, A's window left", async () => {
    const [a, b] = [snapshot(storageOf(registryA)), snapshot(storageOf(registryB))];
    const run = await gc([
      "--apply",
      "--registry-config",
      configOf(registryB),
      "--admin",
      proxyA.proxy.metricsUrl()!,
      "--registry",
      proxyB.url,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stdout,
      /FAILED: the window guards the registry gc collects .*was not held by the read-only window/,
    );
    assert.match(run.stdout, /Nothing was changed/);
    assert.deepEqual(snapshot(storageOf(registryA)), a, "A's storage is byte-identical");
    assert.deepEqual(
      snapshot(storageOf(registryB)),
      b,
      "B's storage is byte-identical (the probe upload cancelled)",
    );
    assert.equal((await windowOf(proxyA)).readOnly, false, "A's window was left");
  });

  it("--registry-config B --admin A (the proxy's API learned from A): B's tags are not A's → refused before the window (exit 2); nothing changed", async () => {
    const [a, b] = [snapshot(storageOf(registryA)), snapshot(storageOf(registryB))];
    const changes = windowChanges(proxyA);
    const run = await gc([
      "--apply",
      "--registry-config",
      configOf(registryB),
      "--admin",
      proxyA.proxy.metricsUrl()!,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /guard\/b:\S+ is sha256:\S+ in the storage .* but no such tag through the proxy at/,
    );
    assert.equal(windowChanges(proxyA), changes, "A's window was never entered");
    assert.deepEqual(snapshot(storageOf(registryA)), a);
    assert.deepEqual(snapshot(storageOf(registryB)), b);
    assert.equal((await windowOf(proxyA)).readOnly, false);
  });

  it("a stale proxy-address.json in the data dir (proxy A, serve without metrics.port) and --registry-config B --registry B → exit 2, nothing changed", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "rcp-gc-guard-")), "data");
    cleanup.push(dirname(dataDir));
    const a = await spawnProxy({ UPSTREAM_URL: registryA.url, DATA_DIR: dataDir, LOG_LEVEL: "info" });
    spawned.push(a);
    assert.ok(existsSync(join(dataDir, "proxy-address.json")), "serve published its admin listener");
    const listening = a.lines().find((l) => l["msg"] === "proxy listening");
    assert.ok(listening?.["admin"], "serve in front of an upstream has an admin listener too");
    const before = snapshot(storageOf(registryB));
    const run = await gc(["--apply", "--registry-config", configOf(registryB), "--registry", proxyB.url], {
      DATA_DIR: dataDir,
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stdout, /was not held by the read-only window/);
    assert.deepEqual(snapshot(storageOf(registryB)), before);
  });

  it("--admin and --registry-config only, no --registry: gc deletes through the proxy its admin listener names, frees the bytes, exit 0", async () => {
    const run = await gc([
      "--apply",
      "--json",
      "--registry-config",
      configOf(registryB),
      "--admin",
      proxyB.proxy.metricsUrl()!,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      freedBytes: number;
      deletes: { digest: string; result: string }[];
    };
    assert.deepEqual(
      doc.deletes.map((d) => [d.digest, d.result]),
      [[seedB.oldDigest, "deleted"]],
    );
    assert.ok(doc.freedBytes >= 6 * 1024 * 1024, `freed ${doc.freedBytes}`);
    const gone = await request("HEAD", `${proxyB.url}/v2/guard/b/manifests/${seedB.oldDigest}`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(gone.status, 404);
  });

  it("no garbage-collect binary where gc runs → exit 2 before the window, naming it; nothing changed", async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), "rcp-gc-no-path-"));
    cleanup.push(emptyDir);
    const before = snapshot(storageOf(registryA));
    const changes = windowChanges(proxyA);
    const run = await gc(
      ["--apply", "--registry-config", configOf(registryA), "--admin", proxyA.proxy.metricsUrl()!],
      { PATH: emptyDir },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /cannot find docker-registry \(for garbage-collect\) on PATH.*Nothing was changed/,
    );
    assert.deepEqual(snapshot(storageOf(registryA)), before);
    assert.equal(windowChanges(proxyA), changes, "the window was never entered");
  });
});

describe("gc --apply against an embedded-mode proxy with another registry's config", () => {
  let proxy: ProxyProcess | undefined;
  let other: TestRegistry;
  after(async () => {
    proxy?.kill();
    await proxy?.exited;
    await other?.stop();
  });

  it("the admin listener says its embedded registry stores elsewhere → refused before the window (exit 2), nothing changed", async () => {
    other = await startRegistry();
    proxy = await spawnProxy({ UPSTREAM_URL: "", LOG_LEVEL: "info" });
    await pushImage(other.url, "guard/other", makeImage({ layerCount: 1 }), ["v1"]);
    const before = snapshot(join(other.dir, "storage"));
    const admin = String(proxy.lines().find((l) => l["msg"] === "proxy listening")?.["admin"]);
    const run = await gc(["--apply", "--registry-config", join(other.dir, "config.yml"), "--admin", admin]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /fronts its embedded registry, which stores in .* but the registry config .* stores in/,
    );
    assert.deepEqual(snapshot(join(other.dir, "storage")), before);
    assert.ok(!proxy.lines().some((l) => l["msg"] === "read-only window"), "the window was never entered");
  });
});
