/**
 * The canonical path (src/oci/canonical-path.ts) and the spelling sent upstream
 * (src/oci/percent-encoding.ts): a table of what 2.8 reads (registry-2.8 notes
 * §13) and properties against an independent reading of Go's `url.unescape`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalPath, REFUSED } from "../../src/oci/canonical-path.js";
import { encodePath, percentDecode } from "../../src/oci/percent-encoding.js";

const D = `sha256:${"a".repeat(64)}`;

const cases: Array<[string, string | keyof typeof REFUSED]> = [
  // Plain paths are their own canonical form.
  ["/v2/", "/v2/"],
  ["/v2/a/b/manifests/latest", "/v2/a/b/manifests/latest"],
  ["/v2/a/manifests/latest;x", "/v2/a/manifests/latest;x"],
  // What 2.8 decodes once and routes (notes §13), either hex case.
  ["/%762/a/manifests/latest", "/v2/a/manifests/latest"],
  ["/v%32/a/manifests/latest", "/v2/a/manifests/latest"],
  ["/%76%32/a/manifests/latest", "/v2/a/manifests/latest"],
  ["/v2/a/%6danifests/latest", "/v2/a/manifests/latest"],
  ["/v2/a/%6Danifests/latest", "/v2/a/manifests/latest"],
  ["/v2/a/manifest%73/latest", "/v2/a/manifests/latest"],
  ["/v2/a/manifests/lat%65st", "/v2/a/manifests/latest"],
  ["/v2/a/manifests/%6catest", "/v2/a/manifests/latest"],
  [`/v2/a/manifests/sha256%3A${"a".repeat(64)}`, `/v2/a/manifests/${D}`],
  [`/v2/a/manifests/sha256%3a${"a".repeat(64)}`, `/v2/a/manifests/${D}`],
  ["/v2/a/tags/%5flist", "/v2/a/tags/_list"],
  ["/v2/a/blobs/uploads%2F", "separator"],
  ["/v2/a/manifests/latest%3b", "/v2/a/manifests/latest;"],
  ["/v2/a/manifests/latest%3F", "/v2/a/manifests/latest?"],
  ["/v2/a/manifests/latest%23x", "/v2/a/manifests/latest#x"],
  ["/v2/a/manifests/caf%C3%A9", "/v2/a/manifests/caf\u00c3\u00a9"],
  ["/v2/a/manifests/a+b", "/v2/a/manifests/a+b"],
  ["/v2/a/manifests/a%2Bb", "/v2/a/manifests/a+b"],
  ["/v2/a/manifests/a%20b", "/v2/a/manifests/a b"],
  // Refused: what the proxy will not map.
  ["/v2/bench%2fbig/manifests/latest", "separator"],
  ["/v2/a/%2e%2e/manifests/latest", "separator"],
  ["/v2/a.%2E/manifests/latest", "separator"],
  ["/v2/a%5cb/manifests/latest", "separator"],
  ["/v2/a%00/manifests/latest", "separator"],
  ["/v2/a\\b/manifests/latest", "separator"],
  ["/v2/a\0/manifests/latest", "separator"],
  ["/%2576%32/a/manifests/latest", "double"],
  ["/v2/a/manifests/lat%2565st", "double"],
  ["/v2/a/manifests/latest%", "escape"],
  ["/v2/a/manifests/latest%6", "escape"],
  ["/v2/a/manifests/latest%zz", "escape"],
  ["/v2/a/manifests/latest%g0", "escape"],
  ["/v2/a/manifests/latest#x/y", "fragment"],
  ["/v2/a/manifests/latest#", "fragment"],
  ["/v2/a/manifests/lat%0aest", "control"],
  ["/v2/a/manifests/lat%7fest", "control"],
  ["/v2/a/manifests/lat\u0001est", "control"],
];

describe("canonicalPath", () => {
  for (const [raw, expected] of cases) {
    const refusal = expected in REFUSED ? REFUSED[expected as keyof typeof REFUSED] : null;
    it(`${JSON.stringify(raw)} → ${refusal ? `refused (${expected})` : JSON.stringify(expected)}`, () => {
      assert.deepEqual(canonicalPath(raw), refusal ?? expected);
    });
  }

  it("a plain path is returned as the very same string (no work, no copy)", () => {
    const raw = "/v2/a/b/manifests/v1.0";
    assert.equal(canonicalPath(raw), raw);
  });
});

/** Go's `url.unescape` in path mode, written independently: one regex pass. */
function goPath(raw: string): string | null {
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return null;
  return raw.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

const PATH_CHARS = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/%? <>\"{}|^`[]",
];
const byte = fc.integer({ min: 0, max: 255 });
/** A spelling of `s`: each character literal, or %XX in either hex case. */
const spell = (s: string) =>
  fc
    .array(fc.constantFrom("literal", "lower", "upper"), { minLength: s.length, maxLength: s.length })
    .map((how) =>
      [...s]
        .map((ch, i) => {
          const hex = ch.charCodeAt(0).toString(16).padStart(2, "0");
          if (how[i] === "lower") return `%${hex.toLowerCase()}`;
          if (how[i] === "upper") return `%${hex.toUpperCase()}`;
          return ch;
        })
        .join(""),
    );

