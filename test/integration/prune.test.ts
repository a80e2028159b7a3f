import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { type Image, makeImage, makeIndex, pushImage, putManifest } from "../helpers/oci.js";
import { digestOf, pullByDigest, runPruneForTest, tagsOf } from "../helpers/prune-run.js";

const DAY = 24 * 3600_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();
const day = (n: number) => `2024-01-${String(n).padStart(2, "0")}T12:00:00Z`;

/** Pushes `image` untagged (by digest), for index children. */
async function pushUntagged(base: string, repo: string, image: Image): Promise<void> {
  await pushImage(base, repo, image, []);
  await putManifest(base, repo, image.manifest.digest, image.manifest.bytes, image.mediaType);
}

/**
 * 12 tags on 8 images (created on Jan 1st..8th), newest first with their rank:
 *   day 8: latest (1), v8 (2)        day 7: v7 (3), an index whose children date from days 7 and 3
 *   day 6: v6 (4)                    day 5: candidate-5 (5), v5 (6)   <- one manifest across the cut
 *   day 4: v4 (7)   day 3: v3 (8)    day 2: beta-2 (9), v2 (10)       day 1: old (11), v1 (12)
 */
async function seedTwelve(base: string, repo: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const tagsByDay: Record<number, string[]> = {
    1: ["old", "v1"],
    2: ["beta-2", "v2"],
    3: ["v3"],
    4: ["v4"],
    5: ["candidate-5", "v5"],
    6: ["v6"],
    8: ["latest", "v8"],
  };
  for (const [d, tags] of Object.entries(tagsByDay)) {
    const image = makeImage({
      created: day(Number(d)),
      docker: Number(d) % 2 === 0,
      layerCount: 1,
      layerSize: 64,
    });
    const digest = await pushImage(base, repo, image, tags);
    for (const t of tags) digests[t] = digest;
  }
  const amd = makeImage({ created: day(7), layerCount: 1, layerSize: 64 });
  const arm = makeImage({ created: day(3), layerCount: 1, layerSize: 64 });
  await pushUntagged(base, repo, amd);
  await pushUntagged(base, repo, arm);
  const index = makeIndex([amd, arm]);
  digests["v7"] = await putManifest(base, repo, "v7", index.bytes, index.mediaType);
  return digests;
}

const NEWEST_5 = ["candidate-5", "latest", "v6", "v7", "v8"];
const OLDEST_7 = ["beta-2", "old", "v1", "v2", "v3", "v4", "v5"];

function selected(lines: Array<Record<string, unknown>>): string[] {
  return lines
    .filter((l) => l["type"] === "tag" && l["action"] === "delete")
    .map((l) => l["tag"] as string)
    .sort();
}

