import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { layerUrlRefusal, urlCheckedLayers } from "../../src/oci/layer-urls.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;

function manifest(layers: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, layers }));
}

const ND = manifest([
  {
    mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    digest: D1,
    size: 1,
    urls: ["https://x/1"],
  },
  { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D2, size: 1 },
  { mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", digest: D3, size: 1 },
]);

const BODY_2_8 = JSON.stringify({
  errors: [
    { code: "UNKNOWN", message: "unknown error" },
    { code: "UNKNOWN", message: "unknown error", detail: {} },
    { code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown to registry", detail: D1 },
  ],
});

describe("urlCheckedLayers", () => {
  it("lists OCI layers with urls and every Docker foreign layer", () => {
    assert.deepEqual(
      urlCheckedLayers(ND).map((l) => l.digest),
      [D1, D3],
    );
  });
  it("is empty for manifests without such layers, indexes and non-JSON", () => {
    assert.deepEqual(urlCheckedLayers(manifest([{ mediaType: "x", digest: D1, urls: ["https://x"] }])), []);
    assert.deepEqual(urlCheckedLayers(Buffer.from('{"manifests":[]}')), []);
    assert.deepEqual(urlCheckedLayers(Buffer.from("nope")), []);
    assert.deepEqual(urlCheckedLayers(Buffer.from("null")), []);
  });
});

describe("layerUrlRefusal", () => {
  it("a 500 naming the URL layers as MANIFEST_BLOB_UNKNOWN becomes 400 MANIFEST_INVALID naming them", () => {
    const err = layerUrlRefusal(ND, 500, BODY_2_8)!;
    assert.equal(err.status, 400);
    assert.equal(err.code, "MANIFEST_INVALID");
    assert.deepEqual(
      (err.detail as { layers: Array<{ digest: string }> }).layers.map((l) => l.digest),
      [D1],
    );
  });
  it("without the upstream's body, a 500 on a manifest with URL layers is taken as that refusal", () => {
    assert.equal(layerUrlRefusal(ND, 500)?.code, "MANIFEST_INVALID");
  });
  it("leaves every other answer alone", () => {
    assert.equal(layerUrlRefusal(ND, 201, ""), null);
    assert.equal(layerUrlRefusal(ND, 400, BODY_2_8), null);
    assert.equal(layerUrlRefusal(ND, 500, '{"errors":[{"code":"UNKNOWN","message":"disk full"}]}'), null);
    assert.equal(layerUrlRefusal(ND, 500, "<html>"), null);
    assert.equal(layerUrlRefusal(manifest([]), 500, BODY_2_8), null);
  });
});
