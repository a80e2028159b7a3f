import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isoTimestamp } from "../../src/ops/logger.js";

const expected = (t: number) => `,"time":"${new Date(t).toISOString()}"`;

describe("access log timestamps (date formatted once per second)", () => {
  it("equal toISOString at second and millisecond edges", () => {
    for (const t of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1764331199999, 1764331200000, 1764331200005]) {
      assert.equal(isoTimestamp(t), expected(t));
    }
  });

  it("equal toISOString for any time, in any order (the cached second changes)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4_102_444_800_000 }), { minLength: 1, maxLength: 20 }),
        (ts) => {
          for (const t of ts) assert.equal(isoTimestamp(t), expected(t));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
