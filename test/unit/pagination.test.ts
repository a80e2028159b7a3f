import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OciError } from "../../src/oci/errors.js";
import {
  compareTags,
  indexAfter,
  nextPageLink,
  nextPageUrl,
  type PageQuery,
  paginate,
  parseNextLink,
  parsePageQuery,
  sortTags,
} from "../../src/oci/pagination.js";

const MAX = 10_000;

describe("parsePageQuery", () => {
  const ok: Array<[string, PageQuery]> = [
    ["", { n: null, last: null }],
    ["n=5", { n: 5, last: null }],
    ["n=0", { n: 0, last: null }],
    ["n=05", { n: 5, last: null }],
    [`n=${MAX}`, { n: MAX, last: null }],
    ["last=v1.0", { n: null, last: "v1.0" }],
    ["n=2&last=a", { n: 2, last: "a" }],
    ["last=a&n=2", { n: 2, last: "a" }],
    ["last=a%2Fb&n=1", { n: 1, last: "a/b" }],
    // Decoded to bytes, as Go does: compared byte-wise, it sorts after every (ASCII) tag.
    ["last=%E2%82%AC", { n: null, last: "\u00e2\u0082\u00ac" }],
    ["last=a+b", { n: null, last: "a b" }],
    ["last=a%2Bb", { n: null, last: "a+b" }],
    ["other=1&n=3", { n: 3, last: null }],
    ["&&n=3&", { n: 3, last: null }],
  ];
  for (const [query, expected] of ok) {
    it(`accepts "${query}"`, () => assert.deepEqual(parsePageQuery(query, MAX), expected));
  }

  const bad: Array<[string, unknown]> = [
    ["n=-1", -1],
    ["n=abc", "abc"],
    ["n=1.5", "1.5"],
    ["n=1e3", "1e3"],
    ["n=+5", " 5"], // `+` is a space in a query string
    ["n=%205", " 5"],
    [`n=${MAX + 1}`, MAX + 1],
    ["n=99999999999999999999", "99999999999999999999"],
    ["n=0x10", "0x10"],
  ];
  for (const [query, detail] of bad) {
    it(`refuses "${query}" with 400 PAGINATION_NUMBER_INVALID`, () => {
      assert.throws(
        () => parsePageQuery(query, MAX),
        (err: unknown) => {
          assert.ok(err instanceof OciError);
          assert.equal(err.code, "PAGINATION_NUMBER_INVALID");
          assert.equal(err.status, 400);
          assert.deepEqual(err.detail, { n: detail });
          return true;
        },
      );
    });
  }

  // Nothing guessed at: what Go would read as absent, drop or split is refused.
  const refused: Array<[string, unknown]> = [
    ["n=", { parameter: "n" }],
    ["n", { parameter: "n" }],
    ["last=", { parameter: "last" }],
    ["n=2&n=9", { parameter: "n" }],
    ["n=2&n=2", { parameter: "n" }],
    ["last=a&last=b", { parameter: "last" }],
    ["last=%", { parameter: "last" }],
    ["last=%zz", { parameter: "last" }],
    ["n=%3", { parameter: "n" }],
    ["other=%&n=3", { parameter: "other" }],
    ["%=1&n=3", undefined],
    ["n=1;last=a", { parameter: "n" }],
    ["last=a;b", { parameter: "last" }],
  ];
  for (const [query, detail] of refused) {
    it(`refuses "${query}" with 400 PAGINATION_NUMBER_INVALID`, () => {
      assert.throws(
        () => parsePageQuery(query, MAX),
        (err: unknown) => {
          assert.ok(err instanceof OciError);
          assert.equal(err.code, "PAGINATION_NUMBER_INVALID");
          assert.equal(err.status, 400);
          assert.deepEqual(err.detail, detail);
          return true;
        },
      );
    });
  }

  it("honours a smaller configured maximum", () => {
    assert.deepEqual(parsePageQuery("n=100", 100), { n: 100, last: null });
    assert.throws(() => parsePageQuery("n=101", 100), OciError);
  });
});

describe("sortTags (Go sort.Strings order)", () => {
  const cases: Array<[string[], string[]]> = [
    [[], []],
    [
      ["latest", "Zed", "9", "10", "_u", "a", "A", "c-d", "c.d", "c_d", "1"],
      ["1", "10", "9", "A", "Zed", "_u", "a", "c-d", "c.d", "c_d", "latest"],
    ],
    [
      ["v1.10", "v1.9", "v1.0", "v1.0-rc1", "v1.0.1"],
      ["v1.0", "v1.0-rc1", "v1.0.1", "v1.10", "v1.9"],
    ],
    [
      ["b", "a", "b", "a"],
      ["a", "b"],
    ],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      const copy = [...input];
      assert.deepEqual(sortTags(input), expected);
      assert.deepEqual(input, copy, "input left untouched");
    });
  }

  it("agrees with a byte-wise Buffer comparison", () => {
    const tags = ["_", "-a", ".a", "0", "9", "A", "Z", "a", "z", "a_", "a-", "a.", "aA"];
    const bytewise = [...tags].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(sortTags(tags), bytewise);
    assert.equal(compareTags("B", "a"), -1);
    assert.equal(compareTags("a", "a"), 0);
  });
});

