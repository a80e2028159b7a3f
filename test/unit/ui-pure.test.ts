/**
 * The web UI's pure parts: its addresses, who the visitor is, what a manifest
 * shows, and the routing table's part for `/ui` and `/`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { acceptsHtml, ownerOf } from "../../src/http/routing.js";
import { parseRoute } from "../../src/oci/routes.js";
import { loadAssets } from "../../src/ui/assets.js";
import { formatSize, shortDigest, viewManifest } from "../../src/ui/manifest-view.js";
import { parseUiPath, uiUrl } from "../../src/ui/paths.js";
import { hasTag, isReferrersTag } from "../../src/ui/reads.js";
import { parseBasic, visitorOf } from "../../src/ui/visitor.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseUiPath: what a path under /ui/ names", () => {
  const cases: Array<[string, ReturnType<typeof parseUiPath>]> = [
    ["/ui/", { kind: "repositories" }],
    ["/ui/_login", { kind: "login" }],
    ["/ui/assets/ui.css", { kind: "asset", file: "ui.css" }],
    ["/ui/assets/../x.css", null],
    ["/ui/assets/UI.CSS", null],
    ["/ui/r/", { kind: "open" }],
    ["/ui/r/app", { kind: "repository", name: "app" }],
    ["/ui/r/team/app", { kind: "repository", name: "team/app" }],
    // A repository whose components are named like the markers' words, without the underscore.
    ["/ui/r/tags/delete", { kind: "repository", name: "tags/delete" }],
    ["/ui/r/team/app/_tags/v1.0", { kind: "tag", name: "team/app", tag: "v1.0" }],
    ["/ui/r/team/app/_tags/_list", { kind: "tag", name: "team/app", tag: "_list" }],
    ["/ui/r/team/app/_tags/_delete", { kind: "tag", name: "team/app", tag: "_delete" }],
    ["/ui/r/team/app/_tags/v1/_delete", { kind: "delete-tag", name: "team/app", tag: "v1" }],
    ["/ui/r/team/app/_tags/v1/_history", { kind: "tag-history", name: "team/app", tag: "v1" }],
    ["/ui/r/team/app/_delete", { kind: "delete-repository", name: "team/app" }],
    ["/ui/r/team/app/_tags/v1/_undelete", { kind: "undelete-tag", name: "team/app", tag: "v1" }],
    ["/ui/r/team/app/_history", { kind: "repository-history", name: "team/app" }],
    ["/ui/r/history", { kind: "repository", name: "history" }],
    ["/ui/r/_history", null],
    ["/ui/r/team/app/_tags/v1/_undelete/x", null],
    ["/ui/r/team/app/_tags/v1/", null],
    ["/ui/r/team/app/_tags/v1/_delete/x", null],
    ["/ui/r/team/app/_tags/v1/_other", null],
    ["/ui/r/team/app/_tags/v1/constructor", null],
    ["/ui/r/Team/app", null],
    ["/ui/r/team//app", null],
    ["/ui/r/team/app/", null],
    ["/ui/r/team/app/_tags/", null],
    ["/ui/r/team/app/_tags/-bad", null],
    [`/ui/r/team/app/_tags/${"t".repeat(129)}`, null],
    ["/ui/r/a/_tags/<script>", null],
    ["/ui/elsewhere", null],
  ];
  for (const [path, expected] of cases) {
    it(`${path} → ${expected === null ? "nothing" : expected.kind}`, () => {
      assert.deepEqual(parseUiPath(path), expected);
    });
  }

  it("every link the pages build parses back to its page", () => {
    assert.deepEqual(parseUiPath(uiUrl.repository("a/b")), { kind: "repository", name: "a/b" });
    assert.deepEqual(parseUiPath(uiUrl.tag("a/b", "v1")), { kind: "tag", name: "a/b", tag: "v1" });
    assert.deepEqual(parseUiPath(uiUrl.deleteTag("a/b", "v1")), {
      kind: "delete-tag",
      name: "a/b",
      tag: "v1",
    });
    assert.equal(uiUrl.repository("a", { last: "v 1&x", n: 5, view: null }), "/ui/r/a?last=v+1%26x&n=5");
    assert.equal(uiUrl.repositories({ q: "", last: null }), "/ui/");
  });
});

describe("visitorOf: the visitor's own credentials", () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;

  it("Basic credentials are a login (a password may hold colons)", () => {
    const v = visitorOf(basic("alice:pa:ss"));
    assert.deepEqual(v.credentials, { kind: "login", username: "alice", password: "pa:ss" });
    assert.equal(v.user, "alice");
    assert.equal(v.authorization, basic("alice:pa:ss"));
  });

  it("no credentials are anonymous; a Bearer token passes as it is", () => {
    assert.equal(visitorOf(undefined).credentials.kind, "anonymous");
    assert.equal(visitorOf(undefined).user, null);
    const bearer = visitorOf("Bearer abc.def");
    assert.deepEqual(bearer.credentials, { kind: "caller", headers: { authorization: "Bearer abc.def" } });
  });

  it("anything else is nobody, never a login", () => {
    for (const h of ["Basic", "Basic !!!", basic("nocolon"), basic(":pw"), "Digest x"]) {
      assert.equal(visitorOf(h).credentials.kind, "anonymous", h);
      assert.equal(parseBasic(h), null, h);
    }
  });

  it("the cache key is a hash, different per credentials, never the secret", () => {
    const a = visitorOf(basic("alice:secret"));
    const b = visitorOf(basic("alice:other"));
    assert.notEqual(a.key, b.key);
    assert.match(a.key, /^[a-f0-9]{64}$/);
    assert.ok(!a.key.includes("secret"));
  });
});

describe("viewManifest: what a tag's row and page show", () => {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));

  it("an image: layers, config, size of config and layers, annotations", () => {
    const v = viewManifest(
      json({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D, size: 100 },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D, size: 1000 },
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D, size: 2345 },
        ],
        annotations: { "org.example": "<b>x</b>", n: 5 },
      }),
      "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
      D,
    );
    assert.equal(v.kind, "image");
    assert.equal(v.size, 3445);
    assert.equal(v.layers.length, 2);
    assert.equal(v.artifactType, undefined);
    assert.deepEqual(v.annotations, { "org.example": "<b>x</b>" });
  });

  it("an index: its platforms, attestations left out", () => {
    const v = viewManifest(
      json({
        schemaVersion: 2,
        manifests: [
          { mediaType: "m", digest: D, size: 1, platform: { os: "linux", architecture: "amd64" } },
          {
            mediaType: "m",
            digest: D,
            size: 1,
            platform: { os: "linux", architecture: "arm", variant: "v7" },
          },
          {
            mediaType: "m",
            digest: D,
            size: 1,
            platform: { os: "unknown", architecture: "unknown" },
            annotations: { "vnd.docker.reference.type": "attestation-manifest" },
          },
        ],
      }),
      "application/vnd.oci.image.index.v1+json",
      D,
    );
    assert.equal(v.kind, "index");
    assert.deepEqual(v.platforms, ["linux/amd64", "linux/arm/v7"]);
    assert.equal(v.size, undefined);
    assert.equal(v.children[2]?.attestation, true);
  });

  it("an artifact names its type; a field of the wrong type is left out; nonsense is 'other'", () => {
    const art = viewManifest(
      json({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.example.sbom", digest: D, size: "x" },
        layers: [{ digest: 5 }, { digest: D, size: -1 }],
        subject: { digest: D },
      }),
      "application/vnd.oci.image.manifest.v1+json",
      D,
    );
    assert.equal(art.artifactType, "application/vnd.example.sbom");
    assert.equal(art.layers.length, 1);
    assert.equal(art.size, undefined);
    assert.equal(art.subject, D);
    assert.equal(viewManifest(Buffer.from("not json"), "text/plain", D).kind, "other");
  });

  it("sizes and digests as people read them", () => {
    assert.equal(formatSize(999), "999 B");
    assert.equal(formatSize(1500), "1.5 kB");
    assert.equal(formatSize(12_345_678), "12 MB");
    assert.equal(formatSize(undefined), "–");
    assert.equal(shortDigest(D), `sha256:${"a".repeat(12)}`);
  });
});

describe("the referrers tag schema's fallback tags", () => {
  it("sha256-<64 hex> is one; others are tags", () => {
    assert.equal(isReferrersTag(`sha256-${"0".repeat(64)}`), true);
    assert.equal(isReferrersTag(`sha256-${"0".repeat(63)}`), false);
    assert.equal(isReferrersTag("sha256-latest"), false);
  });
  it("hasTag finds a tag in the list's order", () => {
    const sorted = ["1", "V2", "_x", "latest", `sha256-${"0".repeat(64)}`];
    for (const t of sorted) assert.equal(hasTag(sorted, t), true, t);
    for (const t of ["0", "2", "lates", "zzz"]) assert.equal(hasTag(sorted, t), false, t);
  });
});

describe("the routing table: the UI's requests", () => {
  const ui = { referrers: true, ui: true };
  const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

  it("/ui and below are the UI's, with the UI on; off, they pass through", () => {
    for (const path of ["/ui", "/ui/", "/ui/r/a/_tags/v1/_delete", "/ui/assets/ui.js"]) {
      for (const method of ["GET", "POST", "HEAD"]) {
        assert.equal(ownerOf(parseRoute(method, path), method, ui), "ui", `${method} ${path}`);
        assert.equal(
          ownerOf(parseRoute(method, path), method, { referrers: true }),
          null,
          `${method} ${path}`,
        );
      }
    }
    assert.equal(ownerOf(parseRoute("GET", "/uix"), "GET", ui), null);
  });

  it("a browser's GET / is the UI's; every other / stays the registry's", () => {
    assert.equal(acceptsHtml(BROWSER), true);
    assert.equal(ownerOf(parseRoute("GET", "/"), "GET", ui, { acceptsHtml: true }), "ui");
    assert.equal(ownerOf(parseRoute("HEAD", "/"), "HEAD", ui, { acceptsHtml: true }), "ui");
    assert.equal(ownerOf(parseRoute("GET", "/"), "GET", ui, { acceptsHtml: false }), null);
    assert.equal(ownerOf(parseRoute("POST", "/"), "POST", ui, { acceptsHtml: true }), null);
    assert.equal(ownerOf(parseRoute("GET", "/"), "GET", { referrers: true }, { acceptsHtml: true }), null);
    for (const accept of [undefined, "*/*", "application/json", "text/htmlx", "text/plain"]) {
      assert.equal(acceptsHtml(accept), false, String(accept));
    }
  });

  it("the /v2/ API keeps its owners with the UI on", () => {
    assert.equal(ownerOf(parseRoute("GET", "/v2/a/tags/_list"), "GET", ui), "tags-list");
    assert.equal(ownerOf(parseRoute("DELETE", "/v2/a/tags/t"), "DELETE", ui), "tag-delete");
    assert.equal(ownerOf(parseRoute("GET", "/v2/a/blobs/" + D), "GET", ui), null);
  });
});

describe("the UI's assets", () => {
  it("a build without them gives none and says why, instead of failing the proxy", () => {
    const why: string[] = [];
    const assets = loadAssets("/nonexistent/ui-assets", (err) => why.push(err.message));
    assert.equal(assets.size, 0);
    assert.match(why[0] ?? "", /ENOENT/);
    assert.deepEqual([...loadAssets().keys()].sort(), ["icon.svg", "ui.css", "ui.js"]);
  });
});
