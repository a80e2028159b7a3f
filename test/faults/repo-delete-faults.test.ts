/**
 * A repository delete that a failing tag stops part way, against a real
 * docker-registry 2.8.2 behind a scripted fault injector: the answer is the
 * failing tag's OCI error, naming the tags deleted and those that remain; the
 * registry holds exactly the remaining tags (the failed one restored by its swap);
 * the journal closed the failed swap as rolled back; the history holds only the
 * deleted tags; the same DELETE again finishes the job.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseJournal } from "../../src/tags/journal.js";
import { FAULTS, startFakeUpstream } from "../helpers/fake-upstream.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { entries } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { MT } from "../helpers/oci.js";
import { errorCode, tagsOf } from "../helpers/tag-delete.js";
import { seed } from "../helpers/tags.js";

interface Detail {
  name: string;
  deleted: string[];
  remaining: string[];
  failed: Array<{ tag: string; code: string; detail: Record<string, unknown> }>;
}

describe("repository delete stopped by a failing tag", () => {
  let dir: string;
  let journalPath: string;
  const fx = useRegistryAndProxy(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-rdf-"));
    journalPath = join(dir, "journal.jsonl");
    return {
      front: (r) => startFakeUpstream(r.url),
      proxy: { metrics: { port: 0 }, delete: { journalPath, maxRetries: 1 } },
    };
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the tombstone PUT of tag d fails: 502 naming deleted and remaining tags; d restored; DELETE again: 202", async () => {
    const repo = "f/repo";
    const tags = ["a", "b", "c", "d", "e", "f", "g", "h"];
    await seed(fx.registry.url, repo, tags);
    // The tombstone is an OCI index too (as the seeded tags): tell it by its tag.
    fx.front.addRule({
      method: "PUT",
      path: /\/v2\/f\/repo\/manifests\/d$/,
      when: (req) => req.headers["content-type"] === MT.ociIndex,
      action: FAULTS.status500,
    });
    const res = await request("DELETE", `${fx.proxy.url}/v2/${repo}`);
    assert.equal(res.status, 502, res.text);
    assert.equal(errorCode(res), "UNAVAILABLE");
    const e = res.json<{ errors: Array<{ message: string; detail: Detail }> }>().errors[0]!;
    assert.match(e.message, /^repository delete stopped at tag d \(/);
    const d = e.detail;
    assert.equal(d.name, repo);
    assert.deepEqual([...d.deleted, ...d.remaining].sort(), tags, "every tag is deleted or remaining");
    assert.ok(d.remaining.includes("d"));
    assert.deepEqual(
      d.failed.map((f) => f.tag),
      ["d"],
    );
    assert.match(
      e.message,
      new RegExp(`${d.deleted.length} of 8 tags were deleted, ${d.remaining.length} remain`),
    );
    assert.deepEqual(
      await tagsOf(fx.registry.url, repo),
      d.remaining,
      "the registry holds exactly the remaining tags",
    );
    const journal = parseJournal(readFileSync(journalPath, "utf8")).records.filter(
      (r) => r.intent.repository === repo && r.intent.tag === "d",
    );
    assert.ok(journal.length > 0 && journal.every((r) => r.outcome !== null), "d's swap is closed");
    const admin = fx.proxy.proxy.metricsUrl()!;
    const deletedInHistory = (await entries(admin, repo))
      .filter((x) => x.type === "TagDeleted")
      .map((x) => ("tag" in x ? x.tag : ""))
      .sort();
    assert.deepEqual(deletedInHistory, d.deleted);

    fx.front.clearRules();
    const again = await request("DELETE", `${fx.proxy.url}/v2/${repo}`);
    assert.equal(again.status, 202, again.text);
    assert.deepEqual(again.json<{ deleted: string[] }>().deleted, d.remaining);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), []);
  });
});
