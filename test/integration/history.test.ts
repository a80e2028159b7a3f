/**
 * The tag history in front of a real docker-registry 2.8: every tag change through
 * the proxy is recorded (push, overwrite, tag delete, delete by digest, prune),
 * `history` shows it and `undelete` puts tags back; bad input changes nothing;
 * pulls and manifest GETs never touch it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cli, entries, shape } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { pullByDigest, runPruneForTest } from "../helpers/prune-run.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, tagsOf } from "../helpers/tag-delete.js";
import { ACCESS_LOG, forwardedDuring } from "../helpers/upstream-watch.js";

const MiB = 1024 * 1024;
const small = () => makeImage({ layerCount: 1, layerSize: 256 });

describe("tag history through the proxy, in front of a real docker-registry 2.8", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let admin: string;
  const adminArgs = () => ["--admin", admin];

  before(async () => {
    registry = await startRegistry({ extra: ACCESS_LOG });
    proxy = await startProxy(registry.url, { metrics: { port: 0 } });
    admin = proxy.proxy.metricsUrl()!;
  });
  after(async () => {
    await proxy.stop();
    await registry.stop();
  });

  it("PUT over a tag, then undelete --to its old digest: the overwrite is undone, byte for byte", async () => {
    const repo = "hist/over";
    const a = small();
    const b = small();
    await pushImage(proxy.url, repo, a, ["stable"]);
    await pushImage(proxy.url, repo, b, ["stable"]);
    assert.deepEqual(shape(await entries(admin, repo, "stable")), [
      {
        type: "TagMoved",
        repository: repo,
        tag: "stable",
        from: a.manifest.digest,
        to: b.manifest.digest,
        mediaType: b.mediaType,
        user: null,
        via: "client",
      },
      {
        type: "TagMoved",
        repository: repo,
        tag: "stable",
        from: null,
        to: a.manifest.digest,
        mediaType: a.mediaType,
        user: null,
        via: "client",
      },
    ]);

    const exists = await cli(["undelete", `${repo}:stable`, ...adminArgs()]);
    assert.equal(exists.code, 4, exists.err);
    assert.match(exists.err, /exists now .*--to/);
    assert.equal((await manifestOf(registry.url, repo, "stable"))?.digest, b.manifest.digest, "unchanged");

    const undo = await cli(["undelete", `${repo}:stable`, "--to", a.manifest.digest, ...adminArgs()]);
    assert.equal(undo.code, 0, undo.err);
    assert.match(
      undo.out,
      new RegExp(`now points at ${a.manifest.digest} \\(it pointed at ${b.manifest.digest}\\)`),
    );
    const now = await manifestOf(registry.url, repo, "stable");
    assert.equal(now?.digest, a.manifest.digest);
    assert.ok(now?.bytes.equals(a.manifest.bytes), "the original bytes");
    const [newest] = await entries(admin, repo, "stable");
    assert.equal(newest?.type, "TagMoved");
    assert.equal(newest?.via, "undelete");

    const again = await cli(["undelete", `${repo}:stable`, "--to", a.manifest.digest, ...adminArgs()]);
    assert.equal(again.code, 0);
    assert.match(again.out, /already points at/);
  });

  it("DELETE a tag, then undelete: it is back on its digest and pulls whole; its sibling never moved", async () => {
    const repo = "hist/tagdel";
    const image = makeImage({ layerCount: 2, layerSize: MiB });
    await pushImage(proxy.url, repo, image, ["old", "latest"]);
    assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/tags/old`)).status, 202);
    assert.deepEqual(await tagsOf(registry.url, repo), ["latest"]);
    const [deleted] = await entries(admin, repo, "old");
    assert.equal(deleted?.type, "TagDeleted");
    assert.equal((deleted as { digest: string }).digest, image.manifest.digest);

    const run = await cli(["undelete", `${repo}:old`, ...adminArgs()]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(await tagsOf(registry.url, repo), ["latest", "old"]);
    assert.equal((await manifestOf(registry.url, repo, "old"))?.digest, image.manifest.digest);
    await pullByDigest(proxy.url, repo, image.manifest.digest);

    const twice = await cli(["undelete", `${repo}:old`, ...adminArgs()]);
    assert.equal(twice.code, 4, "the tag exists now");
  });

  it("DELETE by digest, then undelete each tag it took: every one is back", async () => {
    const repo = "hist/bydigest";
    const image = small();
    const other = small();
    await pushImage(proxy.url, repo, image, ["a", "b", "c"]);
    await pushImage(proxy.url, repo, other, ["keep"]);
    const del = await request("DELETE", `${proxy.url}/v2/${repo}/manifests/${image.manifest.digest}`);
    assert.equal(del.status, 202);
    assert.deepEqual(await tagsOf(registry.url, repo), ["keep"]);
    const [lost] = await entries(admin, repo);
    assert.deepEqual(
      {
        type: lost?.type,
        tags: (lost as { tags: string[] }).tags,
        tagsKnown: (lost as { tagsKnown: boolean }).tagsKnown,
      },
      { type: "ManifestDeleted", tags: ["a", "b", "c"], tagsKnown: true },
    );
    for (const tag of ["a", "b", "c"]) {
      const run = await cli(["undelete", `${repo}:${tag}`, ...adminArgs()]);
      assert.equal(run.code, 0, `${tag}: ${run.err}`);
    }
    assert.deepEqual(await tagsOf(registry.url, repo), ["a", "b", "c", "keep"]);
    for (const tag of ["a", "b", "c"]) {
      assert.equal((await manifestOf(registry.url, repo, tag))?.digest, image.manifest.digest, tag);
    }
    await pullByDigest(proxy.url, repo, image.manifest.digest);
  });

  it("with delete.digestDeletes: protect, a DELETE by digest records the one tag the guard let go", async () => {
    const guarded = await startProxy(registry.url, {
      metrics: { port: 0 },
      delete: { digestDeletes: "protect" },
    });
    try {
      const repo = "hist/guarded";
      const image = small();
      await pushImage(guarded.url, repo, image, ["only"]);
      const del = await request("DELETE", `${guarded.url}/v2/${repo}/manifests/${image.manifest.digest}`);
      assert.equal(del.status, 202);
      const [lost] = await entries(guarded.proxy.metricsUrl()!, repo, "only");
      assert.deepEqual([lost?.type, (lost as { tags?: string[] }).tags], ["ManifestDeleted", ["only"]]);
      const run = await cli(["undelete", `${repo}:only`, "--admin", guarded.proxy.metricsUrl()!]);
      assert.equal(run.code, 0, run.err);
      assert.equal((await manifestOf(registry.url, repo, "only"))?.digest, image.manifest.digest);
    } finally {
      await guarded.stop();
    }
  });

  it("prune's single-tag deletes are recorded as prune's, and undelete brings one back", async () => {
    const repo = "hist/prune";
    await pushImage(
      proxy.url,
      repo,
      makeImage({ layerCount: 1, layerSize: 64, created: "2024-01-01T00:00:00Z" }),
      ["v1"],
    );
    await pushImage(
      proxy.url,
      repo,
      makeImage({ layerCount: 1, layerSize: 64, created: "2025-01-01T00:00:00Z" }),
      ["v2"],
    );
    const run = await runPruneForTest(proxy.url, { repos: [repo], keep: "1", apply: true });
    assert.equal(run.run.exitCode, 0, run.stderr);
    assert.deepEqual(await tagsOf(registry.url, repo), ["v2"]);
    const [pruned] = await entries(admin, repo, "v1");
    assert.deepEqual([pruned?.type, pruned?.via], ["TagDeleted", "prune"]);
    assert.equal((await cli(["undelete", `${repo}:v1`, ...adminArgs()])).code, 0);
    assert.deepEqual(await tagsOf(registry.url, repo), ["v1", "v2"]);
  });

  it("history REPO:TAG prints a table newest first, --json the entries; history REPO the repository's changes", async () => {
    const repo = "hist/show";
    const a = small();
    const b = small();
    await pushImage(proxy.url, repo, a, ["t"]);
    await pushImage(proxy.url, repo, b, ["t"]);
    assert.equal((await request("DELETE", `${proxy.url}/v2/${repo}/manifests/t`)).status, 202);

    const table = await cli(["history", `${repo}:t`, ...adminArgs()]);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trim().split("\n");
    assert.match(lines[0]!, /^hist\/show:t: 3 entries, newest first \(window 7 days\)$/);
    assert.match(lines[1]!, /WHEN\s+CHANGE\s+DIGEST\s+WHO\s+VIA\s+NOTE/);
    assert.match(lines[2]!, new RegExp(`deleted\\s+${b.manifest.digest}\\s+-\\s+client`));
    assert.match(
      lines[3]!,
      new RegExp(`moved\\s+${b.manifest.digest}\\s+-\\s+client\\s+from ${a.manifest.digest.slice(0, 19)}`),
    );
    assert.match(lines[4]!, new RegExp(`created\\s+${a.manifest.digest}`));

    const json = await cli(["history", `${repo}:t`, "--json", ...adminArgs()]);
    const doc = JSON.parse(json.out) as {
      repository: string;
      tag: string;
      windowMs: number;
      entries: unknown[];
    };
    assert.deepEqual(
      [doc.repository, doc.tag, doc.windowMs, doc.entries.length],
      [repo, "t", 604_800_000, 3],
    );

    const whole = await cli(["history", repo, ...adminArgs()]);
    assert.equal(whole.code, 0);
    assert.match(whole.out, /^hist\/show: 3 entries/);
    const limited = await cli(["history", repo, "--limit", "1", "--json", ...adminArgs()]);
    assert.equal((JSON.parse(limited.out) as { entries: unknown[] }).entries.length, 1);
  });

  it("bad input gets a clear error and changes nothing upstream", async () => {
    const repo = "hist/bad";
    const image = small();
    await pushImage(proxy.url, repo, image, ["v1"]);
    const before = await manifestOf(registry.url, repo, "v1");
    const cases: Array<[string[], number, RegExp]> = [
      [["undelete", "nosuch/repo:v1"], 3, /no history for this repository/],
      [["undelete", `${repo}:Bad!tag`], 2, /invalid tag/],
      [["undelete", "Bad/Repo:v1"], 2, /invalid repository name/],
      [["undelete", `${repo}`], 2, /name the tag/],
      [["undelete", `${repo}:v1`, "--to", "sha256:zz"], 2, /invalid digest/],
      [["undelete", `${repo}:v1`, "--to", `sha256:${"f".repeat(64)}`], 3, /is not in the history of v1/],
      [["undelete", `${repo}:never`], 3, /no digest for never/],
      [["history", "nosuch/repo"], 3, /no history for nosuch\/repo/],
      [["history", `${repo}:-x`], 2, /invalid tag/],
    ];
    const forwarded = await forwardedDuring(registry, proxy.url, async () => {
      for (const [args, code, message] of cases) {
        const run = await cli([...args, ...adminArgs()]);
        assert.equal(run.code, code, `${args.join(" ")}: ${run.err}`);
        assert.match(run.err, message, args.join(" "));
      }
    });
    assert.deepEqual(
      forwarded.filter((l) => !l.startsWith("HEAD ") && !l.startsWith("GET ")),
      [],
      "no write reached the registry",
    );
    assert.deepEqual(await manifestOf(registry.url, repo, "v1"), before);
    assert.deepEqual(await tagsOf(registry.url, repo), ["v1"]);
  });

  it("pulls and manifest GETs never touch the history: only the client's own request reaches the registry", async () => {
    const repo = "hist/pull";
    const image = small();
    await pushImage(proxy.url, repo, image, ["v1"]);
    const reads: Array<[string, string]> = [
      ["GET", `/v2/${repo}/manifests/v1`],
      ["HEAD", `/v2/${repo}/manifests/v1`],
      ["GET", `/v2/${repo}/manifests/${image.manifest.digest}`],
      ["GET", `/v2/${repo}/blobs/${image.layers[0]!.digest}`],
    ];
    for (const [method, path] of reads) {
      const seen = await forwardedDuring(registry, proxy.url, async () => {
        const res = await request(method, `${proxy.url}${path}`, { headers: { accept: ALL_MANIFEST_TYPES } });
        assert.equal(res.status, 200, `${method} ${path}`);
      });
      assert.deepEqual(seen, [`${method} ${path}`]);
    }
  });
});
