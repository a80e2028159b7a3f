import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requestedArtifactTypes } from "../../src/handlers/referrers.js";
import { MEDIA_TYPE } from "../../src/oci/media-types.js";
import {
  addReferrer,
  type Descriptor,
  emptyReferrersIndex,
  filterReferrers,
  parseReferrersIndex,
  type ReferrersIndex,
  referrerOf,
  referrersResponse,
  referrersTag,
  removeReferrer,
  serialiseReferrersIndex,
} from "../../src/oci/referrers.js";

const SUBJECT = `sha256:${"a".repeat(64)}`;
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const EMPTY = "application/vnd.oci.empty.v1+json";

function body(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc));
}

function artifact(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: { mediaType: EMPTY, digest: `sha256:${"4".repeat(64)}`, size: 2 },
    layers: [],
    subject: { mediaType: MEDIA_TYPE.ociManifest, digest: SUBJECT, size: 100 },
    ...extra,
  };
}

function desc(digest: string, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: MEDIA_TYPE.ociManifest, digest, size: 10, ...extra };
}

describe("referrersTag (referrers tag schema)", () => {
  it("is <alg>-<hex> for sha256", () => {
    assert.equal(referrersTag(SUBJECT), `sha256-${"a".repeat(64)}`);
  });
  it("limits the reference to 64 characters (a sha512 subject still gives a legal tag)", () => {
    const tag = referrersTag(`sha512:${"b".repeat(128)}`);
    assert.equal(tag, `sha512-${"b".repeat(64)}`);
    assert.ok(tag.length <= 128);
  });
});

describe("referrerOf (descriptor for a pushed manifest with subject)", () => {
  it("takes artifactType from the manifest, and copies every annotation", () => {
    const b = body(
      artifact({ artifactType: "application/vnd.example.sbom", annotations: { a: "1", b: "2" } }),
    );
    const r = referrerOf(b, MEDIA_TYPE.ociManifest, D1);
    assert.deepEqual(r, {
      subject: SUBJECT,
      descriptor: {
        mediaType: MEDIA_TYPE.ociManifest,
        digest: D1,
        size: b.length,
        artifactType: "application/vnd.example.sbom",
        annotations: { a: "1", b: "2" },
      },
    });
  });
  it("falls back to the config mediaType for an image manifest without (or with an empty) artifactType", () => {
    for (const extra of [{}, { artifactType: "" }]) {
      const r = referrerOf(body(artifact(extra)), MEDIA_TYPE.ociManifest, D1);
      assert.equal(r?.descriptor.artifactType, EMPTY);
      assert.equal(r?.descriptor.annotations, undefined);
    }
  });
  it("omits artifactType for an index without one", () => {
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.ociIndex,
      manifests: [],
      subject: { mediaType: MEDIA_TYPE.ociManifest, digest: SUBJECT, size: 1 },
    };
    const r = referrerOf(body(index), MEDIA_TYPE.ociIndex, D1);
    assert.equal(r?.descriptor.mediaType, MEDIA_TYPE.ociIndex);
    assert.equal("artifactType" in (r?.descriptor ?? {}), false);
  });
  it("takes mediaType from Content-Type (parameters dropped) when the manifest has none", () => {
    const doc = artifact();
    delete doc["mediaType"];
    const r = referrerOf(body(doc), `${MEDIA_TYPE.ociManifest}; charset=utf-8`, D1);
    assert.equal(r?.descriptor.mediaType, MEDIA_TYPE.ociManifest);
  });
  it("returns null without a subject, with a malformed subject digest, or for non-JSON", () => {
    const noSubject = artifact();
    delete noSubject["subject"];
    assert.equal(referrerOf(body(noSubject), MEDIA_TYPE.ociManifest, D1), null);
    assert.equal(
      referrerOf(body(artifact({ subject: { digest: "sha256:nothex" } })), MEDIA_TYPE.ociManifest, D1),
      null,
    );
    assert.equal(referrerOf(body(artifact({ subject: "x" })), MEDIA_TYPE.ociManifest, D1), null);
    assert.equal(referrerOf(Buffer.from("not json"), MEDIA_TYPE.ociManifest, D1), null);
    assert.equal(referrerOf(Buffer.from("[1]"), MEDIA_TYPE.ociManifest, D1), null);
  });
  it("keeps only string annotation values", () => {
    const r = referrerOf(body(artifact({ annotations: { a: "1", n: 2 } })), MEDIA_TYPE.ociManifest, D1);
    assert.deepEqual(r?.descriptor.annotations, { a: "1" });
  });
});

