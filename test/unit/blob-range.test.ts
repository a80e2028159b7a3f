import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEmptyPartial, rangeToForward, representationLength } from "../../src/oci/blob-range.js";

describe("rangeToForward (RFC 9110 §14.2)", () => {
  const cases: Array<[string, string, string | undefined]> = [
    ["GET", "bytes=0-9", "bytes=0-9"],
    ["GET", "bytes=500-0", "bytes=500-0"],
    ["GET", "Bytes=0-9", "bytes=0-9"],
    ["GET", "BYTES =0-9", "bytes=0-9"],
    ["GET", "items=0-9", undefined],
    ["GET", "0-9", undefined],
    ["HEAD", "bytes=0-9", undefined],
    ["PUT", "bytes=0-9", undefined],
  ];
  for (const [method, value, expected] of cases) {
    it(`${method} Range: ${value} → ${expected ?? "dropped"}`, () => {
      assert.equal(rangeToForward(method, value), expected);
    });
  }
});

describe("representationLength", () => {
  it("reads the total of Content-Range, else Content-Length", () => {
    assert.equal(representationLength({ "content-range": "bytes */2048", "content-length": "2048" }), 2048);
    assert.equal(
      representationLength({ "content-range": "bytes 2048-2047/2048", "content-length": "0" }),
      2048,
    );
    assert.equal(representationLength({ "content-length": "2048" }), 2048);
    assert.equal(representationLength({ "content-range": "bytes 0-1/*", "content-length": "x" }), undefined);
    assert.equal(representationLength({}), undefined);
  });
  it("a 206 without a byte is an empty partial", () => {
    assert.equal(isEmptyPartial({ "content-length": "0" }), true);
    assert.equal(isEmptyPartial({ "content-length": "10" }), false);
    assert.equal(isEmptyPartial({}), false);
  });
});
