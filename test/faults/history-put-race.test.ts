/**
 * The tag history learns what a tag held before a PUT with one HEAD. When that
 * HEAD is slow (a busy registry, a slow token), the PUT must still wait for it:
 * a PUT that lands first makes the HEAD see the new digest, and the push is
 * taken for a re-push of the same digest and never recorded. Against a real
 * docker-registry 2.8.2 behind a fault injector that holds the HEAD.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeUpstream } from "../helpers/fake-upstream.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { entries, shape } from "../helpers/history.js";
import { makeImage, pushImage } from "../helpers/oci.js";

describe("tag history: PUT to a tag whose before-HEAD is slow", () => {
  const fx = useRegistryAndProxy(() => ({
    front: (r) => startFakeUpstream(r.url),
    proxy: { metrics: { port: 0 } },
  }));

  it("PUT of a new tag while the HEAD is held 400 ms: the push is recorded (from null), the overwrite after it too", async () => {
    const repo = "race/put";
    const a = makeImage({ layerCount: 1, layerSize: 256 });
    const b = makeImage({ layerCount: 1, layerSize: 256 });
    fx.front.addRule({
      method: "HEAD",
      path: /\/v2\/race\/put\/manifests\/stable$/,
      times: 1,
      action: { until: () => sleep(400) },
    });
    await pushImage(fx.proxy.url, repo, a, ["stable"]);
    await pushImage(fx.proxy.url, repo, b, ["stable"]);
    const held = fx.front.requests.filter((r) => r.method === "HEAD" && r.path.endsWith("/manifests/stable"));
    assert.ok(held.length >= 1, "the HEAD went through the fault injector");
    const admin = fx.proxy.proxy.metricsUrl()!;
    assert.deepEqual(
      shape(await entries(admin, repo, "stable")).map((e) => ({ from: e.from, to: e.to })),
      [
        { from: a.manifest.digest, to: b.manifest.digest },
        { from: null, to: a.manifest.digest },
      ],
    );
  });
});
