import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  buildTombstone,
  isTombstone,
  TOMBSTONE_MARKER,
  TOMBSTONE_MEDIA_TYPE,
  TOMBSTONE_TAG,
} from "../../src/tags/tombstone.js";

describe("tombstone", () => {
  it("is an empty OCI index carrying the marker, the tag, a 128-bit nonce and the time", () => {
    const t = buildTombstone("v1.0", new Date("2026-01-02T03:04:05Z"));
    const doc = JSON.parse(t.bytes.toString());
    assert.equal(doc.schemaVersion, 2);
    assert.equal(doc.mediaType, TOMBSTONE_MEDIA_TYPE);
    assert.deepEqual(doc.manifests, []);
    assert.equal(doc.annotations[TOMBSTONE_MARKER], "v1");
    assert.equal(doc.annotations[TOMBSTONE_TAG], "v1.0");
    assert.equal(doc.annotations["org.opencontainers.image.created"], "2026-01-02T03:04:05.000Z");
    const nonce = Object.entries(doc.annotations).find(([k]) => k.endsWith(".nonce"))?.[1] as string;
    assert.match(nonce, /^[0-9a-f]{32}$/);
  });

  it("has the sha256 of its exact bytes as digest", () => {
    const t = buildTombstone("x");
    assert.equal(t.digest, `sha256:${createHash("sha256").update(t.bytes).digest("hex")}`);
  });

  it("never repeats: 2000 tombstones for one tag at one instant are all distinct", () => {
    const now = new Date();
    const digests = new Set(Array.from({ length: 2000 }, () => buildTombstone("same", now).digest));
    assert.equal(digests.size, 2000);
  });

  it("isTombstone recognises only this project's empty, marked index", () => {
    assert.equal(isTombstone(buildTombstone("a").bytes), true);
    const index = (extra: object) =>
      Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: TOMBSTONE_MEDIA_TYPE, manifests: [], ...extra }),
      );
    assert.equal(isTombstone(index({})), false);
    assert.equal(isTombstone(index({ annotations: { other: "v1" } })), false);
    assert.equal(isTombstone(index({ annotations: { [TOMBSTONE_MARKER]: "v2" } })), false);
    const withChild = JSON.parse(buildTombstone("a").bytes.toString());
    withChild.manifests = [{ digest: "sha256:00", size: 1 }];
    assert.equal(isTombstone(JSON.stringify(withChild)), false);
    const asManifest = JSON.parse(buildTombstone("a").bytes.toString());
    asManifest.mediaType = "application/vnd.oci.image.manifest.v1+json";
    assert.equal(isTombstone(JSON.stringify(asManifest)), false);
    assert.equal(isTombstone("not json"), false);
    assert.equal(isTombstone("null"), false);
  });
});
