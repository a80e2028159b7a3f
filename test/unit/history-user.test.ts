/**
 * Who made a change: the Basic username, or a Bearer JWT's `sub` (read, not verified).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { subOfJwt, userOf } from "../../src/history/user.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const jwt = (payload: object) =>
  `${Buffer.from('{"alg":"ES256"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.c2ln`;

describe("userOf", () => {
  const cases: Array<[string, string | undefined, string | null]> = [
    ["Basic: the username", `Basic ${b64("alice:s3cret:with:colons")}`, "alice"],
    ["basic in lower case", `basic ${b64("bob:x")}`, "bob"],
    ["Basic without a colon", `Basic ${b64("nocolon")}`, null],
    ["Basic with an empty username", `Basic ${b64(":pw")}`, null],
    ["Bearer JWT: its sub", `Bearer ${jwt({ sub: "carol", iss: "x" })}`, "carol"],
    ["Bearer JWT without sub", `Bearer ${jwt({ iss: "x" })}`, null],
    ["Bearer that is no JWT", "Bearer opaque-token", null],
    ["Bearer with a payload that is not JSON", "Bearer a.bm90IGpzb24.c", null],
    ["another scheme", "Digest username=x", null],
    ["no header", undefined, null],
    ["control characters are dropped", `Basic ${b64("ev\nil\u0007:pw")}`, "evil"],
  ];
  for (const [name, header, expected] of cases) {
    it(name, () => assert.equal(userOf(header), expected));
  }

  it("a long name is cut at 200 characters", () => {
    assert.equal(subOfJwt(jwt({ sub: "x".repeat(500) }))?.length, 200);
  });
});
