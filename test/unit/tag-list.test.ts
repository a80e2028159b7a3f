import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isSortedUnique, type PageQuery, paginate, sortTags } from "../../src/oci/pagination.js";
import { firstPage, smallest, TagList } from "../../src/tags/tag-list.js";

/** Short tags from a small alphabet, so that duplicates and shared prefixes are common. */
const tag = fc.stringMatching(/^[0-9A-Z_a-c.-]{1,4}$/);
const tagLists = fc.array(tag, { maxLength: 60 });
const queries = fc.record({
  n: fc.option(fc.integer({ min: 0, max: 70 }), { nil: null }),
  last: fc.option(tag, { nil: null }),
});

describe("isSortedUnique", () => {
  const cases: Array<[string[], boolean]> = [
    [[], true],
    [["a"], true],
    [["1", "A", "_", "a", "b"], true],
    [["a", "a"], false],
    [["b", "a"], false],
    [["a", "c", "b"], false],
    [["Z", "a"], true],
    [["a", "Z"], false],
  ];
  for (const [tags, expected] of cases) {
    it(`${JSON.stringify(tags)} → ${expected}`, () => assert.equal(isSortedUnique(tags), expected));
  }

  it("is true exactly when sortTags would change nothing", () => {
    fc.assert(
      fc.property(tagLists, (tags) => {
        assert.equal(isSortedUnique(tags), JSON.stringify(sortTags(tags)) === JSON.stringify(tags));
      }),
    );
  });

  it("sortTags returns a copy of a list already in order", () => {
    const tags = ["a", "b", "c"];
    const sorted = sortTags(tags);
    assert.deepEqual(sorted, tags);
    assert.notEqual(sorted, tags);
  });
});

describe("smallest", () => {
  it("picks the k smallest, duplicates kept", () => {
    assert.deepEqual(smallest(["d", "b", "a", "c", "b"], 3).sort(), ["a", "b", "b"]);
    assert.deepEqual(smallest(["z", "y", "x"], 1), ["x"]);
  });

  it("agrees with sorting and slicing", () => {
    fc.assert(
      fc.property(
        fc.array(tag, { minLength: 2, maxLength: 60 }),
        fc.integer({ min: 1, max: 59 }),
        (tags, k0) => {
          const k = Math.min(k0, tags.length - 1);
          assert.deepEqual(smallest(tags, k).sort(), [...tags].sort().slice(0, k));
        },
      ),
    );
  });
});

describe("firstPage", () => {
  const cases: Array<[string, string[], number, ReturnType<typeof firstPage>]> = [
    ["first of an unsorted list", ["c", "a", "d", "b"], 2, { tags: ["a", "b"], next: "b" }],
    ["page covering the whole list: left to the sort", ["b", "a"], 2, null],
    ["page larger than the list: left to the sort", ["b", "a"], 5, null],
    ["a duplicate among the smallest: left to the sort", ["b", "a", "a", "c"], 2, null],
    ["duplicates after the page are fine", ["c", "a", "c", "b"], 2, { tags: ["a", "b"], next: "b" }],
    ["only copies of the last tag remain: no next", ["b", "a", "b"], 2, { tags: ["a", "b"], next: null }],
    [
      "byte order: upper case before lower case",
      ["a", "B", "_", "1"],
      3,
      { tags: ["1", "B", "_"], next: "_" },
    ],
  ];
  for (const [title, raw, n, expected] of cases) {
    it(title, () => assert.deepEqual(firstPage(raw, n), expected));
  }

  it("when it answers, answers as paginate(sortTags(raw))", () => {
    fc.assert(
      fc.property(tagLists, fc.integer({ min: 1, max: 70 }), (raw, n) => {
        const got = firstPage(raw, n);
        if (got !== null) assert.deepEqual(got, paginate(sortTags(raw), { n, last: null }));
      }),
    );
  });

  it("answers for a long list without duplicates", () => {
    const raw = Array.from({ length: 1000 }, (_, i) => `t${(i * 7919) % 1000}`);
    assert.deepEqual(firstPage(raw, 100), paginate(sortTags(raw), { n: 100, last: null }));
  });
});

describe("TagList", () => {
  it("every page, in any order of asking, is paginate(sortTags(raw), query)", () => {
    fc.assert(
      fc.property(tagLists, fc.array(queries, { minLength: 1, maxLength: 4 }), (raw, qs) => {
        const list = new TagList(raw);
        const expected = sortTags(raw);
        for (const q of qs as PageQuery[]) assert.deepEqual(list.page(q), paginate(expected, q));
        assert.deepEqual(list.sorted(), expected);
        assert.ok(list.isSorted);
        assert.equal(list.length, expected.length);
      }),
    );
  });

  it("a first page leaves the list unsorted; sorted() then sorts it once", () => {
    const list = new TagList(["c", "a", "d", "b"]);
    assert.deepEqual(list.page({ n: 1, last: null }), { tags: ["a"], next: "a" });
    assert.equal(list.isSorted, false);
    assert.equal(list.length, 4);
    const sorted = list.sorted();
    assert.deepEqual(sorted, ["a", "b", "c", "d"]);
    assert.equal(list.sorted(), sorted);
  });

  it("a list in order needs no sort", () => {
    const list = new TagList(["a", "b"]);
    assert.ok(list.isSorted);
    assert.deepEqual(list.page({ n: 1, last: null }), { tags: ["a"], next: "a" });
  });

  it("renders the whole list's answer body once, sorted, for the name it is asked for", () => {
    const list = new TagList(["b", "a", "b"]);
    const body = list.wholeBody("r/x");
    assert.equal(body.toString(), '{"name":"r/x","tags":["a","b"]}\n');
    assert.equal(list.wholeBody("r/x"), body, "made once");
    assert.equal(list.wholeBody("other").toString(), '{"name":"other","tags":["a","b"]}\n');
  });

  it("does not change the array it was given", () => {
    const raw = ["b", "a", "b"];
    new TagList(raw).sorted();
    assert.deepEqual(raw, ["b", "a", "b"]);
  });
});
