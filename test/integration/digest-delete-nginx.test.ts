/**
 * The digest delete guard through the nginx tier (deploy/nginx): real nginx
 * started with run.sh in front of a real docker-registry 2.8 and the proxy with
 * delete.digestDeletes: protect. The tier sends every DELETE and every manifest
 * PUT to the proxy (the guard judges the one and orders the other), manifest
 * reads to the registry.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { headThenDelete, refusalOf, skopeoDelete } from "../helpers/digest-delete.js";
import { request } from "../helpers/http.js";
import { type NginxTier, startNginxTier } from "../helpers/nginx-tier.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { pushKind, tagsOf } from "../helpers/tag-delete.js";

requireTools("nginx");

interface AccessLine {
  method: string;
  path: string;
  status: number;
}

/** The proxy's access lines for a repository (what nginx sent it). */
function seenByProxy(proxy: TestProxy, repo: string): AccessLine[] {
  return proxy
    .logs()
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["msg"] === "request" && String(l["path"]).startsWith(`/v2/${repo}/`))
    .map((l) => l as unknown as AccessLine);
}

describe("guarded digest deletes through the nginx tier", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let nginx: NginxTier;

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, {
      proxy: { trustForwardedHeaders: true },
      delete: { digestDeletes: "protect" },
    });
    nginx = await startNginxTier({ registryUrl: registry.url, proxyUrl: proxy.url });
  });
  after(async () => {
    await nginx?.stop();
    await proxy?.stop();
    await registry?.stop();
  });

  it("DELETE by digest of a two-tag manifest through nginx: the proxy answers 403 DENIED, nothing deleted", async () => {
    const { digest } = await pushKind(nginx.url, "tier/two", "docker-v2", ["a", "b"]);
    // The pushes went through the proxy too (manifest PUTs: the put phase).
    assert.ok(
      seenByProxy(proxy, "tier/two").some((l) => l.method === "PUT" && l.path.endsWith("/manifests/a")),
    );
    const res = await request("DELETE", `${nginx.url}/v2/tier/two/manifests/${digest}`);
    assert.equal(res.status, 403, res.text);
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.deepEqual(refusalOf(res).detail.tags, ["a", "b"]);
    assert.ok(seenByProxy(proxy, "tier/two").some((l) => l.method === "DELETE" && l.status === 403));
    assert.deepEqual(await tagsOf(registry.url, "tier/two"), ["a", "b"]);
  });

  it("the tag delete, then the digest delete of the last tag, through nginx", async () => {
    const { digest } = await pushKind(nginx.url, "tier/steps", "oci-manifest", ["a", "b"]);
    assert.equal((await request("DELETE", `${nginx.url}/v2/tier/steps/manifests/a`)).status, 202);
    const res = await request("DELETE", `${nginx.url}/v2/tier/steps/manifests/${digest}`);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(await tagsOf(registry.url, "tier/steps"), []);
  });

  it("skopeo delete and the HEAD-then-DELETE script through nginx: refused with two tags, done with one", async () => {
    const host = nginx.url.replace("http://", "");
    await pushKind(nginx.url, "tier/skopeo", "oci-manifest", ["a", "b"]);
    const refused = await skopeoDelete(host, "tier/skopeo:a");
    assert.equal(refused.ok, false);
    assert.match(refused.stderr, /is tagged a and b \(2 tags\).*\(403 Forbidden\)/);
    await pushKind(nginx.url, "tier/skopeo-one", "oci-manifest", ["only"]);
    const done = await skopeoDelete(host, "tier/skopeo-one:only");
    assert.ok(done.ok, done.stderr);
    assert.deepEqual(await tagsOf(registry.url, "tier/skopeo-one"), []);

    await pushKind(nginx.url, "tier/script", "docker-v2", ["a", "b"]);
    const script = await headThenDelete(nginx.url, "tier/script", "a");
    assert.equal(script.status, 403, script.body);
    // The HEAD stayed on the registry's side of the tier; only the DELETE reached the proxy.
    const lines = seenByProxy(proxy, "tier/script");
    assert.ok(!lines.some((l) => l.method === "HEAD"), JSON.stringify(lines));
    assert.ok(lines.some((l) => l.method === "DELETE" && l.status === 403));
    assert.deepEqual(await tagsOf(registry.url, "tier/script"), ["a", "b"]);
  });
});
