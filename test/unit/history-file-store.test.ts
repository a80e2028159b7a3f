/**
 * The history's file store: what survives a restart (events, kept manifests,
 * purges), the bounds, a torn last line, and the compaction that rewrites the file.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { HistoryEvent, TagMoved } from "../../src/history/events.js";
import { historyDirOf, openFileHistory } from "../../src/history/file-store.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const DAY = 86_400_000;
let clock = Date.parse("2026-03-01T00:00:00Z");
const now = () => clock;
let n = 0;

function moved(repository: string, tag: string, to: string): TagMoved {
  return {
    id: `e${n++}`,
    type: "TagMoved",
    time: new Date(clock).toISOString(),
    repository,
    tag,
    from: null,
    to,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    user: "alice",
    replica: "r1",
    via: "client",
  };
}

const manifest = (repository: string, digest: string) => ({
  repository,
  digest,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  bytes: Buffer.from(`{"schemaVersion":2,"d":"${digest}"}`),
});

describe("the history's file store", () => {
  const root = mkdtempSync(join(tmpdir(), "rcp-history-store-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const bounds = { retainMs: 2 * DAY, maxPerRepository: 100, now };

  it("lives beside the tag delete journal", () => {
    assert.equal(historyDirOf("/var/lib/rcp/tag-delete-journal.jsonl"), "/var/lib/rcp/tag-history");
  });

  it("events and kept manifests survive a restart; a purge replays as a purge", async () => {
    const dir = join(root, "restart");
    const a = openFileHistory(dir, bounds);
    await a.append(moved("demo/app", "v1", D("a")), [manifest("demo/app", D("a"))]);
    await a.append(moved("demo/app", "v2", D("b")), [manifest("demo/app", D("b"))]);
    await a.append(moved("other/app", "x", D("c")));
    assert.equal(await a.purge({ ...moved("demo/app", "v2", D("b")), type: "HistoryPurged", tag: "v2" }), 1);
    await a.close();
    assert.equal(
      existsSync(join(dir, "manifests", "sha256", "b".repeat(64))),
      false,
      "v2's manifest removed",
    );

    const b = openFileHistory(dir, bounds);
    const events = await b.events("demo/app");
    assert.deepEqual(
      events.map((e) => e.type),
      ["TagMoved", "HistoryPurged"],
    );
    assert.equal(
      (await b.manifest("demo/app", D("a")))?.bytes.toString(),
      manifest("demo/app", D("a")).bytes.toString(),
    );
    assert.equal(await b.manifest("demo/app", D("b")), null);
    assert.equal(
      await b.manifest("other/app", D("a")),
      null,
      "only the repository's own entries reach a manifest",
    );
    assert.deepEqual((await b.repositories()).map((r) => r.repository).sort(), ["demo/app", "other/app"]);
    await b.close();
  });

  it("the cap keeps the newest entries of each repository", async () => {
    const s = openFileHistory(join(root, "cap"), { ...bounds, maxPerRepository: 3 });
    for (const c of ["a", "b", "c", "d", "e"]) await s.append(moved("cap/app", "t", D(c)));
    assert.deepEqual(
      (await s.events("cap/app")).map((e) => (e as TagMoved).to),
      [D("c"), D("d"), D("e")],
    );
    await s.close();
  });

  it("entries older than the retention are dropped, at read and by the sweep", async () => {
    const dir = join(root, "retain");
    const s = openFileHistory(dir, bounds);
    await s.append(moved("old/app", "t", D("a")), [manifest("old/app", D("a"))]);
    clock += 3 * DAY;
    await s.append(moved("new/app", "t", D("b")));
    assert.deepEqual(await s.events("old/app"), []);
    await s.sweep();
    await s.close();
    assert.equal(existsSync(join(dir, "manifests", "sha256", "a".repeat(64))), false);
    assert.doesNotMatch(readFileSync(join(dir, "events.jsonl"), "utf8"), /old\/app/);
  });

  it("a torn last line (a crash mid-write) is skipped", async () => {
    const dir = join(root, "torn");
    const s = openFileHistory(dir, bounds);
    await s.append(moved("t/app", "t", D("a")));
    await s.close();
    appendFileSync(join(dir, "events.jsonl"), '{"type":"TagMoved","id":"x","rep');
    const again = openFileHistory(dir, bounds);
    assert.equal((await again.events("t/app")).length, 1);
    await again.append(moved("t/app", "t", D("b")));
    await again.close();
  });

  it("the file is rewritten once it holds far more lines than live entries", async () => {
    const dir = join(root, "compact");
    const s = openFileHistory(dir, { ...bounds, maxPerRepository: 5 });
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 1100; i++) appends.push(s.append(moved("c/app", "t", D((i % 10).toString()))));
    await Promise.all(appends);
    await s.close();
    const lines = readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").filter(Boolean);
    assert.ok(lines.length < 1100, `${lines.length} lines`);
    const events = lines.map((l) => JSON.parse(l) as HistoryEvent);
    assert.equal(events.at(-1)?.id, `e${n - 1}`, "the newest entry is there");
  });
});