describe("prune through the proxy in front of a real docker-registry 2.8", () => {
  let twelve: Record<string, string>;

  const fx = useRegistryAndProxy({ proxy: { log: { level: "warn" } } });
  before(async () => {
    twelve = await seedTwelve(fx.proxy.url, "prune/twelve");
  });

  it("--keep 5 dry run lists exactly the 7 oldest tags and deletes nothing", async () => {
    const before = await tagsOf(fx.proxy.url, "prune/twelve");
    assert.equal(before.length, 12);
    const r = await runPruneForTest(fx.proxy.url, { repos: ["prune/twelve"], keep: "5" });
    assert.deepEqual(selected(r.lines), OLDEST_7);
    const kept = r.lines.filter((l) => l["type"] === "tag" && l["action"] === "keep").map((l) => l["tag"]);
    assert.deepEqual([...kept].sort(), NEWEST_5);
    const v7 = r.lines.find((l) => l["tag"] === "v7")!;
    assert.equal(v7["created"], "2024-01-07T12:00:00.000Z", "an index is as new as its newest child");
    assert.equal(r.run.exitCode, 0);
    assert.deepEqual(r.lines.at(-1)?.["selected"], 7);
    assert.equal(r.run.outcomes.length, 0);
    assert.deepEqual(await tagsOf(fx.proxy.url, "prune/twelve"), before);
  });

  it("--keep 5 --apply deletes the 7 oldest; the 5 newest and every manifest they use still pull", async () => {
    const r = await runPruneForTest(fx.proxy.url, { repos: ["prune/twelve"], keep: "5", apply: true });
    const results = r.lines.filter((l) => l["type"] === "result");
    assert.deepEqual(
      results.map((l) => `${l["tag"]}=${l["result"]}`).sort(),
      OLDEST_7.map((t) => `${t}=deleted`),
    );
    assert.equal(r.run.exitCode, 0, r.text);
    assert.deepEqual(await tagsOf(fx.proxy.url, "prune/twelve"), NEWEST_5);
    for (const t of NEWEST_5) {
      assert.equal(
        await digestOf(fx.proxy.url, "prune/twelve", t),
        twelve[t],
        `${t} still points where it did`,
      );
      await pullByDigest(fx.proxy.url, "prune/twelve", twelve[t]!);
    }
    // v5 shared candidate-5's manifest: its deletion removed the tag only
    assert.equal(twelve["v5"], twelve["candidate-5"]);
  });

  it("--match and --exclude: only matching, non-excluded tags are deleted", async () => {
    const repo = "prune/patterns";
    for (const [i, tags] of [["pr-1"], ["pr-2", "v1"], ["pr-3"], ["pr-4"], ["v2", "latest"]].entries()) {
      await pushImage(
        fx.proxy.url,
        repo,
        makeImage({ created: day(i + 1), layerCount: 1, layerSize: 32 }),
        tags,
      );
    }
    const dry = await runPruneForTest(fx.proxy.url, { repos: [repo], match: ["/^v\\d$/"], exclude: ["v2"] });
    assert.deepEqual(selected(dry.lines), ["v1"]);

    const r = await runPruneForTest(fx.proxy.url, {
      repos: [repo],
      match: ["pr-*"],
      exclude: ["pr-4"],
      apply: true,
    });
    assert.deepEqual(selected(r.lines), ["pr-1", "pr-2", "pr-3"]);
    assert.equal(r.run.summary.deleted, 3);
    assert.deepEqual(await tagsOf(fx.proxy.url, repo), ["latest", "pr-4", "v1", "v2"]);
    const pr4 = r.lines.find((l) => l["tag"] === "pr-4")!;
    assert.equal(pr4["reason"], "excluded by pr-4");
  });

  it("--older-than 30d deletes only tags whose image is older than 30 days", async () => {
    const repo = "prune/age";
    for (const [n, tag] of [
      [100, "ancient"],
      [45, "old"],
      [20, "recent"],
      [1, "fresh"],
    ] as const) {
      await pushImage(fx.proxy.url, repo, makeImage({ created: daysAgo(n), layerCount: 1, layerSize: 32 }), [
        tag,
      ]);
    }
    const r = await runPruneForTest(fx.proxy.url, { repos: [repo], olderThan: "30d", apply: true });
    assert.deepEqual(selected(r.lines), ["ancient", "old"]);
    assert.deepEqual(await tagsOf(fx.proxy.url, repo), ["fresh", "recent"]);
    const recent = r.lines.find((l) => l["tag"] === "recent")!;
    assert.match(recent["reason"] as string, /^created 20d( \d+h)? ago, not older than 30d$/);
  });

  it("a tag re-pushed to another image between selection and deletion is skipped, not deleted", async () => {
    const repo = "prune/moved";
    for (const [i, tag] of ["a", "b", "c", "d"].entries()) {
      await pushImage(fx.proxy.url, repo, makeImage({ created: day(i + 1), layerCount: 1, layerSize: 32 }), [
        tag,
      ]);
    }
    const replacement = makeImage({ created: day(20), layerCount: 1, layerSize: 32 });
    // The tag moves just before prune re-checks it: the registry client's second HEAD of b.
    let headsOfB = 0;
    const r = await runPruneForTest(
      fx.proxy.url,
      { repos: [repo], keep: "1", apply: true },
      {
        wrap: (calls) => ({
          ...calls,
          async manifestHead(name, reference, o) {
            if (reference === "b" && ++headsOfB === 2)
              await pushImage(fx.proxy.url, repo, replacement, ["b"]);
            return calls.manifestHead(name, reference, o);
          },
        }),
      },
    );
    assert.equal(headsOfB, 2, "b was inspected, selected and re-checked");
    const b = r.run.outcomes.find((o) => o.tag === "b")!;
    assert.equal(b.result, "skipped");
    assert.equal(b.reason, "tag moved since selection");
    assert.equal(await digestOf(fx.proxy.url, repo, "b"), replacement.manifest.digest);
    assert.deepEqual(await tagsOf(fx.proxy.url, repo), ["b", "d"]);
    assert.equal(r.run.summary.skipped, 1);
    assert.equal(r.run.summary.deleted, 2);
    assert.equal(r.run.exitCode, 0, "a skip is not a failure");
  });

  it("repository globs read the whole catalog, following its Link pages", async () => {
    for (const name of ["cat/a", "cat/b", "cat/c", "cat/d/e", "other/x"]) {
      await pushImage(fx.proxy.url, name, makeImage({ created: day(1), layerCount: 1, layerSize: 16 }), [
        "t",
      ]);
    }
    const r = await runPruneForTest(fx.proxy.url, { repos: ["cat/*"], keep: "0", catalogPageSize: 2 });
    const repos = [...new Set(r.lines.filter((l) => l["type"] === "tag").map((l) => l["repository"]))].sort();
    assert.deepEqual(repos, ["cat/a", "cat/b", "cat/c"]);
    const all = await runPruneForTest(fx.proxy.url, { repos: ["cat/**"], keep: "0", catalogPageSize: 2 });
    assert.equal(all.run.summary.repositories, 4);
  });
});

describe("prune against a registry with deletes disabled", () => {
  const fx = useRegistryAndProxy({ registry: { deleteEnabled: false }, proxy: { log: { level: "warn" } } });

  it("--apply reports every selected tag failed with 405 UNSUPPORTED and deletes nothing (exit 1)", async () => {
    const repo = "prune/nodelete";
    for (const [i, tags] of [["a", "a2"], ["b"], ["c"]].entries()) {
      await pushImage(
        fx.proxy.url,
        repo,
        makeImage({ created: day(i + 1), layerCount: 1, layerSize: 32 }),
        tags,
      );
    }
    const r = await runPruneForTest(fx.proxy.url, { repos: [repo], keep: "1", apply: true, json: false });
    assert.equal(r.run.summary.selected, 3);
    assert.equal(r.run.summary.failed, 3);
    assert.equal(r.run.summary.deleted, 0);
    for (const o of r.run.outcomes) {
      assert.equal(o.result, "failed");
      assert.match(o.reason, /^405 UNSUPPORTED: .*\(deletes are disabled on the registry\)$/);
    }
    assert.equal(r.run.exitCode, 1);
    assert.match(r.text, /summary: 1 repository, 4 tags: 1 kept, 0 deleted, 0 skipped, 3 failed/);
    assert.match(r.text, /failed 3: 3 405 UNSUPPORTED/);
    assert.deepEqual(await tagsOf(fx.proxy.url, repo), ["a", "a2", "b", "c"]);
  });
});
