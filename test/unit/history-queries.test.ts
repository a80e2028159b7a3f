/**
 * The tag history's pure queries: a tag's entries, what it pointed at, what the
 * window holds for gc, purges and the bounds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HistoryEvent, ManifestDeleted, TagDeleted, TagMoved, Via } from "../../src/history/events.js";
import {
  digestsOfTag,
  digestsReferenced,
  entriesOf,
  heldManifests,
  lastPurge,
  lastTarget,
  purgeEvents,
  retainEvents,
} from "../../src/history/queries.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const DAY = 86_400_000;
const base = { repository: "demo/app", user: "alice", replica: "r1", via: "client" as const };
let n = 0;
const id = () => `e${n++}`;

function moved(tag: string, to: string, from: string | null | undefined, minutes: number): TagMoved {
  return {
    ...base,
    id: id(),
    type: "TagMoved",
    time: at(minutes),
    tag,
    to,
    ...(from === undefined ? {} : { from }),
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  };
}
function deleted(tag: string, digest: string | null, minutes: number): TagDeleted {
  return { ...base, id: id(), type: "TagDeleted", time: at(minutes), tag, digest, mediaType: null };
}
function byDigest(digest: string, tags: string[], minutes: number, via: Via = "client"): ManifestDeleted {
  return {
    ...base,
    via,
    id: id(),
    type: "ManifestDeleted",
    time: at(minutes),
    digest,
    mediaType: null,
    tags,
    tagsKnown: true,
  };
}

describe("tag history queries", () => {
  const events: HistoryEvent[] = [
    moved("stable", D("a"), null, 0),
    moved("stable", D("b"), D("a"), 1),
    moved("edge", D("c"), undefined, 2),
    deleted("stable", D("b"), 3),
    byDigest(D("c"), ["edge", "nightly"], 4),
  ];
  const now = T0 + 10 * 60_000;

  it("entriesOf: a tag's entries newest first, a delete by digest counted for each tag it took", () => {
    const stable = entriesOf(events, now, DAY, "stable").map((e) => e.type);
    assert.deepEqual(stable, ["TagDeleted", "TagMoved", "TagMoved"]);
    const edge = entriesOf(events, now, DAY, "edge").map((e) => e.type);
    assert.deepEqual(edge, ["ManifestDeleted", "TagMoved"]);
    assert.equal(entriesOf(events, now, DAY).length, 5);
    assert.ok(entriesOf(events, now, DAY).every((e) => !e.expired));
    assert.ok(
      entriesOf(events, now, 60_000).every((e) => e.expired),
      "a one-minute window: all expired",
    );
  });

  it("digestsOfTag: every digest the tag pointed at, from pushes (both sides) and deletes", () => {
    assert.deepEqual([...digestsOfTag(events, "stable").keys()], [D("b"), D("a")]);
    assert.deepEqual([...digestsOfTag(events, "nightly").keys()], [D("c")]);
    assert.equal(digestsOfTag(events, "stable").get(D("b"))?.since, at(3));
  });

  it("lastTarget: the digest of the newest entry; a delete whose digest is unknown falls back", () => {
    assert.equal(lastTarget(events, "stable"), D("b"));
    assert.equal(lastTarget(events, "nightly"), D("c"));
    assert.equal(lastTarget([moved("x", D("d"), null, 0), deleted("x", null, 1)], "x"), D("d"));
    assert.equal(lastTarget(events, "never"), null);
  });

  it("heldManifests: digests of entries inside the window; gc's deletes and untagging-nothing deletes hold nothing", () => {
    const list = [...events, byDigest(D("e"), [], 5), byDigest(D("f"), ["old"], 6, "gc")];
    const held = heldManifests(list, now, DAY)
      .map((h) => h.digest)
      .sort();
    assert.deepEqual(held, [D("a"), D("b"), D("c")]);
    assert.deepEqual(
      heldManifests(list, now, 6.5 * 60_000).map((h) => h.digest),
      [D("c")],
      "older entries expired",
    );
  });

  it("purgeEvents: a tag's entries go, a delete by digest keeps its other tags, and a repository purge takes all", () => {
    const tag = purgeEvents(events, "edge");
    assert.equal(tag.removed, 2);
    const left = tag.kept.find((e) => e.type === "ManifestDeleted") as ManifestDeleted;
    assert.deepEqual(left.tags, ["nightly"]);
    assert.equal(tag.kept.length, 4);
    assert.deepEqual(purgeEvents(events, null), { kept: [], removed: 5 });
  });

  it("lastPurge: a repository purge counts for every tag", () => {
    const marker: HistoryEvent = {
      ...base,
      id: id(),
      type: "HistoryPurged",
      time: at(7),
      tag: null,
      removed: 5,
    };
    assert.equal(lastPurge([...events, marker], "stable")?.id, marker.id);
    assert.equal(lastPurge(events, "stable"), null);
    assert.equal(lastTarget([...events, marker], "stable"), null, "nothing to go back to after a purge");
  });

  it("retainEvents: the retention drops old entries, the cap keeps the newest", () => {
    assert.equal(retainEvents(events, now, 7.5 * 60_000, 100).length, 2);
    assert.deepEqual(
      retainEvents(events, now, DAY, 2).map((e) => e.time),
      [at(3), at(4)],
    );
  });

  it("digestsReferenced: what the kept manifests are still needed for", () => {
    assert.deepEqual([...digestsReferenced(events)].sort(), [D("a"), D("b"), D("c")]);
  });
});
