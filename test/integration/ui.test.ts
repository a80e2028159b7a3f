/**
 * The web UI over plain HTTP against docker-registry 2.8.2: `/` for health
 * checkers and browsers, the pages and their hooks, escaping of hostile free
 * text, the security headers, cross-site refusals that change nothing, the
 * delete of one tag (its siblings stay, upstream), the read-only window, the
 * UI turned off, and what a page costs the registry.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeArtifact, pushEmptyBlob } from "../helpers/artifacts.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, MT, makeImage, makeIndex, pushImage, putManifest } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { seed } from "../helpers/tags.js";
import {
  BROWSER_ACCEPT,
  HOSTILE,
  hooks,
  hostileImage,
  nextLink,
  postDelete,
  rowOf,
  tagRows,
  uiGet,
} from "../helpers/ui.js";
import { ACCESS_LOG, forwardedDuring } from "../helpers/upstream-watch.js";

const REPO = "team/app";

async function digestOf(base: string, repo: string, tag: string): Promise<string | null> {
  const res = await request("HEAD", `${base}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: ALL_MANIFEST_TYPES },
  });
  return res.status === 200 ? (res.headers["docker-content-digest"] as string) : null;
}

describe("web UI (docker-registry 2.8.2, open)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  const image = makeImage({ layerCount: 2 });
  const other = makeImage();
  const [amd, arm] = [makeImage(), makeImage()];
  const index = makeIndex([amd, arm]);
  const hostile = hostileImage();

  before(async () => {
    registry = await startRegistry({ extra: ACCESS_LOG });
    proxy = await startProxy(registry.url, { tags: { immutable: [`${REPO}:v1.0`] } });
    await pushImage(proxy.url, REPO, image, ["latest", "v1", "v1.0"]);
    await pushImage(proxy.url, REPO, other, ["old"]);
    // The platforms by digest only (the index names them).
    await pushImage(proxy.url, REPO, amd, [amd.manifest.digest]);
    await pushImage(proxy.url, REPO, arm, [arm.manifest.digest]);
    await putManifest(proxy.url, REPO, "multi", index.bytes, index.mediaType);
    await pushImage(proxy.url, REPO, hostile, ["hostile"]);
    // A referrer of `latest` (through the proxy: it keeps the sha256-<hex> fallback tag).
    await pushEmptyBlob(proxy.url, REPO);
    const sbom = makeArtifact(
      { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size },
      { artifactType: "application/spdx+json", annotations: { "org.example.note": HOSTILE[1] } },
    );
    await putManifest(proxy.url, REPO, sbom.digest, sbom.bytes, sbom.mediaType);
    await pushImage(proxy.url, "other/thing", makeImage({ layerCount: 1 }), ["x"]);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("GET / stays the registry's empty 200 for health checkers; a browser is sent to /ui/", async () => {
    const direct = await request("GET", `${registry.url}/`);
    for (const headers of [{}, { accept: "*/*" }, { accept: "application/json" }]) {
      const res = await request("GET", `${proxy.url}/`, { headers });
      assert.equal(res.status, direct.status);
      assert.equal(res.text, direct.text);
      assert.equal(res.headers["content-security-policy"], undefined, "the registry's answer");
    }
    for (const method of ["GET", "HEAD"]) {
      const res = await request(method, `${proxy.url}/`, { headers: { accept: BROWSER_ACCEPT } });
      assert.equal(res.status, 302, method);
      assert.equal(res.headers.location, "/ui/");
    }
    const bare = await uiGet(proxy.url, "/ui");
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, "/ui/");
  });

  it("GET /ui/ lists the repositories, with strict security headers and no inline script or style", async () => {
    const res = await uiGet(proxy.url, "/ui/");
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.deepEqual(hooks(res.text, "repository-row", "data-repository"), ["other/thing", REPO]);
    assert.equal(
      res.headers["content-security-policy"],
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    assert.equal(res.headers["x-frame-options"], "DENY");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["referrer-policy"], "no-referrer");
    assert.equal(res.headers["cache-control"], "no-store");
    assert.doesNotMatch(res.text, /<script(?![^>]*\ssrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(res.text, /\sstyle=|<style|\son[a-z]+=/i, "no inline style or handler");
    for (const m of res.text.matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.ok(m[1]!.startsWith("/"), `every asset and link on this origin: ${m[1]}`);
    }
    for (const asset of ["ui.css", "ui.js", "icon.svg"]) {
      const a = await request("GET", `${proxy.url}/ui/assets/${asset}`);
      assert.equal(a.status, 200, asset);
      const again = await request("GET", `${proxy.url}/ui/assets/${asset}`, {
        headers: { "if-none-match": String(a.headers.etag) },
      });
      assert.equal(again.status, 304, asset);
    }
  });

  it("GET /ui/?q= filters the catalog and ?n= pages it", async () => {
    const filtered = await uiGet(proxy.url, "/ui/?q=TEAM%2F");
    assert.deepEqual(hooks(filtered.text, "repository-row", "data-repository"), [REPO]);
    assert.match(filtered.text, /Repositories with tags matching “TEAM\/”/);
    const first = await uiGet(proxy.url, "/ui/?n=1");
    assert.deepEqual(hooks(first.text, "repository-row", "data-repository"), ["other/thing"]);
    const next = nextLink(first.text);
    assert.equal(next, "/ui/?n=1&last=other%2Fthing");
    const second = await uiGet(proxy.url, next!);
    assert.deepEqual(hooks(second.text, "repository-row", "data-repository"), [REPO]);
    assert.equal(nextLink(second.text), null);
  });

  it("GET /ui/r/<name> shows each tag's digest, type, size, platforms, immutable marker and referrers", async () => {
    const res = await uiGet(proxy.url, `/ui/r/${REPO}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(tagRows(res.text), ["hostile", "latest", "multi", "old", "v1", "v1.0"]);
    const latest = rowOf(res.text, "latest");
    assert.ok(latest.includes(image.manifest.digest), "full digest in the title");
    assert.ok(latest.includes(MT.ociManifest));
    const size = image.config.size + image.layers.reduce((s, l) => s + l.size, 0);
    assert.ok(latest.includes(`title="${size} bytes"`), "size of config and layers");
    assert.match(latest, /title="referrers[^"]*">1</, "one referrer");
    assert.match(latest, /data-testid="delete-tag" href="\/ui\/r\/team\/app\/_tags\/latest\/_delete"/);
    assert.match(rowOf(res.text, "multi"), /linux\/amd64, linux\/arm1/);
    assert.match(rowOf(res.text, "old"), /title="referrers[^"]*">0</);
    const pinned = rowOf(res.text, "v1.0");
    assert.match(pinned, /data-testid="immutable"/);
    assert.doesNotMatch(pinned, /delete-tag/, "no delete control on an immutable tag");
    assert.match(res.text, /6 tags \(1 referrers index tag listed apart/);
    const apart = await uiGet(proxy.url, `/ui/r/${REPO}?view=referrers`);
    assert.deepEqual(tagRows(apart.text), [`sha256-${image.manifest.digest.slice(7)}`]);
  });

  it("GET /ui/r/<name>?n= pages the tags with the tags list's pagination, each tag once", async () => {
    const seen: string[] = [];
    let path: string | null = `/ui/r/${REPO}?n=4`;
    while (path !== null) {
      const res = await uiGet(proxy.url, path);
      assert.equal(res.status, 200);
      const rows = tagRows(res.text);
      assert.ok(rows.length <= 4);
      seen.push(...rows);
      path = nextLink(res.text);
    }
    assert.deepEqual(seen, ["hostile", "latest", "multi", "old", "v1", "v1.0"]);
  });

  it("GET /ui/r/<name>/_tags/<tag> shows layers with sizes, config, referrers and the pull command", async () => {
    const res = await uiGet(proxy.url, `/ui/r/${REPO}/_tags/latest`);
    assert.equal(res.status, 200, res.text);
    for (const l of image.layers) assert.ok(res.text.includes(`title="${l.size} bytes"`));
    assert.match(res.text, /data-testid="config"/);
    assert.match(res.text, /application\/spdx\+json/);
    const host = proxy.url.replace("http://", "");
    assert.ok(res.text.includes(`value="docker pull ${host}/${REPO}:latest"`));
    assert.ok(res.text.includes(`value="docker pull ${host}/${REPO}@${image.manifest.digest}"`));
    const multi = await uiGet(proxy.url, `/ui/r/${REPO}/_tags/multi`);
    assert.equal(hooks(multi.text, "platform", "class").length, 2);
    assert.ok(multi.text.includes(amd.layers[0]!.digest));
    const none = await uiGet(proxy.url, `/ui/r/${REPO}/_tags/nope`);
    assert.equal(none.status, 404);
  });

  it("hostile annotations, labels and referrer annotations are shown as text, never as markup", async () => {
    for (const path of [`/ui/r/${REPO}/_tags/hostile`, `/ui/r/${REPO}/_tags/latest`, `/ui/r/${REPO}`]) {
      const res = await uiGet(proxy.url, path);
      assert.equal(res.status, 200, path);
      for (const raw of ["<script>alert", "<img src=x", "<h1>owned", "' onmouseover='", '" onmouseover']) {
        assert.ok(!res.text.includes(raw), `${path}: ${raw} must not appear raw`);
      }
    }
    const page = (await uiGet(proxy.url, `/ui/r/${REPO}/_tags/hostile`)).text;
    assert.ok(
      page.includes("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
      "escaped, in the annotations",
    );
    assert.ok(
      page.includes("&amp;lt;already-escaped&amp;gt; &amp;amp;"),
      "escaped once more, never unescaped",
    );
    assert.ok(page.includes("javascript:alert(3)</td>"), "a URL-looking value stays text");
    assert.doesNotMatch(page, /href="javascript:/);
  });

  it("the confirmation names the tag that goes and the sibling tags that stay", async () => {
    const res = await uiGet(proxy.url, `/ui/r/${REPO}/_tags/v1/_delete`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(hooks(res.text, "sibling", "data-tag"), ["latest", "v1.0"]);
    assert.match(res.text, new RegExp(`name="digest" value="${image.manifest.digest}"`));
    assert.match(
      res.text,
      /<button type="submit" class="danger" data-testid="confirm-delete">Delete v1<\/button>/,
    );
    assert.match(res.text, /<form method="post" action="\/ui\/r\/team\/app\/_tags\/v1\/_delete">/);
    const alone = await uiGet(proxy.url, `/ui/r/${REPO}/_tags/old/_delete`);
    assert.deepEqual(hooks(alone.text, "sibling", "data-tag"), []);
    assert.match(alone.text, /No other tag points at/);
  });

  it("POST delete from another site, without Origin, or not a form is refused and changes nothing", async () => {
    const digest = image.manifest.digest;
    const refused: Array<[Record<string, string | undefined>, number]> = [
      [{ origin: undefined }, 403],
      [{ origin: "http://evil.example" }, 403],
      [{ origin: undefined, "sec-fetch-site": "cross-site" }, 403],
      [{ origin: "null" }, 403],
      [{ origin: proxy.url.replace("127.0.0.1", "localhost") }, 403],
      [{ origin: undefined, "content-type": "text/plain" }, 403],
      [{ origin: undefined, "content-type": "application/json" }, 415],
      [{ "content-type": "multipart/form-data; boundary=x" }, 415],
    ];
    await Promise.all(
      refused.map(async ([headers, status]) => {
        const res = await postDelete(proxy.url, REPO, "v1", digest, headers);
        assert.equal(res.status, status, JSON.stringify(headers));
        assert.match(String(res.headers["content-type"]), /^text\/html/);
      }),
    );
    const big = await postDelete(proxy.url, REPO, "v1", digest + "x".repeat(5000));
    assert.equal(big.status, 413);
    assert.equal(await digestOf(registry.url, REPO, "v1"), digest, "v1 untouched upstream");
  });

  it("POST delete of a tag moved since the confirmation shows the confirmation again and deletes nothing", async () => {
    const res = await postDelete(proxy.url, REPO, "v1", other.manifest.digest);
    assert.equal(res.status, 409);
    assert.match(res.text, /The tag has moved since you asked/);
    assert.match(res.text, /data-testid="confirm-delete"/);
    assert.equal(await digestOf(registry.url, REPO, "v1"), image.manifest.digest);
  });

  it("POST delete of an immutable tag is refused (403) and changes nothing", async () => {
    const res = await postDelete(proxy.url, REPO, "v1.0", image.manifest.digest);
    assert.equal(res.status, 403);
    assert.match(res.text, /immutable/);
    assert.equal(await digestOf(registry.url, REPO, "v1.0"), image.manifest.digest);
  });

  it("POST delete while the registry is read-only (gc) answers 503 and deletes nothing", async () => {
    const entered = await proxy.proxy.window.enter("test", 60_000, 0);
    assert.ok(entered.ok);
    try {
      const res = await postDelete(proxy.url, REPO, "v1", image.manifest.digest);
      assert.equal(res.status, 503);
      assert.ok(res.headers["retry-after"]);
      assert.equal((await uiGet(proxy.url, `/ui/r/${REPO}`)).status, 200, "reading goes on");
    } finally {
      if (entered.ok) proxy.proxy.window.leave(entered.lease.id);
    }
    assert.equal(await digestOf(registry.url, REPO, "v1"), image.manifest.digest);
  });

  it("POST delete removes that tag only: the siblings and the manifest stay upstream", async () => {
    const res = await postDelete(proxy.url, REPO, "v1", image.manifest.digest);
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.location, `/ui/r/${REPO}?deleted=v1`);
    assert.equal(await digestOf(registry.url, REPO, "v1"), null, "v1 is gone");
    assert.equal(await digestOf(registry.url, REPO, "latest"), image.manifest.digest, "latest stays");
    assert.equal(await digestOf(registry.url, REPO, "v1.0"), image.manifest.digest, "v1.0 stays");
    assert.equal(await digestOf(registry.url, REPO, image.manifest.digest), image.manifest.digest);
    const page = await uiGet(proxy.url, res.headers.location as string);
    assert.match(page.text, /data-testid="deleted-notice"/);
    assert.deepEqual(
      tagRows(page.text),
      ["hostile", "latest", "multi", "old", "v1.0"],
      "the page shows it at once",
    );
    const again = await postDelete(proxy.url, REPO, "v1", image.manifest.digest);
    assert.equal(again.status, 404);
  });

  it("a page of a large repository reads the tags list once and the manifests of that page only", async () => {
    const tags = Array.from({ length: 120 }, (_, i) => `t${String(i).padStart(3, "0")}`);
    await seed(registry.url, "big/repo", tags);
    const lines = await forwardedDuring(registry, proxy.url, async () => {
      const res = await uiGet(proxy.url, "/ui/r/big/repo?n=10");
      assert.deepEqual(tagRows(res.text), tags.slice(0, 10));
    });
    const calls = lines.filter((l) => !l.startsWith("GET /v2/ "));
    assert.equal(calls.filter((l) => l.includes("/tags/list")).length, 1, calls.join("\n"));
    const manifests = calls.filter((l) => l.includes("/manifests/"));
    assert.deepEqual(
      manifests.sort(),
      tags.slice(0, 10).map((t) => `GET /v2/big/repo/manifests/${t}`),
    );
    assert.equal(calls.length, 11, calls.join("\n"));
  });

  it("unknown pages are 404 and other methods refused, as HTML", async () => {
    for (const path of ["/ui/nope", "/ui/r/Bad/Name", `/ui/r/${REPO}/_tags/latest/_nope`]) {
      const res = await uiGet(proxy.url, path);
      assert.equal(res.status, 404, path);
      assert.match(String(res.headers["content-type"]), /^text\/html/);
    }
    const open = await uiGet(proxy.url, `/ui/r/?name=${encodeURIComponent(REPO)}`);
    assert.equal(open.status, 303, "a repository opened by name");
    assert.equal(open.headers.location, `/ui/r/${REPO}`);
    assert.equal((await uiGet(proxy.url, "/ui/r/?name=Not%20A%20Name")).status, 400);
    const post = await request("POST", `${proxy.url}/ui/r/${REPO}`, {
      headers: { origin: proxy.url, "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    assert.equal(post.status, 405);
  });
});

describe("web UI turned off (ui.enabled false)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { ui: { enabled: false } });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("/ui/ and a browser's / reach the registry as before", async () => {
    for (const path of ["/ui/", "/ui", "/ui/assets/ui.js"]) {
      const direct = await request("GET", `${registry.url}${path}`);
      const res = await uiGet(proxy.url, path);
      assert.equal(res.status, direct.status, path);
      assert.equal(res.text, direct.text, path);
    }
    const root = await uiGet(proxy.url, "/");
    assert.equal(root.status, 200);
    assert.equal(root.text, "");
  });
});
