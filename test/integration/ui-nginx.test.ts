/**
 * The web UI through the nginx tier as it is shipped (deploy/nginx/run.sh with
 * registry-compat-proxy.conf, real nginx): /ui/ reaches the proxy, `/` stays
 * the registry's empty 200 for health checkers and sends browsers to /ui/, and
 * the delete form posted to nginx's origin deletes one tag.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { type NginxTier, startNginxTier } from "../helpers/nginx-tier.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { BROWSER_ACCEPT, hooks, postDelete, tagRows, uiGet } from "../helpers/ui.js";

requireTools("nginx");

describe("web UI through the nginx tier", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let nginx: NginxTier;
  const image = makeImage();

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { proxy: { trustForwardedHeaders: true } });
    nginx = await startNginxTier({ registryUrl: registry.url, proxyUrl: proxy.url });
    await pushImage(nginx.url, "web/app", image, ["keep", "drop"]);
  });
  after(async () => {
    await nginx?.stop();
    await proxy?.stop();
    await registry?.stop();
  });

  it("GET / is the registry's empty 200 for health checkers and a redirect to /ui/ for browsers", async () => {
    const plain = await request("GET", `${nginx.url}/`);
    assert.equal(plain.status, 200);
    assert.equal(plain.text, "");
    const browser = await request("GET", `${nginx.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.location, "/ui/");
    const bare = await request("GET", `${nginx.url}/ui`);
    assert.equal(bare.status, 301);
    assert.equal(new URL(String(bare.headers.location), nginx.url).pathname, "/ui/");
  });

  it("the pages and their assets are served by the proxy behind nginx", async () => {
    const home = await uiGet(nginx.url, "/ui/");
    assert.equal(home.status, 200, home.text);
    assert.deepEqual(hooks(home.text, "repository-row", "data-repository"), ["web/app"]);
    assert.match(String(home.headers["content-security-policy"]), /script-src 'self'/);
    const tags = await uiGet(nginx.url, "/ui/r/web/app");
    assert.deepEqual(tagRows(tags.text), ["drop", "keep"]);
    const tag = await uiGet(nginx.url, "/ui/r/web/app/_tags/keep");
    const host = nginx.url.replace("http://", "");
    assert.ok(
      tag.text.includes(`docker pull ${host}/web/app:keep`),
      "the pull command names nginx's address",
    );
    for (const asset of ["ui.css", "ui.js", "icon.svg"]) {
      assert.equal((await request("GET", `${nginx.url}/ui/assets/${asset}`)).status, 200, asset);
    }
  });

  it("POST delete from nginx's origin deletes one tag; from elsewhere it is refused", async () => {
    const refused = await postDelete(nginx.url, "web/app", "drop", image.manifest.digest, {
      origin: proxy.url,
    });
    assert.equal(refused.status, 403, "the proxy's own address is not the origin visitors use");
    const res = await postDelete(nginx.url, "web/app", "drop", image.manifest.digest);
    assert.equal(res.status, 303, res.text);
    const head = (tag: string) =>
      request("HEAD", `${registry.url}/v2/web/app/manifests/${tag}`, {
        headers: { accept: ALL_MANIFEST_TYPES },
      });
    assert.equal((await head("drop")).status, 404);
    assert.equal((await head("keep")).status, 200);
  });
});