describe("parseReferrersIndex", () => {
  it("accepts an OCI index by Content-Type or by its own mediaType", () => {
    const doc = { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [desc(D1)] };
    const a = parseReferrersIndex(body(doc), MEDIA_TYPE.ociIndex) as ReferrersIndex;
    assert.deepEqual(a.manifests, [desc(D1)]);
    const b = parseReferrersIndex(body(doc), "application/octet-stream") as ReferrersIndex;
    assert.deepEqual(b.manifests, [desc(D1)]);
    const noMediaType = parseReferrersIndex(body({ schemaVersion: 2, manifests: [] }), MEDIA_TYPE.ociIndex);
    assert.deepEqual((noMediaType as ReferrersIndex).manifests, []);
  });
  it("refuses other manifests, non-JSON and an index without manifests (reason string)", () => {
    assert.equal(
      typeof parseReferrersIndex(body({ schemaVersion: 2, layers: [] }), MEDIA_TYPE.ociManifest),
      "string",
    );
    assert.equal(typeof parseReferrersIndex(body({ schemaVersion: 2 }), MEDIA_TYPE.ociIndex), "string");
    assert.equal(typeof parseReferrersIndex(Buffer.from("{"), MEDIA_TYPE.ociIndex), "string");
    assert.equal(
      typeof parseReferrersIndex(
        body({ mediaType: MEDIA_TYPE.dockerList, manifests: [] }),
        MEDIA_TYPE.ociIndex,
      ),
      "string",
    );
  });
  it("drops entries that are not descriptors and keeps unknown fields", () => {
    const doc = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.ociIndex,
      manifests: [desc(D1), 7, { digest: 1 }, null],
      annotations: { "org.example": "x" },
    };
    const idx = parseReferrersIndex(body(doc), MEDIA_TYPE.ociIndex) as ReferrersIndex;
    assert.deepEqual(idx.manifests, [desc(D1)]);
    assert.deepEqual(idx["annotations"], { "org.example": "x" });
  });
});

describe("addReferrer / removeReferrer (index merge)", () => {
  const base: ReferrersIndex = { ...emptyReferrersIndex(), manifests: [desc(D1)] };
  it("appends a new descriptor", () => {
    const { index, changed } = addReferrer(base, desc(D2));
    assert.equal(changed, true);
    assert.deepEqual(
      index.manifests.map((d) => d.digest),
      [D1, D2],
    );
    assert.equal(base.manifests.length, 1, "input untouched");
  });
  it("keeps an equal descriptor exactly once and reports no change", () => {
    const { index, changed } = addReferrer(base, desc(D1));
    assert.equal(changed, false);
    assert.equal(index, base);
  });
  it("replaces a differing descriptor with the same digest in place", () => {
    const two: ReferrersIndex = { ...base, manifests: [desc(D1), desc(D2)] };
    const { index, changed } = addReferrer(two, desc(D1, { artifactType: "t" }));
    assert.equal(changed, true);
    assert.deepEqual(index.manifests, [desc(D1, { artifactType: "t" }), desc(D2)]);
  });
  it("collapses duplicates a client left behind to one entry", () => {
    const dup: ReferrersIndex = { ...base, manifests: [desc(D1), desc(D2), desc(D1)] };
    const { index, changed } = addReferrer(dup, desc(D1));
    assert.equal(changed, true);
    assert.deepEqual(
      index.manifests.map((d) => d.digest),
      [D1, D2],
    );
  });
  it("removes every entry with the digest, and reports no change when absent", () => {
    const dup: ReferrersIndex = { ...base, manifests: [desc(D1), desc(D2), desc(D1)] };
    const removed = removeReferrer(dup, D1);
    assert.equal(removed.changed, true);
    assert.deepEqual(
      removed.index.manifests.map((d) => d.digest),
      [D2],
    );
    const none = removeReferrer(base, D2);
    assert.equal(none.changed, false);
    assert.equal(none.index, base);
  });
});

describe("filterReferrers, referrersResponse, serialiseReferrersIndex", () => {
  const idx: ReferrersIndex = {
    ...emptyReferrersIndex(),
    annotations: { "tag-only": "x" },
    manifests: [desc(D1, { artifactType: "a" }), desc(D2, { artifactType: "b" }), desc(SUBJECT)],
  };
  it("filters on artifactType (any of the given values)", () => {
    assert.deepEqual(
      filterReferrers(idx, ["b"]).manifests.map((d) => d.digest),
      [D2],
    );
    assert.deepEqual(
      filterReferrers(idx, ["a", "b"]).manifests.map((d) => d.digest),
      [D1, D2],
    );
    assert.deepEqual(filterReferrers(idx, ["zzz"]).manifests, []);
  });
  it("answers schemaVersion, mediaType and manifests only", () => {
    assert.deepEqual(Object.keys(referrersResponse(idx)).sort(), ["manifests", "mediaType", "schemaVersion"]);
  });
  it("serialises with the OCI index mediaType and keeps the tag's other fields", () => {
    const doc = JSON.parse(serialiseReferrersIndex({ schemaVersion: 2, manifests: [] }).toString());
    assert.deepEqual(doc, { schemaVersion: 2, manifests: [], mediaType: MEDIA_TYPE.ociIndex });
    assert.deepEqual(JSON.parse(serialiseReferrersIndex(idx).toString()).annotations, { "tag-only": "x" });
  });
});

describe("requestedArtifactTypes (referrers query)", () => {
  it("reads every artifactType, decoded, keeping a literal +", () => {
    assert.deepEqual(requestedArtifactTypes("/v2/a/referrers/x?artifactType=application%2Fspdx%2Bjson"), [
      "application/spdx+json",
    ]);
    assert.deepEqual(requestedArtifactTypes("/v2/a/referrers/x?artifactType=application/spdx+json&n=1"), [
      "application/spdx+json",
    ]);
    assert.deepEqual(requestedArtifactTypes("/v2/a/referrers/x?artifactType=a&artifactType=b"), ["a", "b"]);
    assert.deepEqual(requestedArtifactTypes("/v2/a/referrers/x?artifactType="), []);
    assert.deepEqual(requestedArtifactTypes("/v2/a/referrers/x"), []);
  });
});
