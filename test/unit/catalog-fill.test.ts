import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  catalogLink,
  compareRepositories,
  goQueryEscape,
  linkPageSize,
  widenedCatalogQuery,
} from "../../src/oci/catalog-page.js";
import { type CatalogVerdict, nextFillStep } from "../../src/tags/catalog-fill.js";

/** Runs the decision to the end against a fixed catalog, paged by the registry `n` at a time. */
function fill(all: string[], empty: Set<string>, n: number, last: string | null) {
  const after = all.filter((x) => last === null || compareRepositories(x, last) > 0);
  const page = (from: string[]) => ({ names: from.slice(0, n), more: from.length > n });
  let p = page(after);
  const candidates = [...p.names];
  const verdicts = new Map<string, CatalogVerdict>();
  let more = p.more;
  for (;;) {
    const step = nextFillStep({
      n: more || candidates.length === n ? n : null,
      candidates,
      verdicts,
      upstreamMore: more,
    });
    if (step.kind === "page") return step;
    if (step.kind === "check") for (const x of step.names) verdicts.set(x, empty.has(x) ? "empty" : "listed");
    else {
      p = page(after.filter((x) => compareRepositories(x, step.after) > 0));
      candidates.push(...p.names);
      more = p.more;
    }
  }
}

describe("catalog page filling (tags/catalog-fill.ts)", () => {
  const all = Array.from({ length: 40 }, (_, i) => `r${String(i).padStart(2, "0")}`);
  const empty = new Set(all.filter((_, i) => i % 3 === 0 || (i >= 10 && i < 20)));
  const listed = all.filter((x) => !empty.has(x));
  for (const n of [1, 2, 5, 7, 13]) {
    it(`n=${n}: every page full while more follow, next exactly when a listed name follows, the walk yields the listed names`, () => {
      const got: string[] = [];
      let last: string | null = null;
      for (let pages = 0; pages < 100; pages++) {
        const step = fill(all, empty, n, last);
        got.push(...step.repositories);
        if (step.next === null) break;
        assert.equal(step.repositories.length, n);
        last = step.next;
      }
      assert.deepEqual(got, listed);
    });
  }

  it("no next when only empty repositories follow a full page", () => {
    const step = fill(["a", "b", "c", "d"], new Set(["c", "d"]), 2, null);
    assert.deepEqual(step, { kind: "page", repositories: ["a", "b"], next: null });
  });
});

describe("the catalog's form (oci/catalog-page.ts)", () => {
  it("orders / before every other character, as 2.8.2's catalog does", () => {
    const names = ["ab", "a_b", "a-b", "a/b/c", "a.b", "a", "a/b", "b"];
    assert.deepEqual(names.sort(compareRepositories), ["a", "a/b", "a/b/c", "a-b", "a.b", "a_b", "ab", "b"]);
  });
  it("writes the Link as 2.8.2: last then n, / as %2F; reads n back", () => {
    assert.equal(catalogLink("a/b/c", 3), '</v2/_catalog?last=a%2Fb%2Fc&n=3>; rel="next"');
    assert.equal(goQueryEscape("a b~*"), "a+b~%2A");
    assert.equal(linkPageSize("/v2/_catalog?last=x&n=100"), 100);
    assert.equal(linkPageSize("/v2/_catalog?last=x"), null);
  });
});

describe("the registry page the proxy asks for (widenedCatalogQuery)", () => {
  it("doubles a plain n up to 1000, keeping everything else byte for byte", () => {
    assert.deepEqual(widenedCatalogQuery("n=100", 2, 1000), { query: "n=200", n: 100, upstreamN: 200 });
    assert.deepEqual(widenedCatalogQuery("last=a%2Fb&n=3&x=%zz", 2, 1000), {
      query: "last=a%2Fb&n=6&x=%zz",
      n: 3,
      upstreamN: 6,
    });
    assert.deepEqual(widenedCatalogQuery("n=700", 2, 1000), { query: "n=1000", n: 700, upstreamN: 1000 });
  });
  it("leaves every other query as it came (the registry reads it)", () => {
    for (const q of [
      "",
      "n=1000",
      "n=1001",
      "n=0",
      "n=-1",
      "n=abc",
      "n=05",
      "n=2&n=3",
      "%6E=2",
      "n=2;x",
      "n=",
      "n",
    ])
      assert.equal(widenedCatalogQuery(q, 2, 1000), null, q);
  });
});
