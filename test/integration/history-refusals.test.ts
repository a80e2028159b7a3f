/**
 * What undelete refuses, each with its own exit code, against a real
 * docker-registry 2.8: an immutable tag that would move (5); content gone (6)
 * because the entries were purged, are older than the window, or the registry
 * garbage-collected the manifest; and the history surviving a restart of the proxy.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { exec } from "../helpers/gc.js";
import { cli, entries } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, tagsOf } from "../helpers/tag-delete.js";

const small = () => makeImage({ layerCount: 1, layerSize: 256 });

describe("undelete refusals and durability, in front of a real docker-registry 2.8", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;
  const work = mkdtempSync(join(tmpdir(), "rcp-history-refusals-"));
  const undelete = (ref: string, ...more: string[]) => cli(["undelete", ref, "--admin", admin, ...more]);

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { metrics: { port: 0 }, tags: { immutable: ["hist/imm:v*"] } });
    admin = proxy.proxy.metricsUrl()!;
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("an immutable tag moved outside the proxy is not moved back: exit 5, the tag as it was", async () => {
    const repo = "hist/imm";
    const a = small();
    const b = small();
    await pushImage(proxy.url, repo, a, ["v1"]);
    await pushImage(registry.url, repo, b, ["v1"]); // straight to the registry, around the guard
    const run = await undelete(`${repo}:v1`, "--to", a.manifest.digest);
    assert.equal(run.code, 5, run.err);
    assert.match(run.err, /v1 is immutable and points at/);
    assert.equal((await manifestOf(registry.url, repo, "v1"))?.digest, b.manifest.digest);
  });

  it("purged entries: history purge REPO:TAG, then undelete says purged (exit 6)", async () => {
    const repo = "hist/purge";
    await pushImage(proxy.url, repo, small(), ["v1", "v2"]);
    assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/v1`)).status, 202);
    const purge = await cli(["history", "purge", `${repo}:v1`, "--admin", admin]);
    assert.equal(purge.code, 0, purge.err);
    assert.match(purge.out, /purged 2 entries of hist\/purge:v1/);
    const run = await undelete(`${repo}:v1`);
    assert.equal(run.code, 6, run.err);
    assert.match(run.err, /the history of v1 was purged at /);
    assert.deepEqual(await tagsOf(registry.url, repo), ["v2"]);
    const [marker] = await entries(admin, repo, "v1");
    assert.equal(marker?.type, "HistoryPurged");
    // A whole repository's purge: every tag's entries go.
    assert.equal((await cli(["history", "purge", repo, "--admin", admin])).code, 0);
    assert.deepEqual(
      (await entries(admin, repo)).map((e) => e.type),
      ["HistoryPurged"],
    );
  });

  it("content garbage-collected by the registry (outside gc's window): exit 6, nothing changed", async () => {
    const repo = "hist/collected";
    const image = small();
    await pushImage(proxy.url, repo, image, ["v1"]);
    assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/v1`)).status, 202);
    // Someone deletes the manifest and collects, straight on the registry.
    const del = await request("DELETE", `${registry.url}/v2/${repo}/manifests/${image.manifest.digest}`);
    assert.equal(del.status, 202);
    await exec("docker-registry", ["garbage-collect", join(registry.dir, "config.yml")]);
    const run = await undelete(`${repo}:v1`);
    assert.equal(run.code, 6, run.err);
    assert.match(run.err, /no longer in the registry/);
    const head = await request("HEAD", `${registry.url}/v2/${repo}/manifests/v1`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(head.status, 404);
  });

  it("older than the window: exit 6 naming the window; the entry is listed as expired", async () => {
    const short = await startProxy(registry.url, { metrics: { port: 0 }, history: { windowMs: 1000 } });
    try {
      const repo = "hist/expired";
      await pushImage(short.url, repo, small(), ["v1"]);
      assert.equal((await request("DELETE", `${short.url}/v2/${repo}/tags/v1`)).status, 202);
      await new Promise((r) => setTimeout(r, 1100));
      const shortAdmin = short.proxy.metricsUrl()!;
      const run = await cli(["undelete", `${repo}:v1`, "--admin", shortAdmin]);
      assert.equal(run.code, 6, run.err);
      assert.match(run.err, /older than the window \(1 second\)/);
      const [entry] = await entries(shortAdmin, repo, "v1");
      assert.equal(entry?.expired, true);
      const held = await request("GET", `${shortAdmin}/admin/history/_held`);
      assert.deepEqual(held.json(), { windowMs: 1000, manifests: [] });
    } finally {
      await short.stop();
    }
  });

  it("while gc holds the read-only window, undelete answers 503 and writes nothing", async () => {
    const repo = "hist/window";
    await pushImage(proxy.url, repo, small(), ["v1", "v2"]);
    assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/v1`)).status, 202);
    const enter = await request("POST", `${admin}/admin/read-only`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    assert.equal(enter.status, 200);
    const lease = enter.json<{ lease: { id: string } }>().lease.id;
    try {
      const run = await undelete(`${repo}:v1`);
      assert.equal(run.code, 1, run.err);
      assert.match(run.err, /read-only for maintenance/);
      assert.deepEqual(await tagsOf(registry.url, repo), ["v2"]);
    } finally {
      assert.equal((await request("DELETE", `${admin}/admin/read-only/${lease}`)).status, 204);
    }
    assert.equal((await undelete(`${repo}:v1`)).code, 0, "once the window is left");
  });

  it("the history survives a restart of the proxy (its file beside the journal), and undelete works after it", async () => {
    const journalPath = join(work, "state", "tag-delete-journal.jsonl");
    const repo = "hist/restart";
    const image = small();
    const first = await startProxy(registry.url, { metrics: { port: 0 }, delete: { journalPath } });
    await pushImage(first.url, repo, image, ["v1"]);
    assert.equal((await request("DELETE", `${first.url}/v2/${repo}/tags/v1`)).status, 202);
    await first.stop();

    const second = await startProxy(registry.url, { metrics: { port: 0 }, delete: { journalPath } });
    try {
      const secondAdmin = second.proxy.metricsUrl()!;
      assert.deepEqual(
        (await entries(secondAdmin, repo, "v1")).map((e) => e.type),
        ["TagDeleted", "TagMoved"],
      );
      const run = await cli(["undelete", `${repo}:v1`, "--admin", secondAdmin]);
      assert.equal(run.code, 0, run.err);
      assert.equal((await manifestOf(registry.url, repo, "v1"))?.digest, image.manifest.digest);
    } finally {
      await second.stop();
    }
  });

  it("history.windowMs 0: nothing is recorded and the commands say the history is off (exit 7)", async () => {
    const off = await startProxy(registry.url, { metrics: { port: 0 }, history: { windowMs: 0 } });
    try {
      await pushImage(off.url, "hist/off", small(), ["v1"]);
      const offAdmin = off.proxy.metricsUrl()!;
      const show = await cli(["history", "hist/off:v1", "--admin", offAdmin]);
      assert.equal(show.code, 7, show.err);
      assert.match(show.err, /the tag history is off/);
      assert.equal((await cli(["undelete", "hist/off:v1", "--admin", offAdmin])).code, 7);
    } finally {
      await off.stop();
    }
  });
});
