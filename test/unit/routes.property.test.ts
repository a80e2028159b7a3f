/**
 * Property-based tests (fast-check) of the route parser and the grammar
 * validators: no input throws, nothing with traversal, encoded separators or an
 * invalid name is ever classified as forwardable, and the validators agree with
 * reference regexes written from the OCI distribution-spec.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isValidDigest, isValidName, isValidTag } from "../../src/oci/grammar.js";
import { parseRoute, parseTarget, type RouteMatch } from "../../src/oci/routes.js";

// Reference grammars, from the spec text (spec.md "Pulling manifests" and "Digests"),
// written independently of src/oci/grammar.ts.
const REF_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const REF_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const REF_DIGEST = /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Registered algorithms a 2.x registry accepts, with their encoded form. */
const REF_ENCODED: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha384: /^[a-f0-9]{96}$/,
  sha512: /^[a-f0-9]{128}$/,
};

function refName(s: string): boolean {
  return s.length <= 255 && REF_NAME.test(s);
}

function refDigest(s: string): boolean {
  if (!REF_DIGEST.test(s)) return false;
  const colon = s.indexOf(":");
  const encoded = REF_ENCODED[s.slice(0, colon)];
  return encoded?.test(s.slice(colon + 1)) ?? false;
}

const HEX = "0123456789abcdef";
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...HEX), minLength: n, maxLength: n });
const validDigest = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(96).map((h) => `sha384:${h}`),
  hex(128).map((h) => `sha512:${h}`),
);
const nameComponent = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}$/);
const validName = fc
  .array(nameComponent, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join("/"))
  .filter((n) => n.length <= 255);
const validTag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);

/** Path pieces that stress the parser: traversal, encodings, route keywords, grammar edges. */
const trickySegment = fc.oneof(
  fc.constantFrom(
    "..",
    ".",
    "",
    "%2e%2e",
    "%2E%2e",
    ".%2e",
    "%2e",
    "%2f",
    "a%2Fb",
    "%5c",
    "%00",
    "\\",
    "\0",
    "%252e%252e",
    "tags",
    "list",
    "_list",
    "manifests",
    "blobs",
    "uploads",
    "referrers",
    "_catalog",
    "v2",
    "latest",
    "UPPER",
    "a-",
    "a__b",
    "a...b",
    "sha256:",
    `sha256:${"a".repeat(64)}`,
    `sha256:${"A".repeat(64)}`,
    "?",
    "#",
    ";",
    "%",
  ),
  nameComponent,
  validTag,
  validDigest,
  fc.string({ unit: "binary-ascii", maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 3 }),
);
const prefix = fc.constantFrom("/v2/", "/v2/", "/v2/", "/", "", "//", "/V2/", "http://evil.example/v2/", "*");
const trickyPath = fc
  .tuple(prefix, fc.array(trickySegment, { maxLength: 8 }), fc.boolean())
  .map(([p, segs, slash]) => `${p}${segs.join("/")}${slash ? "/" : ""}`);
