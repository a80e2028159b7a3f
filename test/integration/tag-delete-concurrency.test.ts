import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseJournal } from "../../src/tags/journal.js";
import { isTombstone } from "../../src/tags/tombstone.js";
import { startFakeUpstream } from "../helpers/fake-upstream.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { makeImage, pushBlob, putManifest } from "../helpers/oci.js";
import { startProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, pushKind, revisionsOf, tagsOf } from "../helpers/tag-delete.js";

describe("tag delete under concurrency (real docker-registry 2.8)", () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdc-"));
  });
  const fx = useRegistryAndProxy(() => ({ proxy: { delete: { journalPath: join(dir, "journal.jsonl") } } }));
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every intent this proxy journaled for `repo` has an outcome. */
  function everyIntentClosed(repo: string): void {
    const records = parseJournal(readFileSync(join(dir, "journal.jsonl"), "utf8")).records.filter(
      (r) => r.intent.repository === repo,
    );
    assert.ok(records.length > 0, `intents journaled for ${repo}`);
    assert.deepEqual(
      records.filter((r) => r.outcome === null).map((r) => r.intent.tag),
      [],
      `open journal entries for ${repo}`,
    );
  }

  async function noTombstoneRevisions(repo: string): Promise<void> {
    for (const digest of revisionsOf(fx.registry.dir, repo)) {
      const m = await manifestOf(fx.registry.url, repo, digest);
      assert.ok(m && !isTombstone(m.bytes), `tombstone revision ${digest} left in ${repo}`);
    }
  }

  it("50 parallel DELETEs of distinct tags on one manifest: all 202, the manifest and an untouched tag intact", async () => {
    const repo = "cc/fifty";
    const tags = Array.from({ length: 50 }, (_, i) => `t${i}`);
    const pushed = await pushKind(fx.registry.url, repo, "docker-v2", [...tags, "keep"]);
    const revisions = revisionsOf(fx.registry.dir, repo);
    const results = await Promise.all(
      tags.map((t) => request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/${t}`)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      tags.map(() => 202),
      results.map((r) => r.text).join(" "),
    );
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["keep"]);
    assert.equal((await manifestOf(fx.registry.url, repo, "keep"))?.digest, pushed.digest);
    assert.deepEqual(revisionsOf(fx.registry.dir, repo), revisions);
    everyIntentClosed(repo);
  });

  it("the same tag DELETEd by 10 clients at once: one 202, nine 404, tag gone, no tombstone left", async () => {
    const repo = "cc/same";
    const pushed = await pushKind(fx.registry.url, repo, "oci-manifest", ["x", "keep"]);
    const revisions = revisionsOf(fx.registry.dir, repo);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request("DELETE", `${fx.proxy.url}/v2/${repo}/${i % 2 ? "tags" : "manifests"}/x`),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [202, 404, 404, 404, 404, 404, 404, 404, 404, 404]);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["keep"]);
    assert.equal(await manifestOf(fx.registry.url, repo, "x"), null);
    assert.equal((await manifestOf(fx.registry.url, repo, "keep"))?.digest, pushed.digest);
    assert.deepEqual(revisionsOf(fx.registry.dir, repo), revisions);
  });

  it("a DELETE racing a push of the same tag: the push survives or the tag is gone, never a tombstone", async () => {
    const repo = "cc/race";
    const first = await pushKind(fx.registry.url, repo, "docker-v2", ["r", "keep"]);
    const second = makeImage({ layerCount: 1, layerSize: 32, docker: true });
    for (const b of [...second.layers, second.config]) {
      await putManifest(fx.registry.url, repo, "other", first.bytes, first.mediaType); // keep the repo busy
      await pushBlob(fx.registry.url, repo, b);
    }
    // Every round answers 202; which of the two endings a round gets depends on
    // who wins the race, so the rounds go on (staggering the push) until both
    // endings were seen, and the test fails if one never is.
    const outcomes = new Map<string, number>();
    const seenBoth = () => outcomes.has("gone") && outcomes.has("pushed");
    for (let round = 0; round < 12 || (!seenBoth() && round < 120); round++) {
      await putManifest(fx.registry.url, repo, "r", first.bytes, first.mediaType);
      const [del] = await Promise.all([
        request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/r`),
        new Promise((r) => setTimeout(r, (round % 6) * 8)).then(() =>
          request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/r`, {
            headers: { "content-type": second.mediaType },
            body: second.manifest.bytes,
          }),
        ),
      ]);
      const now = await manifestOf(fx.registry.url, repo, "r");
      const listed = (await tagsOf(fx.registry.url, repo)).includes("r");
      assert.ok(now === null || !isTombstone(now.bytes), `round ${round}: tag left on a tombstone`);
      assert.equal(listed, now !== null, `round ${round}: tag dangling (listed without a manifest)`);
      assert.equal(del.status, 202, `round ${round}: ${del.text}`);
      // The delete removed the original: the tag is gone, or holds the push that came after.
      assert.ok(now === null || now.digest === second.manifest.digest, `round ${round}: ${now?.digest}`);
      const key = now === null ? "gone" : "pushed";
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    console.log(`# delete-vs-push outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok(seenBoth(), `both endings seen: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    await noTombstoneRevisions(repo);
    everyIntentClosed(repo);
    assert.equal((await manifestOf(fx.registry.url, repo, "keep"))?.digest, first.digest);
  });

  it("deletes racing pushes of other tags in the repository (notes §12) all end deleted, none dangling", async () => {
    const repo = "cc/busy";
    const tags = Array.from({ length: 20 }, (_, i) => `d${i}`);
    await pushKind(fx.registry.url, repo, "docker-v2", [...tags, "keep"]);
    const other = await pushKind(fx.registry.url, repo, "docker-v2", ["other"]);
    const pushes = Array.from({ length: 40 }, (_, i) =>
      request("PUT", `${fx.proxy.url}/v2/${repo}/manifests/p${i}`, {
        headers: { "content-type": other.mediaType },
        body: other.bytes,
      }),
    );
    const deletes = tags.map((t) => request("DELETE", `${fx.proxy.url}/v2/${repo}/tags/${t}`));
    const [putResults, delResults] = await Promise.all([Promise.all(pushes), Promise.all(deletes)]);
    assert.ok(putResults.every((r) => r.status === 201));
    assert.deepEqual(
      delResults.map((r) => r.status),
      tags.map(() => 202),
      delResults.map((r) => r.text).join(" "),
    );
    const left = await tagsOf(fx.registry.url, repo);
    assert.deepEqual(
      left.filter((t) => t.startsWith("d")),
      [],
    );
    assert.equal(left.length, 42);
    for (const t of left) assert.ok(await manifestOf(fx.registry.url, repo, t), `${t} dangling`);
    await noTombstoneRevisions(repo);
    everyIntentClosed(repo);
  });
});

