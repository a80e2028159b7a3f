import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePattern } from "../../src/oci/name-patterns.js";
import { type Rules, selectTags, type TagInfo } from "../../src/prune/select.js";

const NOW = new Date("2025-06-01T00:00:00Z");
const DAY = 24 * 3600_000;

/** A tag created `daysAgo` days before NOW (null: no usable time). */
function tag(name: string, daysAgo: number | null, digest = `sha256:${name}`): TagInfo {
  return daysAgo === null
    ? { tag: name, digest, created: null, createdProblem: "no created field" }
    : { tag: name, digest, created: new Date(NOW.getTime() - daysAgo * DAY) };
}

function rules(r: { keep?: number; match?: string[]; exclude?: string[]; olderThanDays?: number }): Rules {
  return {
    ...(r.keep !== undefined ? { keep: r.keep } : {}),
    match: (r.match ?? []).map(parsePattern),
    exclude: (r.exclude ?? []).map(parsePattern),
    ...(r.olderThanDays !== undefined
      ? { olderThan: { ms: r.olderThanDays * DAY, text: `${r.olderThanDays}d` } }
      : {}),
    now: NOW,
  };
}

// v1 (oldest) .. v8 (newest); latest shares v8's manifest; nt has no created time.
const TAGS: TagInfo[] = [
  tag("v3", 60),
  tag("v1", 80),
  tag("latest", 1, "sha256:v8"),
  tag("v8", 1),
  tag("v2", 70),
  tag("nt", null),
  tag("v5", 40),
  tag("v4", 50),
  tag("pr-1", 45),
  tag("pr-2", 5),
  tag("v7", 10),
  tag("v6", 20),
];

const cases: Array<{ name: string; rules: Parameters<typeof rules>[0]; deleted: string[] }> = [
  // keep 3: newest are latest/v8 (tie, by name), then pr-2; nt is kept, not ranked.
  {
    name: "--keep 3 deletes all but the 3 newest dated tags",
    rules: { keep: 3 },
    deleted: ["v7", "v6", "v5", "pr-1", "v4", "v3", "v2", "v1"],
  },
  {
    name: "--keep 0 alone selects every dated tag",
    rules: { keep: 0 },
    deleted: ["latest", "v8", "pr-2", "v7", "v6", "v5", "pr-1", "v4", "v3", "v2", "v1"],
  },
  { name: "--keep larger than the tag count deletes nothing", rules: { keep: 50 }, deleted: [] },
  {
    name: "--older-than 45d deletes tags created before the cutoff only",
    rules: { olderThanDays: 45 },
    deleted: ["v4", "v3", "v2", "v1"],
  },
  {
    name: "--older-than keeps a tag created exactly at the cutoff",
    rules: { olderThanDays: 50 },
    deleted: ["v3", "v2", "v1"],
  },
  { name: "--match glob limits the candidates", rules: { match: ["pr-*"] }, deleted: ["pr-2", "pr-1"] },
  {
    name: "--match /regex/ is searched, not anchored",
    rules: { match: ["/^v[1-3]$/"] },
    deleted: ["v3", "v2", "v1"],
  },
  {
    name: "--keep counts only matching tags",
    rules: { match: ["v*"], keep: 2 },
    deleted: ["v6", "v5", "v4", "v3", "v2", "v1"],
  },
  {
    name: "--exclude never deletes, and excluded tags take no keep slot",
    rules: { keep: 2, exclude: ["latest", "v[67]"] },
    deleted: ["v5", "pr-1", "v4", "v3", "v2", "v1"],
  },
  {
    name: "--keep and --older-than both have to allow the deletion",
    rules: { keep: 6, olderThanDays: 30 },
    deleted: ["pr-1", "v4", "v3", "v2", "v1"],
  },
  {
    name: "all four rules combine",
    rules: { match: ["v*"], exclude: ["v1"], keep: 2, olderThanDays: 55 },
    deleted: ["v3", "v2"],
  },
  {
    name: "--exclude /regex/ wins over --match",
    rules: { match: ["**"], exclude: ["/^v/"] },
    deleted: ["pr-2", "pr-1", "latest"].sort(),
  },
];

describe("selectTags (pure selection rules)", () => {
  for (const c of cases) {
    it(c.name, () => {
      const decisions = selectTags(TAGS, rules(c.rules));
      const deleted = decisions.filter((d) => d.action === "delete").map((d) => d.tag);
      assert.deepEqual([...deleted].sort(), [...c.deleted].sort());
      assert.equal(decisions.length, TAGS.length, "one decision per tag");
    });
  }

  it("keeps a tag without a usable created time and says why, whatever the rules", () => {
    for (const r of [{ keep: 0 }, { olderThanDays: 1 }, { match: ["*"] }]) {
      const nt = selectTags(TAGS, rules(r)).find((d) => d.tag === "nt")!;
      assert.equal(nt.action, "keep");
      assert.equal(nt.rule, "no-created-time");
      assert.match(nt.reason, /no usable created time \(no created field\)/);
    }
  });

  it("breaks ties in created time by tag name, whatever the listing order", () => {
    const a = [tag("b", 5), tag("a", 5), tag("c", 5)];
    for (const order of [a, [...a].reverse()]) {
      const d = selectTags(order, rules({ keep: 1 }));
      assert.deepEqual(
        d.filter((x) => x.action === "keep").map((x) => x.tag),
        ["a"],
      );
    }
  });

  it("gives every decision a reason naming its rule", () => {
    const d = selectTags(
      TAGS,
      rules({ match: ["v*", "latest"], exclude: ["v8"], keep: 2, olderThanDays: 55 }),
    );
    const by = Object.fromEntries(d.map((x) => [x.tag, `${x.action}/${x.rule}: ${x.reason}`]));
    assert.equal(by["v8"], "keep/excluded: excluded by v8");
    assert.equal(by["pr-1"], "keep/not-matching: does not match v*, latest");
    assert.equal(by["latest"], "keep/newest: #1 of the 2 newest");
    assert.equal(by["v7"], "keep/newest: #2 of the 2 newest");
    assert.equal(by["v5"], "keep/too-recent: created 40d ago, not older than 55d");
    assert.equal(
      by["v3"],
      "delete/selected: #6 by age, not among the 2 newest; created 60d ago, older than 55d; matches v*",
    );
  });

  it("returns decisions newest first, tags without a time last", () => {
    const d = selectTags(TAGS, rules({ keep: 1 }));
    assert.equal(d[0]!.tag, "latest");
    assert.equal(d.at(-1)!.tag, "nt");
  });
});
