import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createCollectorReader } from "../../src/gc/collector-output.js";
import { createGcProgress } from "../../src/gc/progress.js";
import type { GcResult } from "../../src/gc/report.js";

const OUTPUT = [
  "app\n",
  "app: marking manifest sha256:aa \n",
  "app: marking blob sha256:bb\n",
  "app: marking blob sha256:cc\n",
  "\n",
  "2 blobs marked, 1 blobs and 0 manifests eligible for deletion\n",
  "blob eligible for deletion: sha256:dd\n",
  'time="2026-12-07T21:09:01Z" level=info msg="Deleting blob: /docker/registry/v2/blobs/sha256/dd/dd" go.version=go1.19.8\n',
].join("");

const result = (exitCode: number): GcResult => ({
  dryRun: false,
  storage: { driver: "filesystem", root: "/r", cache: "off" },
  plan: { repositories: [], orphans: new Map(), bytes: 0 },
  freed: { repositories: {}, orphans: 0, total: 2048 },
  deletes: [{ repository: "app", digest: "sha256:ee", result: "deleted" }] as GcResult["deletes"],
  steps: [],
  exitCode,
});

describe("gc's progress", () => {
  it("counts garbage-collect 2.8's output whatever the chunks", () => {
    for (const size of [1, 7, OUTPUT.length]) {
      const reader = createCollectorReader();
      for (let i = 0; i < OUTPUT.length; i += size) reader.push(OUTPUT.slice(i, i + size));
      assert.deepEqual(reader.counts, {
        lines: 8,
        manifestsMarked: 1,
        blobsMarked: 2,
        blobsEligible: 1,
        manifestsEligible: 0,
        blobsDeleted: 1,
        manifestsDeleted: 0,
      });
    }
  });

  it("without a terminal: lines only, garbage-collect's output not shown, the summary", () => {
    let text = "";
    let t = 0;
    const p = createGcProgress((s) => (text += s), {
      tty: false,
      quiet: false,
      verbose: false,
      logFile: null,
      now: () => (t += 500),
    });
    p.phase("entering the window");
    p.collecting()(Buffer.from(OUTPUT));
    p.summary(result(0));
    assert.equal(
      text,
      "gc: entering the window\ngc: running garbage-collect (its output: not kept)\n" +
        "gc: done in 0.5 s: 1 untagged manifests deleted, garbage-collect deleted 1 blobs of 1 eligible, 2.0 KiB freed\n",
    );
  });

  it("the summary counts the repositories without tags whose storage went", () => {
    let text = "";
    const p = createGcProgress((s) => (text += s), {
      tty: false,
      quiet: true,
      verbose: false,
      logFile: null,
    });
    p.summary({
      ...result(0),
      empty: { remove: ["gone/a", "gone/b"], kept: [], removed: ["gone/a", "gone/b"] },
    });
    assert.match(
      text,
      /1 untagged manifests deleted, 2 repositories without tags removed, garbage-collect deleted/,
    );
  });

  it("on a terminal: the status line is redrawn in place and cleared before a line; --quiet draws none", () => {
    let text = "";
    let t = 0;
    const p = createGcProgress((s) => (text += s), {
      tty: true,
      quiet: false,
      verbose: false,
      logFile: null,
      columns: 200,
      now: () => (t += 1000),
    });
    p.collecting()(Buffer.from(OUTPUT));
    p.failed("garbage-collect (exit 1)");
    assert.ok(
      text.includes("\r\u001b[Kgc: garbage-collect deleting blobs: 1/1\r\u001b[Kgc: FAILED: garbage-collect"),
      JSON.stringify(text),
    );
    let quiet = "";
    const q = createGcProgress((s) => (quiet += s), { tty: true, quiet: true, verbose: true, logFile: null });
    q.phase("x");
    q.collecting()(Buffer.from(OUTPUT));
    q.summary(result(1));
    assert.match(quiet, /^gc: garbage-collect's last lines:\n/);
    assert.match(quiet, /gc: FAILED in \d+\.\d s: /);
    assert.doesNotMatch(quiet, /\r/);
  });

  it("reading the storage: a line, the counts on the status line as repositories are read, a closing line", () => {
    let text = "";
    let t = 0;
    const p = createGcProgress((s) => (text += s), {
      tty: true,
      quiet: false,
      verbose: false,
      logFile: null,
      columns: 200,
      now: () => (t += 1000),
    });
    const scan = p.scanning("/var/lib/registry");
    const repo = (name: string, revisions: number, tags: number) => ({
      name,
      revisions: Array.from({ length: revisions }, (_, i) => `sha256:${i}`),
      tags: new Map(Array.from({ length: tags }, (_, i) => [`t${i}`, `sha256:${i}`])),
    });
    scan.repository(repo("a", 3, 2));
    scan.repository(repo("b/c", 1, 1));
    scan.read({
      repositories: [{ name: "a", unreachable: ["sha256:2"] }],
      orphans: new Map(),
      bytes: 10,
    } as unknown as Parameters<typeof scan.read>[0]);
    assert.equal(
      text,
      "gc: reading the storage under /var/lib/registry\n" +
        "\r\u001b[Kgc: reading the storage: 1 repositories, 3 manifests, 2 tags (a)" +
        "\r\u001b[Kgc: reading the storage: 2 repositories, 4 manifests, 3 tags (b/c)" +
        "\r\u001b[Kgc: read 2 repositories: 4 manifests, 3 tags, 1 manifests untagged\n",
    );
  });
});