describe("canonicalPath against Go's reading", () => {
  it("whatever it accepts is exactly what Go's path decoding gives", () => {
    const raw = fc.oneof(
      fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 40 }).map((s) => `/${s}`),
      fc
        .array(byte, { maxLength: 20 })
        .map((bs) => `/${bs.map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")}`),
    );
    fc.assert(
      fc.property(raw, (r) => {
        const c = canonicalPath(r);
        if (typeof c !== "string") return;
        assert.equal(c, goPath(r), JSON.stringify(r));
      }),
      { numRuns: 20_000 },
    );
  });

  it("every spelling of a path decodes to that path, or is refused", () => {
    const plain = fc
      .array(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,6}$/), { minLength: 1, maxLength: 5 })
      .map((segs) => `/v2/${segs.join("/")}`)
      .filter((p) => !/\/\.{1,2}(?:\/|$)/.test(p));
    fc.assert(
      fc.property(
        plain.chain((p) => fc.tuple(fc.constant(p), spell(p.slice(1)))),
        ([p, spelt]) => {
          const c = canonicalPath(`/${spelt}`);
          if (typeof c === "string") assert.equal(c, p);
          else assert.ok(/%2e|%2f/i.test(spelt), `refused without an encoded dot or slash: ${spelt}`);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe("encodePath (the spelling sent upstream)", () => {
  const decodedPath = fc
    .array(fc.string({ unit: byte.map((b) => String.fromCharCode(b)), minLength: 1, maxLength: 8 }), {
      minLength: 1,
      maxLength: 5,
    })
    .map((segs) => `/${segs.join("/")}`)
    .filter((p) => !/(?:^|\/)\.{1,2}(?:\/|$)/.test(p) && !p.includes("//"));

  it("Go decodes it back to exactly the path every rule examined", () => {
    fc.assert(
      fc.property(decodedPath, (p) => {
        assert.equal(goPath(encodePath(p)), p);
        assert.equal(percentDecode(encodePath(p), false), p);
      }),
      { numRuns: 20_000 },
    );
  });

  it("the WHATWG URL parser (http-proxy-3 parses every forwarded target) leaves it unchanged", () => {
    fc.assert(
      fc.property(decodedPath, (p) => {
        const spelt = encodePath(p);
        assert.equal(new URL(spelt, "http://upstream.invalid").pathname, spelt);
      }),
      { numRuns: 20_000 },
    );
  });

  it("a canonical path the proxy accepted is re-read as itself", () => {
    fc.assert(
      fc.property(decodedPath, (p) => {
        const c = canonicalPath(encodePath(p));
        if (typeof c === "string") assert.equal(c, p);
      }),
      { numRuns: 5000 },
    );
  });

  it("plain API paths are sent as they are", () => {
    for (const p of ["/v2/a/b/manifests/v1.0", `/v2/a/blobs/${D}`, "/v2/a/blobs/uploads/x-Y_1.2="]) {
      assert.equal(encodePath(p), p);
    }
    assert.equal(encodePath("/v2/a/manifests/a b#?%"), "/v2/a/manifests/a%20b%23%3F%25");
  });
});

describe("percentDecode in a query (plus is a space)", () => {
  const cases: Array<[string, string | null]> = [
    ["a+b", "a b"],
    ["a%2Bb", "a+b"],
    ["a%2bb", "a+b"],
    ["%41", "A"],
    ["%", null],
    ["a%4", null],
    ["%G1", null],
    ["", ""],
  ];
  for (const [s, expected] of cases) {
    it(`${JSON.stringify(s)} → ${JSON.stringify(expected)}`, () =>
      assert.equal(percentDecode(s, true), expected));
  }
});
