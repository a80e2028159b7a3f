import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { checkJournalWritable, journalProblem } from "../../src/ops/journal-check.js";

describe("config paths and the upstream URL", () => {
  it("delete.journalPath and embedded.dataDir are resolved once, against the working directory", () => {
    const c = loadConfig({ env: { DELETE_JOURNAL: "state/j.jsonl", DATA_DIR: "./d" } });
    assert.equal(c.delete.journalPath, resolve("state/j.jsonl"));
    assert.equal(c.embedded.dataDir, resolve("d"));
    assert.equal(loadConfig({ env: { DELETE_JOURNAL: "/abs/j" } }).delete.journalPath, "/abs/j");
  });

  it("an upstream URL ending in /v2 or /v2/ is refused with the root URL to use; a real path prefix is kept", () => {
    for (const url of ["http://h:5000/v2", "http://h:5000/v2/", "https://h/mirror/v2//"]) {
      assert.throws(
        () => loadConfig({ env: { UPSTREAM_URL: url } }),
        (e: unknown) =>
          e instanceof ConfigError &&
          /upstream\.url: must be the registry's root URL without \/v2/.test(e.message),
        url,
      );
    }
    assert.equal(
      loadConfig({ env: { UPSTREAM_URL: "http://h:5000/v2x/" } }).upstream.url,
      "http://h:5000/v2x",
    );
  });
});

describe("journal check", () => {
  it("creates the journal, leaves its content and no probe file behind; a path under a file fails naming the setting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rcp-jc-"));
    try {
      const path = join(dir, "sub", "j.jsonl");
      await checkJournalWritable(path);
      writeFileSync(path, '{"type":"outcome"}\n');
      await checkJournalWritable(path);
      assert.deepEqual(readdirSync(join(dir, "sub")), ["j.jsonl"]);
      assert.equal(readFileSync(path, "utf8"), '{"type":"outcome"}\n');
      assert.equal(await journalProblem(path), null);

      const under = join(path, "x.jsonl");
      await assert.rejects(
        checkJournalWritable(under),
        /cannot be written .*delete\.journalPath \(env DELETE_JOURNAL\)/,
      );
      assert.match((await journalProblem(join(dir, "missing.jsonl"))) ?? "", /not writable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
