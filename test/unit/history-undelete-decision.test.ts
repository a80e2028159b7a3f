/**
 * Whether an undelete goes ahead, and why not: every refusal from the history and
 * the tag's state now (pure, a table).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HistoryEvent } from "../../src/history/events.js";
import { decideUndelete, describeWindow, type UndeleteInput } from "../../src/history/undelete-decision.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const DAY = 86_400_000;
const base = { repository: "demo/app", user: null, replica: "r1", via: "client" as const };
const MT = "application/vnd.oci.image.manifest.v1+json";

// `gone` was pushed (on c), then its entries purged: the marker is all that is left.
const history: HistoryEvent[] = [
  {
    ...base,
    id: "1",
    type: "TagMoved",
    time: new Date(T0).toISOString(),
    tag: "v1",
    from: null,
    to: D("a"),
    mediaType: MT,
  },
  {
    ...base,
    id: "2",
    type: "TagMoved",
    time: new Date(T0 + DAY).toISOString(),
    tag: "v1",
    from: D("a"),
    to: D("b"),
    mediaType: MT,
  },
  {
    ...base,
    id: "3",
    type: "TagDeleted",
    time: new Date(T0 + 2 * DAY).toISOString(),
    tag: "v1",
    digest: D("b"),
    mediaType: MT,
  },
  {
    ...base,
    id: "5",
    type: "HistoryPurged",
    time: new Date(T0 + DAY).toISOString(),
    tag: "gone",
    removed: 2,
  },
];

const input = (over: Partial<UndeleteInput>): UndeleteInput => ({
  events: history,
  tag: "v1",
  to: null,
  current: null,
  immutable: false,
  now: T0 + 3 * DAY,
  windowMs: 7 * DAY,
  ...over,
});

describe("decideUndelete", () => {
  const cases: Array<[string, Partial<UndeleteInput>, string, string?]> = [
    ["a deleted tag goes back on its last digest", {}, "put", D("b")],
    ["--to an older digest of a deleted tag", { to: D("a") }, "put", D("a")],
    ["--to moves an existing tag back (an overwrite undone)", { current: D("b"), to: D("a") }, "put", D("a")],
    [
      "--to the digest it points at already: nothing to do",
      { current: D("a"), to: D("a") },
      "already",
      D("a"),
    ],
    ["without --to the tag exists now", { current: D("b") }, "tag-exists"],
    ["an immutable tag would move", { current: D("b"), to: D("a"), immutable: true }, "immutable"],
    ["an immutable tag that does not exist may come back", { immutable: true }, "put", D("b")],
    ["a digest not in the tag's history", { to: D("f") }, "not-in-history"],
    ["a tag without entries", { tag: "never" }, "not-in-history"],
    ["a repository without history", { events: [] }, "no-history"],
    ["a purged tag", { tag: "gone" }, "purged"],
    ["a purged tag, --to a digest it had", { tag: "gone", to: D("c") }, "purged"],
    ["older than the window", { now: T0 + 10 * DAY }, "expired"],
    ["older than the window, --to", { to: D("a"), now: T0 + 8.5 * DAY }, "expired"],
  ];
  for (const [name, over, kind, digest] of cases) {
    it(name, () => {
      const d = decideUndelete(input(over));
      if (d.kind === "refused") assert.equal(d.reason, kind, d.message);
      else {
        assert.equal(d.kind, kind);
        assert.equal(d.digest, digest);
      }
    });
  }

  it("refusals say why in words", () => {
    const exists = decideUndelete(input({ current: D("b") }));
    assert.equal(exists.kind, "refused");
    assert.match((exists as { message: string }).message, /exists now .* --to/);
    const expired = decideUndelete(input({ now: T0 + 10 * DAY }));
    assert.match((expired as { message: string }).message, /older than the window \(7 days\)/);
  });

  it("describeWindow", () => {
    assert.equal(describeWindow(7 * DAY), "7 days");
    assert.equal(describeWindow(36 * 3_600_000), "36 hours");
    assert.equal(describeWindow(1000), "1 second");
    assert.equal(describeWindow(1500), "1500 ms");
  });
});
