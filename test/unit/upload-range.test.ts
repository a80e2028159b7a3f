import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatRange,
  offsetAfter,
  parseContentRange,
  parseRangeEnd,
  type RangeContext,
} from "../../src/oci/upload-range.js";

describe("parseContentRange (PATCH Content-Range)", () => {
  const cases: Array<[string | undefined, { start: number; end: number } | undefined]> = [
    ["0-99", { start: 0, end: 99 }],
    [" 100-199 ", { start: 100, end: 199 }],
    ["bytes 5-9/10", { start: 5, end: 9 }],
    ["bytes=5-9", { start: 5, end: 9 }],
    ["5-9/*", { start: 5, end: 9 }],
    [undefined, undefined],
    ["", undefined],
    ["-5", undefined],
    ["5-", undefined],
    ["a-b", undefined],
    ["0-1-2", undefined],
    ["1234567890123456-1", undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseContentRange(input), expected);
    });
  }
});

describe("parseRangeEnd / formatRange (registry Range)", () => {
  it("reads 0-<end> only", () => {
    assert.equal(parseRangeEnd("0-0"), 0);
    assert.equal(parseRangeEnd("0-4"), 4);
    assert.equal(parseRangeEnd("1-4"), undefined);
    assert.equal(parseRangeEnd("bytes=0-4"), undefined);
    assert.equal(parseRangeEnd(undefined), undefined);
  });
  it("writes 0-0 for an empty session, as distribution does", () => {
    assert.equal(formatRange(0), "0-0");
    assert.equal(formatRange(1), "0-0");
    assert.equal(formatRange(5), "0-4");
  });
});

describe("offsetAfter (Range → bytes held)", () => {
  const ctx = (over: Partial<RangeContext>): RangeContext => ({
    method: "PATCH",
    before: null,
    requestLength: undefined,
    requestRange: undefined,
    ...over,
  });
  const cases: Array<[string, string | undefined, RangeContext, number | null]> = [
    ["0-N with N > 0 is N+1", "0-4", ctx({}), 5],
    ["POST 0-0 is an empty session", "0-0", ctx({ method: "POST" }), 0],
    ["PATCH of one byte on an empty session", "0-0", ctx({ before: 0, requestLength: 1 }), 1],
    ["PATCH of nothing on an empty session", "0-0", ctx({ before: 0, requestLength: 0 }), 0],
    ["PATCH with Content-Range 0-0", "0-0", ctx({ requestRange: { start: 0, end: 0 } }), 1],
    ["PATCH 0-0 with nothing to tell it apart", "0-0", ctx({ before: 0 }), null],
    ["a one-byte session stays one byte", "0-0", ctx({ before: 1, requestLength: 0 }), 1],
    ["GET 0-0 keeps a known empty session", "0-0", ctx({ method: "GET", before: 0 }), 0],
    ["GET 0-0 of an unknown session", "0-0", ctx({ method: "GET" }), null],
    ["no Range", undefined, ctx({}), null],
  ];
  for (const [name, range, c, expected] of cases) {
    it(name, () => assert.equal(offsetAfter(range, c), expected));
  }
});
