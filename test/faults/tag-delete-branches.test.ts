/**
 * The tag swap's rarer branches (src/tags/swap.ts, settle.ts), against a real
 * docker-registry 2.8 with a scripted fault point in front of it where the
 * registry cannot fail on demand. After every case: the tag is absent or on a
 * real manifest (never on a tombstone), every journal intent has an outcome
 * (or is left open on purpose and then completed by recovery), and the
 * client's answer says what happened.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { type JournalRecord, parseJournal } from "../../src/tags/journal.js";
import { buildTombstone, isTombstone } from "../../src/tags/tombstone.js";
import {
  FAULTS,
  type FakeUpstream,
  startFakeUpstream,
  swapRequests,
  TOMBSTONE_DELETE_PATH,
} from "../helpers/fake-upstream.js";
import { type Res, request } from "../helpers/http.js";
import { makeImage, pushImage, putManifest } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";

interface ErrorBody {
  errors: Array<{ code: string; message: string; detail: Record<string, unknown> }>;
}
const errorOf = (res: Res) => res.json<ErrorBody>().errors[0]!;

function journalOf(proxy: TestProxy): JournalRecord[] {
  try {
    return parseJournal(readFileSync(proxy.config.delete.journalPath, "utf8")).records;
  } catch {
    return [];
  }
}

const isTombstoneDelete = (r: { method: string; path: string }) =>
  r.method === "DELETE" && TOMBSTONE_DELETE_PATH.test(r.path);

describe("tag swap branches (real docker-registry 2.8, scripted fault point)", () => {
  let registry: TestRegistry | undefined;
  let fake: FakeUpstream | undefined;
  let dir: string | undefined;
  const proxies: TestProxy[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdb-"));
    registry = await startRegistry();
    fake = await startFakeUpstream(registry.url);
  });
  afterEach(async () => {
    fake?.clearRules();
    fake?.clearRequests();
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });
  after(async () => {
    await fake?.stop();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh proxy (own journal) in front of the fault point, stopped after the test. */
  async function proxyOn(upstream: string, del: Record<string, unknown> = {}): Promise<TestProxy> {
    const p = await startProxy(upstream, { delete: { maxRetries: 2, ...del } });
    proxies.push(p);
    return p;
  }

  /** The tag is absent or on `digest`, and never on a tombstone. */
  async function assertTagOn(repo: string, tag: string, digest: string | null) {
    const now = await manifestOf(registry!.url, repo, tag);
    assert.ok(now === null || !isTombstone(now.bytes), `${repo}:${tag} is on a tombstone`);
    assert.equal(now?.digest ?? null, digest);
  }

  it("the journal cannot be written: 500 naming the journal, nothing written upstream, the tag untouched", async () => {
    const repo = "b/journal-fails";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const notAFile = join(dir!, "journal-is-a-directory");
    mkdirSync(notAFile);
    const proxy = await proxyOn(fake!.url, { journalPath: notAFile });
    const res = await request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`);
    assert.equal(res.status, 500, res.text);
    const e = errorOf(res);
    assert.equal(e.code, "UNKNOWN");
    assert.match(e.message, /journal cannot be written; nothing was changed/);
    assert.equal(e.detail["step"], "journal-intent");
    assert.equal(e.detail["restored"], true);
    const writes = swapRequests(fake!.requests).filter((r) => r.method === "PUT" || r.method === "DELETE");
    assert.deepEqual(writes, [], "no PUT or DELETE reached the registry");
    await assertTagOn(repo, "victim", pushed.digest);
    assert.deepEqual(await tagsOf(registry!.url, repo), ["sibling", "victim"]);
  });

  it("a tombstone already on the tag (another replica's swap, or a crash): the delete finishes it, 202", async () => {
    const repo = "b/finish";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const foreign = buildTombstone("victim");
    await putManifest(registry!.url, repo, "victim", foreign.bytes, foreign.mediaType);
    const proxy = await proxyOn(fake!.url);
    const res = await request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`);
    assert.equal(res.status, 202, res.text);
    await assertTagOn(repo, "victim", null);
    await assertTagOn(repo, "sibling", pushed.digest);
    assert.equal(await manifestOf(registry!.url, repo, foreign.digest), null, "the tombstone itself is gone");
    assert.deepEqual(
      swapRequests(fake!.requests).filter((r) => r.method === "PUT"),
      [],
      "finishing puts nothing",
    );
    const [rec] = journalOf(proxy);
    assert.equal(rec?.intent.originalDigest, null, "no original to put back is recorded");
    assert.equal(rec?.intent.tombstoneDigest, foreign.digest);
    assert.equal(rec?.outcome?.outcome, "deleted");
  });

  it("a tombstone already on the tag whose DELETE keeps failing: 500 restored:false, the entry stays open, recovery finishes it", async () => {
    const repo = "b/finish-fails";
    await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const foreign = buildTombstone("victim");
    await putManifest(registry!.url, repo, "victim", foreign.bytes, foreign.mediaType);
    const proxy = await proxyOn(fake!.url);
    fake!.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: FAULTS.status500 });
    const res = await request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`);
    assert.equal(res.status, 500, res.text);
    const e = errorOf(res);
    assert.equal(e.code, "UNKNOWN");
    assert.equal(e.detail["step"], "delete-tombstone");
    assert.equal(e.detail["restored"], false);
    assert.match(e.message, /could NOT be restored/);
    assert.ok(proxy.logs().some((l) => l.includes("tag left on a tombstone")));
    const [open] = journalOf(proxy);
    assert.equal(open?.outcome, null, "the journal keeps the entry open for recovery");

    fake!.clearRules();
    const report = await proxy.proxy.deps.tagDeleter.recover();
    assert.deepEqual(report, { completed: 1, closed: 0, unfinished: [], skipped: 0 });
    await assertTagOn(repo, "victim", null);
    assert.equal(journalOf(proxy)[0]?.outcome?.outcome, "deleted");
  });

  it("pushed meanwhile while the tombstone DELETE's outcome is unknown (settle): the push stays, 202, journaled superseded", async () => {
    const repo = "b/pushed-retry";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const newer = makeImage({ layerCount: 1, layerSize: 32 });
    fake!.addRule({
      method: "DELETE",
      path: TOMBSTONE_DELETE_PATH,
      times: 1,
      action: { until: () => pushImage(registry!.url, repo, newer, ["victim"]), answer: FAULTS.status500 },
    });
    const proxy = await proxyOn(fake!.url);
    const res = await request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`);
    assert.equal(res.status, 202, res.text);
    await assertTagOn(repo, "victim", newer.manifest.digest);
    await assertTagOn(repo, "sibling", pushed.digest);
    const [rec] = journalOf(proxy);
    assert.equal(rec?.outcome?.outcome, "superseded");
    assert.equal(
      await manifestOf(registry!.url, repo, rec!.intent.tombstoneDigest),
      null,
      "tombstone removed",
    );
  });

  it("pushed meanwhile and the tombstone DELETE keeps failing: the undo leaves the push alone, 502 with supersededByPush", async () => {
    const repo = "b/pushed-undo";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    const newer = makeImage({ layerCount: 1, layerSize: 32 });
    fake!.addRule({
      method: "DELETE",
      path: TOMBSTONE_DELETE_PATH,
      times: 1,
      action: { until: () => pushImage(registry!.url, repo, newer, ["victim"]), answer: FAULTS.status500 },
    });
    const proxy = await proxyOn(fake!.url, { maxRetries: 0 });
    const res = await request("DELETE", `${proxy.url}/v2/${repo}/tags/victim`);
    assert.equal(res.status, 502, res.text);
    const e = errorOf(res);
    assert.equal(e.code, "UNAVAILABLE");
    assert.equal(e.detail["step"], "delete-tombstone");
    assert.equal(e.detail["supersededByPush"], true);
    assert.equal(e.detail["restored"], false);
    assert.equal(e.detail["originalDigest"], pushed.digest);
    assert.match(e.message, /pushed again and was left as pushed/);
    await assertTagOn(repo, "victim", newer.manifest.digest);
    assert.equal(journalOf(proxy)[0]?.outcome?.outcome, "superseded");
  });

  it("two proxies on one registry: B finishes A's tombstone while A's DELETE is held; both answer 202, the tag ends gone", async () => {
    const repo = "b/two-proxies";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim", "sibling"]);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    fake!.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, times: 1, action: { until: () => gate } });
    const a = await proxyOn(fake!.url);
    const b = await proxyOn(registry!.url);
    const first = request("DELETE", `${a.url}/v2/${repo}/tags/victim`);
    try {
      await fake!.waitFor(isTombstoneDelete);
      const onTag = await manifestOf(registry!.url, repo, "victim");
      assert.ok(onTag && isTombstone(onTag.bytes), "A's tombstone is on the tag");
      const second = await request("DELETE", `${b.url}/v2/${repo}/tags/victim`);
      assert.equal(second.status, 202, second.text);
      await assertTagOn(repo, "victim", null);
    } finally {
      release();
    }
    const res = await first;
    assert.equal(res.status, 202, res.text);
    await assertTagOn(repo, "victim", null);
    await assertTagOn(repo, "sibling", pushed.digest);
    assert.deepEqual(await tagsOf(registry!.url, repo), ["sibling"]);
    const [ra] = journalOf(a);
    const [rb] = journalOf(b);
    assert.equal(ra?.intent.originalDigest, pushed.digest);
    assert.equal(ra?.outcome?.outcome, "deleted");
    assert.equal(rb?.intent.originalDigest, null, "B found a tombstone: nothing of its own to put back");
    assert.equal(rb?.intent.tombstoneDigest, ra?.intent.tombstoneDigest);
    assert.equal(rb?.outcome?.outcome, "deleted");
  });

  it("two proxies deleting 30 tags of one repository at once: all 202, none dangling, every intent closed", async () => {
    const repo = "b/two-proxies-many";
    const tags = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const pushed = await pushKind(registry!.url, repo, "docker-v2", [...tags, "keep"]);
    const a = await proxyOn(registry!.url);
    const b = await proxyOn(registry!.url);
    const answers = await Promise.all(
      tags.map((t, i) => request("DELETE", `${(i % 2 ? a : b).url}/v2/${repo}/tags/${t}`)),
    );
    assert.deepEqual(
      answers.map((r) => r.status),
      tags.map(() => 202),
      answers.map((r) => r.text).join("\n"),
    );
    assert.deepEqual(await tagsOf(registry!.url, repo), ["keep"]);
    await assertTagOn(repo, "keep", pushed.digest);
    for (const t of tags) await assertTagOn(repo, t, null);
    const records = [...journalOf(a), ...journalOf(b)];
    assert.equal(records.length, tags.length);
    assert.deepEqual(
      records.filter((r) => r.outcome?.outcome !== "deleted").map((r) => r.intent.tag),
      [],
      "every intent has the outcome deleted",
    );
  });

  it("recovery skips entries recorded against another upstream and says so", async () => {
    const repo = "b/other-upstream";
    const pushed = await pushKind(registry!.url, repo, "docker-v2", ["victim"]);
    const proxy = await proxyOn(registry!.url);
    // An open entry of a proxy serving another registry, for a tag this registry also has.
    const tombstone = buildTombstone("victim");
    const other = JSON.stringify({
      type: "intent",
      id: "other-upstream-entry",
      time: new Date().toISOString(),
      upstream: "http://127.0.0.1:9",
      repository: repo,
      tag: "victim",
      originalDigest: pushed.digest,
      mediaType: pushed.mediaType,
      tombstoneDigest: tombstone.digest,
      tombstoneBytes: tombstone.bytes.toString("base64"),
    });
    appendFileSync(proxy.config.delete.journalPath, `${other}\n`);
    const report = await proxy.proxy.deps.tagDeleter.recover();
    assert.deepEqual(report, { completed: 0, closed: 0, unfinished: [], skipped: 1 });
    assert.equal(journalOf(proxy)[0]?.outcome, null, "the other upstream's entry stays open");
    const warning = proxy.logs().find((l) => l.includes("of another upstream left open"));
    assert.ok(warning, "the skip is logged");
    assert.match(warning, /"upstream":"http:\/\/127\.0\.0\.1:9"/);
    await assertTagOn(repo, "victim", pushed.digest);
  });
});