const method = fc.oneof(
  fc.constantFrom("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "TRACE"),
  fc.string({ maxLength: 8 }),
);

/**
 * The target as it reaches the proxy: Node's HTTP parser answers 400 to any byte
 * above 0x7f in a request target, so a client sends other characters
 * percent-encoded (UTF-8), as it must.
 */
function asSent(target: string): string {
  return target.replace(/[\u{80}-\u{10FFFF}]/gu, (c) =>
    [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
}

/** Go's `url.unescape` in path mode (what the registry routes on), written independently. */
function goPath(raw: string): string | null {
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return null;
  return raw.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

const DOT_SEGMENT_OR_ENCODED = /(^|\/)\.{1,2}(\/|$)|%(2e|2f|5c|00)|\\|\0/i;

function nameOf(r: RouteMatch): string | undefined {
  return "name" in r ? r.name : undefined;
}

describe("parseRoute properties", () => {
  it("never throws, whatever the method and path", () => {
    fc.assert(
      fc.property(method, fc.oneof(trickyPath, fc.string({ unit: "binary", maxLength: 300 })), (m, p) => {
        parseRoute(m, p);
      }),
      { numRuns: 5000 },
    );
  });

  it("whatever it would forward is an origin-form path with no dot segment, encoded separator, NUL or backslash", () => {
    fc.assert(
      fc.property(method, trickyPath.map(asSent), (m, p) => {
        const t = parseTarget(m, p);
        if (t.route.kind === "invalid") return;
        const sent = t.upstream ?? p;
        assert.ok(sent.startsWith("/") && !sent.startsWith("//"), `not origin-form: ${JSON.stringify(sent)}`);
        const rawPath = p.split("?")[0]!;
        assert.ok(
          !DOT_SEGMENT_OR_ENCODED.test(rawPath),
          `forwardable: ${JSON.stringify(p)} → ${t.route.kind}`,
        );
        assert.ok(!DOT_SEGMENT_OR_ENCODED.test(t.path), `forwardable: ${JSON.stringify(t.path)}`);
        // What goes upstream decodes (once, as Go does) to the path every rule read.
        assert.equal(goPath(sent.split("?")[0]!), t.path, JSON.stringify(p));
      }),
      { numRuns: 10_000 },
    );
  });

  it("every repository name it returns is valid per the spec grammar and is the path's own prefix", () => {
    fc.assert(
      fc.property(method, trickyPath, (m, p) => {
        const t = parseTarget(m, p);
        const r = t.route;
        const name = nameOf(r);
        if (name === undefined) return;
        assert.ok(refName(name), `invalid name accepted: ${JSON.stringify(name)} from ${JSON.stringify(p)}`);
        // The repository delete's name is the whole path; every other route's is a prefix.
        const whole = r.kind === "repository" && t.path === `/v2/${name}`;
        assert.ok(
          whole || t.path.startsWith(`/v2/${name}/`),
          `name ${name} is not the prefix of ${t.path} (${p})`,
        );
        if (r.kind === "repository") assert.ok(whole, `repository ${name} is not the whole of ${t.path}`);
        if (r.kind === "manifest") {
          assert.ok(r.by === "tag" ? REF_TAG.test(r.reference) : refDigest(r.reference), r.reference);
        }
        if (r.kind === "blob" || r.kind === "referrers") assert.ok(refDigest(r.digest), r.digest);
        if (r.kind === "tag") assert.ok(REF_TAG.test(r.tag), r.tag);
      }),
      { numRuns: 10_000 },
    );
  });

  it("valid names, tags and digests are routed to the right kind with the exact values", () => {
    fc.assert(
      fc.property(validName, validTag, validDigest, (name, tag, digest) => {
        assert.deepEqual(parseRoute("GET", `/v2/${name}/manifests/${tag}`), {
          kind: "manifest",
          name,
          reference: tag,
          by: "tag",
        });
        assert.deepEqual(parseRoute("HEAD", `/v2/${name}/manifests/${digest}`), {
          kind: "manifest",
          name,
          reference: digest,
          by: "digest",
        });
        assert.deepEqual(parseRoute("GET", `/v2/${name}/blobs/${digest}`), { kind: "blob", name, digest });
        assert.deepEqual(parseRoute("GET", `/v2/${name}/tags/list`), {
          kind: "tags-list",
          name,
          variant: "list",
        });
        assert.deepEqual(parseRoute("POST", `/v2/${name}/blobs/uploads/`), { kind: "upload-start", name });
      }),
      { numRuns: 2000 },
    );
  });

  it("a dot segment or encoded separator anywhere in a /v2/ path makes it invalid", () => {
    const bad = fc.constantFrom("..", ".", "%2e%2e", "%2E%2E", "%2f", "%2F", "%5c", "%00", "");
    fc.assert(
      fc.property(
        method,
        fc.array(nameComponent, { maxLength: 3 }),
        bad,
        fc.array(nameComponent, { maxLength: 3 }),
        fc.constantFrom("tags/list", "manifests/latest", `blobs/sha256:${"a".repeat(64)}`, "blobs/uploads/"),
        (m, before, b, afterParts, suffix) => {
          const path = `/v2/${[...before, b, ...afterParts].join("/")}/${suffix}`;
          assert.equal(parseRoute(m, path).kind, "invalid", path);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/**
 * A spelling of a path as an attacker writes it: each character literal or
 * percent-encoded (either hex case, sometimes twice), and now and then a `;`, an
 * empty segment or a `/./` slipped in.
 */
function spellingOf(path: string): fc.Arbitrary<string> {
  const chars = [...path.slice(1)];
  const hexOf = (ch: string) => ch.charCodeAt(0).toString(16).padStart(2, "0");
  const one = (ch: string) =>
    fc.oneof(
      { arbitrary: fc.constant(ch), weight: 2 },
      { arbitrary: fc.constantFrom(`%${hexOf(ch)}`, `%${hexOf(ch).toUpperCase()}`), weight: 1 },
    );
  // At most one character encoded twice, in some spellings only.
  const twice = fc.oneof(
    { arbitrary: fc.constant(null), weight: 4 },
    { arbitrary: fc.nat(chars.length - 1), weight: 1 },
  );
  const extra = fc.constantFrom(";", "%3b", "/", "/./", "%2f");
  const inserts = fc.oneof(
    { arbitrary: fc.constant([] as Array<[number, string]>), weight: 2 },
    { arbitrary: fc.array(fc.tuple(fc.nat(chars.length), extra), { minLength: 1, maxLength: 2 }), weight: 1 },
  );
  return fc.tuple(fc.tuple(...chars.map(one)), twice, inserts).map(([spelt, doubled, changes]) => {
    const out = [...spelt];
    if (doubled !== null) out[doubled] = `%25${hexOf(chars[doubled]!)}`;
    for (const [at, what] of changes) out.splice(at, 0, what);
    return `/${out.join("")}`;
  });
}

describe("parseTarget: every spelling meets the plain path's route", () => {
  const plain = fc.tuple(
    validName,
    fc.oneof(
      validTag.map((t) => ({ method: "PUT", suffix: `manifests/${t}` })),
      validDigest.map((d) => ({ method: "DELETE", suffix: `manifests/${d}` })),
      validTag.map((t) => ({ method: "DELETE", suffix: `tags/${t}` })),
      fc.constant({ method: "POST", suffix: "blobs/uploads/" }),
      fc.constant({ method: "GET", suffix: "tags/_list" }),
    ),
  );
  it("a spelling the registry decodes to the plain path is that route; anything else is refused or no route at all", () => {
    let readAsPlain = 0;
    fc.assert(
      fc.property(
        plain.chain(([name, r]) => {
          const path = `/v2/${name}/${r.suffix}`;
          return fc.tuple(fc.constant(r.method), fc.constant(path), spellingOf(path));
        }),
        ([m, path, spelt]) => {
          const expected = parseRoute(m, path);
          const t = parseTarget(m, spelt);
          const registryReads = goPath(spelt);
          if (registryReads === path) {
            // The registry serves this spelling as the plain route: the same route here,
            // unless it encodes a dot or a slash or twice (refused: 400, never forwarded).
            if (/%2e|%2f|%25/i.test(spelt)) assert.equal(t.route.kind, "invalid", spelt);
            else {
              assert.deepEqual(t.route, expected, spelt);
              if (spelt !== path) readAsPlain++;
            }
            return;
          }
          // Any other reading: never taken for the plain route's writes under another name.
          if (t.route.kind === "invalid") return;
          assert.equal(goPath((t.upstream ?? spelt).split("?")[0]!), t.path, spelt);
        },
      ),
      { numRuns: 5000 },
    );
    assert.ok(readAsPlain >= 150, `only ${readAsPlain} encoded spellings routed as the plain path`);
  });
});

describe("grammar validators agree with the spec's reference regexes", () => {
  const nameish = fc.oneof(
    validName,
    fc.string({ unit: fc.constantFrom(..."abz09._-/A"), maxLength: 20 }),
    fc.string({ maxLength: 20 }),
    validName.map((n) => `${n}${"x".repeat(250)}`),
  );
  const tagish = fc.oneof(
    validTag,
    fc.string({ unit: fc.constantFrom(..."aZ9_.-:/ "), maxLength: 10 }),
    fc.string({ unit: fc.constantFrom(..."aZ9_.-"), minLength: 120, maxLength: 140 }),
    fc.string({ maxLength: 20 }),
  );
  const digestish = fc.oneof(
    validDigest,
    fc
      .tuple(
        fc.constantFrom("sha256", "sha384", "sha512", "md5", "SHA256", "sha256+b64", "", "sha.256"),
        fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFxyz=_-"), maxLength: 130 }),
      )
      .map(([a, e]) => `${a}:${e}`),
    validDigest.map((d) => d.toUpperCase()),
    validDigest.map((d) => `${d}0`),
    validDigest.map((d) => d.slice(0, -1)),
    fc.string({ maxLength: 80 }),
  );

  it("isValidName", () => {
    fc.assert(
      fc.property(nameish, (s) => {
        assert.equal(isValidName(s), refName(s), JSON.stringify(s));
      }),
      { numRuns: 5000 },
    );
  });

  it("isValidTag", () => {
    fc.assert(
      fc.property(tagish, (s) => {
        assert.equal(isValidTag(s), REF_TAG.test(s), JSON.stringify(s));
      }),
      { numRuns: 5000 },
    );
  });

  it("isValidDigest", () => {
    fc.assert(
      fc.property(digestish, (s) => {
        assert.equal(isValidDigest(s), refDigest(s), JSON.stringify(s));
      }),
      { numRuns: 5000 },
    );
  });
});