describe("indexAfter", () => {
  const sorted = ["a", "b", "d"];
  const cases: Array<[string, number]> = [
    ["", 0],
    ["0", 0],
    ["a", 1],
    ["b", 2],
    ["c", 2],
    ["d", 3],
    ["zzz", 3],
    ["€", 3],
  ];
  for (const [last, expected] of cases) {
    it(`last=${JSON.stringify(last)} → ${expected}`, () => assert.equal(indexAfter(sorted, last), expected));
  }
});

describe("paginate", () => {
  const tags = ["a", "b", "c", "d", "e"];
  const cases: Array<[string, PageQuery, string[], string | null]> = [
    ["no n: everything", { n: null, last: null }, tags, null],
    ["no n, last: everything after last", { n: null, last: "b" }, ["c", "d", "e"], null],
    ["n=0: empty, no next", { n: 0, last: null }, [], null],
    ["n=0 with last: empty, no next", { n: 0, last: "a" }, [], null],
    ["n=2: first page", { n: 2, last: null }, ["a", "b"], "b"],
    ["n=2 after b", { n: 2, last: "b" }, ["c", "d"], "d"],
    ["n=2 after d: last page, short", { n: 2, last: "d" }, ["e"], null],
    ["n equals what remains: no next", { n: 3, last: "b" }, ["c", "d", "e"], null],
    ["n=5 of 5: no next", { n: 5, last: null }, tags, null],
    ["n larger than the list", { n: 100, last: null }, tags, null],
    ["last between tags (need not exist)", { n: 2, last: "bb" }, ["c", "d"], "d"],
    ["last before every tag", { n: 1, last: "0" }, ["a"], "a"],
    ["last past the end", { n: 2, last: "zzz" }, [], null],
    ["last is the final tag", { n: 2, last: "e" }, [], null],
  ];
  for (const [title, query, expected, next] of cases) {
    it(title, () => assert.deepEqual(paginate(tags, query), { tags: expected, next }));
  }

  it("an empty list gives an empty page without next", () => {
    assert.deepEqual(paginate([], { n: 3, last: null }), { tags: [], next: null });
  });

  it("walking page by page by next visits every tag once, in order", () => {
    const all = sortTags(Array.from({ length: 103 }, (_, i) => `t${i}`));
    for (const n of [1, 7, 10, 103, 200]) {
      const seen: string[] = [];
      let last: string | null = null;
      for (let guard = 0; guard < 500; guard++) {
        const page = paginate(all, { n, last });
        assert.ok(page.tags.length === n || page.next === null, "short page only at the end");
        seen.push(...page.tags);
        if (page.next === null) break;
        last = page.next;
      }
      assert.deepEqual(seen, all, `n=${n}`);
    }
  });
});

describe("next page Link", () => {
  const cases: Array<[string, "list" | "_list", number, string, string]> = [
    ["a", "_list", 2, "b", "/v2/a/tags/_list?n=2&last=b"],
    ["a/b/c", "list", 10, "v1.0-rc_1", "/v2/a/b/c/tags/list?n=10&last=v1.0-rc_1"],
    ["x/tags", "_list", 1, "_list", "/v2/x/tags/tags/_list?n=1&last=_list"],
    ["a", "_list", 1, "a b&c=d/e?f#g", "/v2/a/tags/_list?n=1&last=a%20b%26c%3Dd%2Fe%3Ff%23g"],
    ["a", "_list", 1, "€", "/v2/a/tags/_list?n=1&last=%E2%82%AC"],
  ];
  for (const [name, variant, n, last, url] of cases) {
    it(`${name} ${variant} n=${n} last=${last}`, () => {
      assert.equal(nextPageUrl(name, variant, n, last), url);
      assert.equal(nextPageLink(name, variant, n, last), `<${url}>; rel="next"`);
      // The URL round-trips through the query parser.
      const q = new URL(url, "http://x").search.slice(1);
      assert.equal(new URLSearchParams(q).get("last"), last);
    });
  }
});

describe("parseNextLink", () => {
  const cases: Array<[string | undefined, string | null]> = [
    [undefined, null],
    ["", null],
    ['</v2/a/tags/list?last=b&n=2>; rel="next"', "/v2/a/tags/list?last=b&n=2"],
    ["</v2/a/tags/list?n=2>; rel=next", "/v2/a/tags/list?n=2"],
    ['<http://u:5000/v2/a/tags/list?n=1>; rel="next"', "http://u:5000/v2/a/tags/list?n=1"],
    ['</prev>; rel="prev", </next>; rel="next"', "/next"],
    ['</x>; title="a, b"; rel="next"', "/x"],
    ['</x>; rel="prev"', null],
    ['</x>; rel="prefetch next"', "/x"],
    ["garbage", null],
    ['</v2/_catalog?last=a%2Fb%2Fc&n=1>; rel="next"', "/v2/_catalog?last=a%2Fb%2Fc&n=1"],
    ['<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel=next', "https://x/next?a=1,2"],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${JSON.stringify(expected)}`, () =>
      assert.equal(parseNextLink(value), expected));
  }
});