describe("tag delete cost", () => {
  let registry: TestRegistry;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdm-"));
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("steady state sends exactly 3 upstream requests per delete: GET, PUT, DELETE (probes are cached)", async () => {
    const fake = await startFakeUpstream(registry.url);
    const proxy = await startProxy(fake.url, { delete: { journalPath: join(dir, "count.jsonl") } });
    try {
      await pushKind(registry.url, "cost/app", "docker-v2", ["a", "b", "c", "keep"]);
      assert.equal((await request("DELETE", `${proxy.url}/v2/cost/app/tags/a`)).status, 202);
      const first = fake.requests.map((r) => r.method);
      assert.deepEqual(first, ["DELETE", "DELETE", "GET", "PUT", "DELETE"], "two probes, then the swap");
      for (const tag of ["b", "c"]) {
        fake.clearRequests();
        assert.equal((await request("DELETE", `${proxy.url}/v2/cost/app/manifests/${tag}`)).status, 202);
        assert.deepEqual(
          fake.requests.map((r) => `${r.method} ${r.path.replace(/sha256:[a-f0-9]{64}/, "<digest>")}`),
          [
            "GET /v2/cost/app/manifests/" + tag,
            "PUT /v2/cost/app/manifests/" + tag,
            "DELETE /v2/cost/app/manifests/<digest>",
          ],
        );
      }
      // Invalid input never reaches the upstream.
      fake.clearRequests();
      assert.equal((await request("DELETE", `${proxy.url}/v2/cost/app/tags/-x`)).status, 400);
      assert.equal((await request("DELETE", `${proxy.url}/v2/COST/app/tags/x`)).status, 400);
      assert.equal(fake.requests.length, 0);
    } finally {
      await proxy.stop();
      await fake.stop();
    }
  });

  it("100 deletes of distinct tags in one repository: parallel vs sequential (figures in the output)", async () => {
    const proxy = await startProxy(registry.url, { delete: { journalPath: join(dir, "bench.jsonl") } });
    try {
      const n = 100;
      const seqTags = Array.from({ length: n }, (_, i) => `s${i}`);
      const parTags = Array.from({ length: n }, (_, i) => `p${i}`);
      await pushKind(registry.url, "bench/seq", "docker-v2", [...seqTags, "keep"]);
      await pushKind(registry.url, "bench/par", "docker-v2", [...parTags, "keep"]);
      // Warm the capability cache for both repositories' credentials (anonymous).
      await request("DELETE", `${proxy.url}/v2/bench/seq/tags/none`);

      let t0 = performance.now();
      for (const t of seqTags)
        assert.equal((await request("DELETE", `${proxy.url}/v2/bench/seq/tags/${t}`)).status, 202);
      const sequentialMs = performance.now() - t0;

      t0 = performance.now();
      const results = await Promise.all(
        parTags.map((t) => request("DELETE", `${proxy.url}/v2/bench/par/tags/${t}`)),
      );
      const parallelMs = performance.now() - t0;
      assert.ok(results.every((r) => r.status === 202));
      assert.deepEqual(await tagsOf(registry.url, "bench/seq"), ["keep"]);
      assert.deepEqual(await tagsOf(registry.url, "bench/par"), ["keep"]);
      console.log(
        `# 100 tag deletes, one repository: sequential ${sequentialMs.toFixed(0)} ms ` +
          `(${(sequentialMs / n).toFixed(1)} ms each), parallel ${parallelMs.toFixed(0)} ms ` +
          `(${(sequentialMs / parallelMs).toFixed(1)}x faster)`,
      );
    } finally {
      await proxy.stop();
    }
  });
});
