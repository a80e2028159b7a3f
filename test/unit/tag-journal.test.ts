import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  compactJournal,
  type IntentEntry,
  latestFor,
  openJournal,
  parseJournal,
  readJournalFile,
  unfinished,
} from "../../src/tags/journal.js";

const dir = mkdtempSync(join(tmpdir(), "rcp-journal-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function intent(id: string, repository = "r", tag = "t"): IntentEntry {
  return {
    type: "intent",
    id,
    time: new Date().toISOString(),
    upstream: "http://u",
    repository,
    tag,
    originalDigest: `sha256:${"1".repeat(64)}`,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    tombstoneDigest: `sha256:${"2".repeat(64)}`,
    tombstoneBytes: "e30=",
  };
}

describe("tag delete journal", () => {
  it("appends JSON lines (creating its folder, mode 0600) and reads intents with their outcomes", async () => {
    const path = join(dir, "a", "b", "j.jsonl");
    const j = openJournal(path);
    await j.append(intent("1"));
    await j.append(intent("2"));
    await j.append({ type: "outcome", id: "1", time: "t", outcome: "deleted" });
    const records = await j.read();
    await j.close();
    assert.equal(records.length, 2);
    assert.equal(records[0]!.outcome?.outcome, "deleted");
    assert.equal(records[1]!.outcome, null);
    assert.deepEqual(
      unfinished(records).map((r) => r.intent.id),
      ["2"],
    );
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFileSync(path, "utf8").split("\n").filter(Boolean).length, 3);
  });

  it("group-commits concurrent appends: every line lands whole", async () => {
    const path = join(dir, "concurrent.jsonl");
    const j = openJournal(path);
    await Promise.all(Array.from({ length: 200 }, (_, i) => j.append(intent(String(i)))));
    await j.close();
    const { records, badLines } = await readJournalFile(path);
    assert.equal(badLines, 0);
    assert.equal(records.length, 200);
  });

  it("tolerates a torn last line (a crash in the middle of a write)", async () => {
    const path = join(dir, "torn.jsonl");
    appendFileSync(path, `${JSON.stringify(intent("x"))}\n{"type":"outcome","id":"x","ti`);
    const { records, badLines } = await readJournalFile(path);
    assert.equal(badLines, 1);
    assert.equal(records[0]!.outcome, null);
  });

  it("reads a missing journal as empty", async () => {
    assert.deepEqual(await readJournalFile(join(dir, "none.jsonl")), { records: [], badLines: 0 });
  });

  it("latestFor finds the newest intent for a repository's tag", () => {
    const text = [intent("1", "r", "t"), intent("2", "r", "u"), intent("3", "r", "t")]
      .map((e) => JSON.stringify(e))
      .join("\n");
    const { records } = parseJournal(text);
    assert.equal(latestFor(records, "r", "t")?.intent.id, "3");
    assert.equal(latestFor(records, "r", "zzz"), undefined);
  });

  it("compaction keeps every unfinished entry and the newest finished ones", async () => {
    const path = join(dir, "compact.jsonl");
    const j = openJournal(path);
    for (let i = 0; i < 50; i++) {
      await j.append(intent(String(i)));
      if (i !== 3) await j.append({ type: "outcome", id: String(i), time: "t", outcome: "deleted" });
    }
    await j.close();
    assert.equal(await compactJournal(path, 10 * 1024 * 1024), false);
    assert.equal(await compactJournal(path, 2000), true);
    const { records } = await readJournalFile(path);
    const ids = records.map((r) => r.intent.id);
    assert.ok(ids.includes("3"), "the unfinished entry is kept");
    assert.ok(ids.includes("49"), "the newest entry is kept");
    assert.ok(!ids.includes("0"), "old finished entries go");
    assert.ok(records.length < 50);
  });
});
