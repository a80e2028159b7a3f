import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseChallenges } from "../../src/oci/auth-challenge.js";
import { PatternError, parsePattern } from "../../src/oci/name-patterns.js";
import { DurationError, formatAge, parseDuration } from "../../src/prune/duration.js";

describe("parsePattern (globs and /regex/)", () => {
  const cases: Array<[pattern: string, name: string, matches: boolean]> = [
    ["latest", "latest", true],
    ["latest", "latest2", false],
    ["v*", "v1.2.3", true],
    ["v*", "xv1", false],
    ["*-rc?", "1.0-rc1", true],
    ["*-rc?", "1.0-rc10", false],
    ["v1.?", "v1.x", true],
    ["v1.*", "v1x2", false], // the dot is literal
    ["[0-9]*", "2024-01", true],
    ["[0-9]*", "v2024", false],
    ["[!v]*", "latest", true],
    ["[!v]*", "v1", false],
    ["team/*", "team/app", true],
    ["team/*", "team/app/sub", false], // * stops at /
    ["team/**", "team/app/sub", true],
    ["**/app", "a/b/app", true],
    ["a+b", "a+b", true],
    ["a+b", "aab", false],
    ["/^v\\d+$/", "v12", true],
    ["/^v\\d+$/", "v12-rc", false],
    ["/rc/", "1.0-rc1", true], // searched, not anchored
    ["/^LATEST$/i", "latest", true],
    ["/^pr-/", "pr-1", true],
  ];
  for (const [pattern, name, matches] of cases) {
    it(`${pattern} ${matches ? "matches" : "does not match"} ${name}`, () => {
      assert.equal(parsePattern(pattern).test(name), matches);
    });
  }

  it("marks plain names as literal and globs and regexes as not", () => {
    assert.equal(parsePattern("demo/app").literal, true);
    assert.equal(parsePattern("demo/*").literal, false);
    assert.equal(parsePattern("/demo/").literal, false);
  });

  it("refuses empty patterns, unclosed classes and invalid regexes", () => {
    for (const bad of ["", "v[1", "/(/"]) assert.throws(() => parsePattern(bad), PatternError, bad);
  });
});

describe("parseDuration (--older-than)", () => {
  const ok: Array<[string, number]> = [
    ["30d", 30 * 86400_000],
    ["12h", 12 * 3600_000],
    ["90m", 90 * 60_000],
    ["45s", 45_000],
    ["2w", 14 * 86400_000],
    ["1d12h", 36 * 3600_000],
    [" 7D ", 7 * 86400_000],
  ];
  for (const [text, ms] of ok)
    it(`parses ${JSON.stringify(text)}`, () => assert.equal(parseDuration(text), ms));

  for (const bad of ["", "30", "d", "30 d", "-1d", "1.5d", "30days", "1y", "0d", "99999999999999999w"]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseDuration(bad), DurationError));
  }

  it("formats ages with the two largest units", () => {
    assert.equal(formatAge(0), "0s");
    assert.equal(formatAge(45_000), "45s");
    assert.equal(formatAge(3 * 86400_000 + 4 * 3600_000 + 5 * 60_000), "3d 4h");
    assert.equal(formatAge(3 * 86400_000 + 5 * 60_000), "3d");
    assert.equal(formatAge(-1), "in the future");
  });
});

describe("parseChallenges (WWW-Authenticate)", () => {
  it("reads distribution's Bearer challenge with a multi-scope scope", () => {
    const h =
      'Bearer realm="http://127.0.0.1:15011/token",service="legacy-registry",scope="repository:other/repo:pull repository:demo/app:pull,push"';
    assert.deepEqual(parseChallenges(h), [
      {
        scheme: "bearer",
        params: {
          realm: "http://127.0.0.1:15011/token",
          service: "legacy-registry",
          scope: "repository:other/repo:pull repository:demo/app:pull,push",
        },
      },
    ]);
  });

  it("reads error and unquoted parameters", () => {
    const [c] = parseChallenges('Bearer realm="https://a/t", error="insufficient_scope", foo=bar');
    assert.deepEqual(c, {
      scheme: "bearer",
      params: { realm: "https://a/t", error: "insufficient_scope", foo: "bar" },
    });
  });

  it("splits several challenges in one header", () => {
    const got = parseChallenges('Basic realm="basic-realm", Bearer realm="https://auth/token",service="reg"');
    assert.deepEqual(got, [
      { scheme: "basic", params: { realm: "basic-realm" } },
      { scheme: "bearer", params: { realm: "https://auth/token", service: "reg" } },
    ]);
  });

  it("keeps commas and escaped quotes inside quoted values", () => {
    const [c] = parseChallenges('Bearer realm="https://a/t?x=1,2",scope="a \\"b\\""');
    assert.equal(c!.params["realm"], "https://a/t?x=1,2");
    assert.equal(c!.params["scope"], 'a "b"');
  });

  it("lowercases scheme and parameter names, skips token68 and bare schemes", () => {
    assert.deepEqual(parseChallenges("NEGOTIATE abc==, BASIC Realm=x, Digest"), [
      { scheme: "negotiate", params: {} },
      { scheme: "basic", params: { realm: "x" } },
      { scheme: "digest", params: {} },
    ]);
    assert.deepEqual(parseChallenges(""), []);
  });
});
