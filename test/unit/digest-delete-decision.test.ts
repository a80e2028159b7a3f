import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideDigestDelete, listTags, TAGS_IN_MESSAGE } from "../../src/tags/digest-delete-decision.js";
import { indexChildren, isIndexType } from "../../src/tags/digest-references.js";

const D = `sha256:${"d".repeat(64)}`;
const I = `sha256:${"1".repeat(64)}`;
const J = `sha256:${"2".repeat(64)}`;

describe("decideDigestDelete (delete.digestDeletes: protect)", () => {
  it("no tag and no index, or one tag: allowed (as the registry deletes it)", () => {
    assert.deepEqual(decideDigestDelete({ name: "a/b", digest: D, tags: [], indexes: [] }), { allow: true });
    assert.deepEqual(decideDigestDelete({ name: "a/b", digest: D, tags: ["v1"], indexes: [] }), {
      allow: true,
    });
  });

  it("two tags: refused, naming both, the digest and the tag delete to use instead", () => {
    const d = decideDigestDelete({ name: "a/b", digest: D, tags: ["latest", "v1"], indexes: [] });
    assert.equal(d.allow, false);
    if (d.allow) return;
    assert.equal(d.reason, "tags");
    assert.equal(
      d.message,
      `manifest ${D} is tagged latest and v1 (2 tags): a delete by digest would remove every one of them. ` +
        "Remove one tag with DELETE /v2/a/b/manifests/<tag>; the manifest itself can be deleted by digest once one tag or none is left",
    );
    assert.deepEqual(d.detail, {
      name: "a/b",
      digest: D,
      tags: ["latest", "v1"],
      indexes: [],
      untag: "DELETE /v2/a/b/manifests/<tag>",
      digestDeletes: "protect",
    });
  });

  it("many tags: the message names the first ten and how many more, the detail every one", () => {
    const tags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const d = decideDigestDelete({ name: "x", digest: D, tags, indexes: [] });
    assert.ok(!d.allow);
    if (d.allow) return;
    assert.match(d.message, /is tagged t00, t01, .*t09 and 15 more \(25 tags\)/);
    assert.deepEqual(d.detail["tags"], tags);
    assert.equal(TAGS_IN_MESSAGE, 10);
  });

  it("a tagged index lists it: refused as a platform of that image, even with one tag or none", () => {
    for (const tags of [[], ["only"]]) {
      const d = decideDigestDelete({
        name: "m",
        digest: D,
        tags,
        indexes: [
          { digest: I, tags: ["latest", "v2"] },
          { digest: J, tags: ["old"] },
        ],
      });
      assert.ok(!d.allow);
      if (d.allow) return;
      assert.equal(d.reason, "index");
      assert.match(
        d.message,
        new RegExp(`part of the image index ${I}, tagged latest and v2 \\(and 1 more tagged indexes\\)`),
      );
      assert.deepEqual(d.detail["indexes"], [
        { digest: I, tags: ["latest", "v2"] },
        { digest: J, tags: ["old"] },
      ]);
    }
  });

  it("two tags and an index: the tags are the reason given, the index is in the detail", () => {
    const d = decideDigestDelete({
      name: "m",
      digest: D,
      tags: ["a", "b"],
      indexes: [{ digest: I, tags: ["x"] }],
    });
    assert.ok(!d.allow && d.reason === "tags");
  });

  it("listTags", () => {
    assert.equal(listTags(["a"]), "a");
    assert.equal(listTags(["a", "b", "c"]), "a, b and c");
  });
});

describe("reading indexes for the guard", () => {
  it("indexChildren: the listed digests and which are indexes; nothing for other manifests or junk", () => {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: D, size: 1 },
          { mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", digest: I, size: 1 },
          { mediaType: "application/vnd.oci.image.index.v1+json", digest: J, size: 1 },
          { size: 1 },
          null,
        ],
      }),
    );
    assert.deepEqual(indexChildren(body), [
      { digest: D, index: false },
      { digest: I, index: true },
      { digest: J, index: true },
    ]);
    assert.deepEqual(indexChildren(Buffer.from('{"schemaVersion":2,"layers":[]}')), []);
    assert.deepEqual(indexChildren(Buffer.from("not json")), []);
  });

  it("isIndexType: OCI index and Docker list, parameters and case ignored", () => {
    assert.ok(isIndexType("application/vnd.oci.image.index.v1+json"));
    assert.ok(isIndexType("Application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8"));
    assert.ok(!isIndexType("application/vnd.oci.image.manifest.v1+json"));
    assert.ok(!isIndexType(undefined));
  });
});
