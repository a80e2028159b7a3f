/**
 * Manifest PUT and DELETE by digest are owned by the proxy (to keep the referrers
 * tag schema right), yet a manifest without `subject` must get exactly what a
 * plain passthrough answers. Compared against a second proxy with
 * `oci.referrers: false` (pure passthrough) on the same registry.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { putRaw } from "../helpers/artifacts.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { MT, makeImage, pushImage, sha256 } from "../helpers/oci.js";
import type { TestProxy } from "../helpers/proxy.js";

const INDEX = "application/vnd.oci.image.index.v1+json";

describe("manifests without subject: exactly what a plain passthrough answers", () => {
  const fx = useRegistryAndProxy();
  let plain: TestProxy;
  before(async () => {
    plain = await fx.addProxy({ oci: { referrers: false } });
  });

  /**
   * Status, end-to-end headers and body, the proxy's origin normalised. Left out:
   * Date, and the hop-by-hop Connection/Keep-Alive (Node writes `Keep-Alive:
   * timeout=65` on answers it builds itself; http-proxy-3 copies the upstream's).
   */
  function shape(res: Awaited<ReturnType<typeof request>>, origin: string) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      // Per exchange: the date, connection handling and the request id (a fresh one each time).
      if (k === "date" || k === "connection" || k === "keep-alive" || k === "x-request-id") continue;
      headers[k] = String(v).replaceAll(origin, "<proxy>");
    }
    return { status: res.status, headers, body: res.text.replaceAll(origin, "<proxy>") };
  }

  it("PUT and DELETE answers match header for header and byte for byte", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(plain.url, "pt/same", image, []);
    const unknownBlob = makeImage({ layerCount: 1 });
    const cases: Array<[string, string, Buffer | undefined, string | undefined]> = [
      ["PUT", "/v2/pt/same/manifests/v1", image.manifest.bytes, image.mediaType],
      ["PUT", `/v2/pt/same/manifests/${image.manifest.digest}`, image.manifest.bytes, image.mediaType],
      ["PUT", "/v2/pt/same/manifests/wrong-type", image.manifest.bytes, MT.dockerManifest],
      ["PUT", "/v2/pt/same/manifests/no-blobs", unknownBlob.manifest.bytes, unknownBlob.mediaType],
      ["PUT", "/v2/pt/same/manifests/not-json", Buffer.from("nope"), MT.ociManifest],
      ["DELETE", `/v2/pt/same/manifests/${sha256("absent")}`, undefined, undefined],
    ];
    for (const [method, path, body, type] of cases) {
      const send = (base: string) =>
        request(method, `${base}${path}`, {
          headers: type ? { "content-type": type } : {},
          ...(body ? { body } : {}),
        });
      const viaPlain = shape(await send(plain.url), plain.url);
      const viaOwned = shape(await send(fx.proxy.url), fx.proxy.url);
      assert.deepEqual(viaOwned, viaPlain, `${method} ${path}`);
    }
    const del = (base: string, digest: string) => request("DELETE", `${base}/v2/pt/same/manifests/${digest}`);
    const second = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(plain.url, "pt/same", second, ["v2"]);
    const third = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(plain.url, "pt/same", third, ["v3"]);
    assert.deepEqual(
      shape(await del(fx.proxy.url, second.manifest.digest), fx.proxy.url),
      shape(await del(plain.url, third.manifest.digest), plain.url),
    );
  });

  it("PUT of a manifest larger than 4 MiB answers 413 MANIFEST_INVALID in OCI JSON (2.8: 400)", async () => {
    const big = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: INDEX,
        manifests: [],
        annotations: { x: "a".repeat(5 << 20) },
      }),
    );
    const res = await putRaw(fx.proxy.url, "pt/big", "v1", big, INDEX);
    assert.equal(res.status, 413);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "MANIFEST_INVALID");
    const direct = await putRaw(fx.registry.url, "pt/big", "v1", big, INDEX);
    assert.equal(direct.status, 400);
  });
});
