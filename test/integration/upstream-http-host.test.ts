/**
 * A registry with `http.host` set writes that origin into every API `Location`,
 * whatever the request said. Through the proxy, with no `upstream.publicOrigins`,
 * those URLs name the proxy: a push completes through it and never leaves it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { manifestOf } from "../helpers/tag-delete.js";

const HTTP_HOST = "https://registry.public.example:8443";

describe("an upstream with http.host, no upstream.publicOrigins", () => {
  const fx = useRegistryAndProxy({ registry: { httpHost: HTTP_HOST } });

  it("POST, PATCH, GET and PUT of an upload and the manifest PUT answer Locations naming the proxy", async () => {
    const direct = await request("POST", `${fx.registry.url}/v2/hh/a/blobs/uploads/`);
    assert.ok((direct.headers.location as string).startsWith(`${HTTP_HOST}/v2/hh/a/blobs/uploads/`));

    const image = makeImage({ layerCount: 1 });
    const layer = image.layers[0]!;
    const start = await request("POST", `${fx.proxy.url}/v2/hh/a/blobs/uploads/`);
    assert.equal(start.status, 202);
    let location = start.headers.location as string;
    assert.ok(location.startsWith(`${fx.proxy.url}/v2/hh/a/blobs/uploads/`), location);

    const patch = await request("PATCH", location, {
      headers: { "content-type": "application/octet-stream", "content-range": `0-${layer.size - 1}` },
      body: layer.bytes,
    });
    assert.equal(patch.status, 202, patch.text);
    location = patch.headers.location as string;
    assert.ok(location.startsWith(`${fx.proxy.url}/v2/hh/a/blobs/uploads/`), location);

    const status = await request("GET", location);
    assert.equal(status.status, 204);
    assert.ok((status.headers.location as string).startsWith(`${fx.proxy.url}/v2/hh/a/blobs/uploads/`));

    const done = await request("PUT", `${location}&digest=${layer.digest}`);
    assert.equal(done.status, 201, done.text);
    assert.equal(done.headers.location, `${fx.proxy.url}/v2/hh/a/blobs/${layer.digest}`);

    // The rest of the image, then the manifest (owned by the proxy: relayed, not passed through).
    const digest = await pushImage(fx.proxy.url, "hh/a", image, ["v1"]);
    const put = await request("PUT", `${fx.proxy.url}/v2/hh/a/manifests/v2`, {
      headers: { "content-type": image.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers.location, `${fx.proxy.url}/v2/hh/a/manifests/${digest}`);
    assert.equal((await manifestOf(fx.proxy.url, "hh/a", "v2"))?.digest, digest);
  });
});
