import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parsePruneOptions,
  parseRegistryUrl,
  type RawPruneArgs,
  UsageError,
} from "../../src/prune/options.js";
import { formatTable, planJsonLines, planTableLines } from "../../src/prune/report.js";
import type { Decision } from "../../src/prune/select.js";
import { deleteFailureReason, type RepoPlan } from "../../src/prune/steps.js";
import { exitCodeOf, summarize, summaryLines } from "../../src/prune/summary.js";

const D = `sha256:${"ab".repeat(32)}`;
const NOW = new Date("2025-01-10T00:00:00Z");

function decision(tag: string, action: "delete" | "keep", rule: Decision["rule"], reason: string): Decision {
  return { tag, digest: D, created: new Date("2025-01-01T08:30:00Z"), action, rule, reason };
}

const plan: RepoPlan = {
  repository: "team/app",
  decisions: [
    decision("v2", "keep", "newest", "#1 of the 1 newest"),
    decision("v1", "delete", "selected", "#2 by age, not among the 1 newest"),
    {
      ...decision("odd", "keep", "no-created-time", "no usable created time (no created field)"),
      created: null,
    },
  ],
  problems: [
    { repository: "team/app", tag: "gone", digest: "", result: "skipped", reason: "tag no longer exists" },
  ],
};

describe("prune report", () => {
  it("lays out columns, leaving the last one unpadded", () => {
    assert.deepEqual(
      formatTable([
        ["A", "BB", "C"],
        ["aaa", "b", "long last"],
      ]),
      ["  A    BB  C", "  aaa  b   long last"],
    );
  });

  it("tables the deletions, the undated tags and the problems, but not plain kept tags", () => {
    const lines = planTableLines(plan, { json: false, showKept: false, dryRun: true, now: NOW });
    assert.equal(lines[0], "team/app: 4 tags, 1 would delete, 2 kept");
    const body = lines.join("\n");
    assert.match(body, /v1\s+sha256:abababababab\s+2025-01-01 08:30\s+8d 15h\s+would delete\s+#2 by age/);
    assert.match(body, /odd\s+sha256:abababababab\s+-\s+-\s+keep\s+no usable created time/);
    assert.match(body, /gone\s+-\s+-\s+-\s+skipped\s+tag no longer exists/);
    assert.doesNotMatch(body, /\bv2\b/);
    const all = planTableLines(plan, { json: false, showKept: true, dryRun: false, now: NOW }).join("\n");
    assert.match(all, /v2\s+.*keep\s+#1 of the 1 newest/);
    assert.match(all, /v1\s+.*\sdelete\s+#2/);
  });

  it("writes one JSON line per decision and per problem", () => {
    const lines = planJsonLines(plan).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => `${l["type"]}:${l["tag"]}:${l["action"] ?? l["result"]}`),
      ["tag:v2:keep", "tag:v1:delete", "tag:odd:keep", "result:gone:skipped"],
    );
    assert.equal(lines[2]!["created"], null);
    assert.deepEqual(planJsonLines({ ...plan, error: "boom" }), [
      JSON.stringify({ type: "error", repository: "team/app", reason: "boom" }),
    ]);
  });

  it("summarizes with reasons and exits 1 only when something failed", () => {
    const dry = summarize([plan], [], true);
    assert.equal(exitCodeOf(dry), 0);
    assert.deepEqual(summaryLines(dry), [
      "summary (dry run, nothing deleted): 1 repository, 4 tags: 2 kept, 1 would be deleted, 1 skipped, 0 failed",
      "  kept 2: 1 among the newest; 1 no usable created time",
      "  skipped 1: 1 tag no longer exists",
      "run again with --apply to delete them",
    ]);
    const failed = summarize(
      [plan],
      [{ repository: "team/app", tag: "v1", digest: D, result: "failed", reason: "405 UNSUPPORTED" }],
      false,
    );
    assert.equal(exitCodeOf(failed), 1);
    assert.match(summaryLines(failed)[0]!, /^summary: .* 0 deleted, 1 skipped, 1 failed$/);
    assert.equal(exitCodeOf(summarize([{ ...plan, error: "401" }], [], true)), 1);
  });

  it("explains delete answers in words that say what to do", () => {
    const reply = (status: number, body: string) => ({
      status,
      headers: new Headers(),
      body: Buffer.from(body),
    });
    const err = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] });
    assert.equal(
      deleteFailureReason(reply(405, err("UNSUPPORTED", "The operation is unsupported."))),
      "405 UNSUPPORTED: The operation is unsupported. (deletes are disabled on the registry)",
    );
    assert.match(deleteFailureReason(reply(405, "Method not allowed")), /read-only\?/);
    assert.match(
      deleteFailureReason(
        reply(400, err("DIGEST_INVALID", "provided digest did not match uploaded content")),
      ),
      /point --registry at registry-compat-proxy/,
    );
    assert.match(deleteFailureReason(reply(403, err("DENIED", "denied"))), /not allowed to delete/);
    assert.equal(deleteFailureReason(reply(502, "")), "502");
  });
});

describe("prune options", () => {
  const raw = (over: Partial<RawPruneArgs>): RawPruneArgs => ({
    registry: "http://127.0.0.1:5080",
    repos: [],
    match: [],
    exclude: [],
    apply: false,
    dryRun: false,
    json: false,
    showKept: false,
    quiet: false,
    rest: [],
    keep: "3",
    ...over,
  });
  const ctx = { env: {}, home: "/nonexistent" };

  it("normalizes the registry URL", () => {
    assert.equal(parseRegistryUrl("registry.example.com").href, "https://registry.example.com/");
    assert.equal(parseRegistryUrl("http://h:5000/v2/").href, "http://h:5000/");
    assert.equal(parseRegistryUrl("http://h/prefix/").href, "http://h/prefix");
    for (const bad of ["ftp://h", "http://u:p@h", "http://h/?x=1", "http://"]) {
      assert.throws(() => parseRegistryUrl(bad), UsageError, bad);
    }
  });

  it("validates every option as a usage error (exit 2)", () => {
    const bad: Array<Partial<RawPruneArgs>> = [
      { keep: "-1" },
      { keep: "1.5" },
      { concurrency: "0" },
      { concurrency: "65" },
      { olderThan: "30" },
      { match: ["[a"] },
      { repos: ["Bad Name"] },
      { keep: undefined },
      { apply: true, dryRun: true },
      { username: "u" },
      { rest: ["extra"] },
    ];
    for (const b of bad) assert.throws(() => parsePruneOptions(raw(b), ctx), UsageError, JSON.stringify(b));
  });

  it("defaults to a dry run with concurrency 4", () => {
    const o = parsePruneOptions(raw({ repos: ["team/*", "other"] }), ctx);
    assert.equal(o.apply, false);
    assert.equal(o.concurrency, 4);
    assert.deepEqual(
      o.repos.map((p) => [p.source, p.literal]),
      [
        ["team/*", false],
        ["other", true],
      ],
    );
    assert.equal(o.credentials, null);
  });
});
