import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { useRegistryAndProxy, withProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { MT, putManifest } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { emptyIndex, errorCode, seed, TAGS_SORTED, type TagList, walk } from "../helpers/tags.js";

requireTools("skopeo");

const exec = promisify(execFile);

describe("tags list on a real docker-registry 2.8", () => {
  const fx = useRegistryAndProxy();
  before(async () => {
    // Seeded directly on the upstream, which keeps them in directory order.
    await seed(fx.registry.url, "walk/repo", [...TAGS_SORTED].reverse());
  });

  it("the upstream itself ignores n and returns the tags unsorted (what the proxy fixes)", async () => {
    const res = await request("GET", `${fx.registry.url}/v2/walk/repo/tags/list?n=2`);
    const tags = res.json<TagList>().tags;
    assert.equal(tags.length, 25);
    assert.equal(res.headers.link, undefined);
  });

  for (const variant of ["_list", "list"] as const) {
    for (const n of [4, 5, 1, 24]) {
      it(`GET /v2/:name/tags/${variant}?n=${n} walked by Link returns every tag once, in byte order`, async () => {
        const { pages, links } = await walk(fx.proxy.url, `/v2/walk/repo/tags/${variant}?n=${n}`);
        assert.deepEqual(
          pages.flatMap((p) => p.tags),
          TAGS_SORTED,
        );
        assert.equal(pages.length, Math.ceil(25 / n));
        for (const [i, p] of pages.entries()) {
          assert.equal(p.name, "walk/repo");
          if (i < pages.length - 1) assert.equal(p.tags.length, n, "full pages until the last");
        }
        assert.equal(links.length, pages.length - 1, "no Link on the last page");
        for (const link of links) assert.ok(link.startsWith(`</v2/walk/repo/tags/${variant}?n=${n}&last=`));
      });
    }
  }

  it("GET /v2/:name/tags/_list without n returns every tag sorted, JSON with the API version header", async () => {
    for (const variant of ["_list", "list"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/${variant}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      assert.equal(res.headers.link, undefined);
      assert.equal(res.text, `${JSON.stringify({ name: "walk/repo", tags: TAGS_SORTED })}\n`);
    }
  });

  it("GET /v2/:name/tags/_list?last=X without n returns everything after X", async () => {
    const res = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/_list?last=v1.10`);
    assert.deepEqual(res.json<TagList>().tags, ["v1.9", "x", "y", "z"]);
    assert.equal(res.headers.link, undefined);
    const between = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/_list?n=2&last=b`);
    assert.deepEqual(between.json<TagList>().tags, ["c-d", "c.d"], "last need not be a tag");
  });

  it("GET /v2/:name/tags/_list?n=0 answers an empty list and no Link", async () => {
    for (const q of ["n=0", "n=0&last=A"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/_list?${q}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { name: "walk/repo", tags: [] });
      assert.equal(res.headers.link, undefined);
    }
  });

  it("GET /v2/:name/tags/_list with a bad n answers 400 PAGINATION_NUMBER_INVALID", async () => {
    for (const [n, detail] of [
      ["-1", -1],
      ["abc", "abc"],
      ["10001", 10001],
      ["99999999999999999999", "99999999999999999999"],
      ["1.5", "1.5"],
    ] as const) {
      for (const variant of ["_list", "list"]) {
        const res = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/${variant}?n=${n}`);
        assert.equal(res.status, 400, `n=${n}`);
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
        assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
        const err = res.json<{ errors: Array<{ code: string; detail: unknown }> }>().errors[0]!;
        assert.equal(err.code, "PAGINATION_NUMBER_INVALID");
        assert.deepEqual(err.detail, { n: detail });
      }
    }
    const max = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/_list?n=10000`);
    assert.equal(max.status, 200, "n equal to the maximum is allowed");
  });

  it("GET /v2/:name/tags/_list with last past the end answers an empty list and no Link", async () => {
    for (const q of ["n=3&last=zzz", "last=zzz", "n=3&last=z"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/_list?${q}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json<TagList>().tags, [], q);
      assert.equal(res.headers.link, undefined);
    }
  });

  it("HEAD /v2/:name/tags/_list answers the GET's status and headers without a body", async () => {
    const get = await request("GET", `${fx.proxy.url}/v2/walk/repo/tags/_list?n=3`);
    const head = await request("HEAD", `${fx.proxy.url}/v2/walk/repo/tags/_list?n=3`);
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const h of ["content-type", "content-length", "link", "docker-distribution-api-version"]) {
      assert.equal(head.headers[h], get.headers[h], h);
    }
    const missing = await request("HEAD", `${fx.proxy.url}/v2/no/such/tags/_list`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.length, 0);
  });

  it("an emptied repository (manifest deleted by digest upstream) answers 404 NAME_UNKNOWN (2.8.2: 200 with null)", async () => {
    const digest = await seed(fx.registry.url, "empty/repo", ["a", "b"]);
    const del = await request("DELETE", `${fx.registry.url}/v2/empty/repo/manifests/${digest}`);
    assert.equal(del.status, 202);
    const direct = await request("GET", `${fx.registry.url}/v2/empty/repo/tags/list`);
    assert.deepEqual(direct.json(), { name: "empty/repo", tags: null });
    for (const q of ["", "?n=1", "?n=1&last=a"]) {
      for (const variant of ["_list", "list"]) {
        const res = await request("GET", `${fx.proxy.url}/v2/empty/repo/tags/${variant}${q}`);
        assert.equal(res.status, 404);
        assert.equal(errorCode(res), "NAME_UNKNOWN");
        assert.equal(res.headers.link, undefined);
      }
    }
  });

  it("GET /v2/:name/tags/_list of an unknown repository answers 404 NAME_UNKNOWN in OCI JSON", async () => {
    const direct = await request("GET", `${fx.registry.url}/v2/no/such/tags/_list`);
    assert.equal(direct.headers["content-type"], "text/plain; charset=utf-8", "upstream: router 404");
    for (const variant of ["_list", "list"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/no/such/tags/${variant}?n=2`);
      assert.equal(res.status, 404);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      assert.deepEqual(res.json(), {
        errors: [
          {
            code: "NAME_UNKNOWN",
            message: "repository name not known to registry",
            detail: { name: "no/such" },
          },
        ],
      });
    }
  });

  it("a repository named x/tags with tags list and _list is listed at /v2/x/tags/tags/_list", async () => {
    await seed(fx.registry.url, "x/tags", ["list", "_list"]);
    await seed(fx.registry.url, "x", ["only-x"]);
    for (const variant of ["_list", "list"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/x/tags/tags/${variant}`);
      assert.deepEqual(res.json(), { name: "x/tags", tags: ["_list", "list"] });
      const x = await request("GET", `${fx.proxy.url}/v2/x/tags/${variant}`);
      assert.deepEqual(x.json(), { name: "x", tags: ["only-x"] });
    }
    const page = await request("GET", `${fx.proxy.url}/v2/x/tags/tags/_list?n=1`);
    assert.deepEqual(page.json<TagList>().tags, ["_list"]);
    assert.equal(page.headers.link, '</v2/x/tags/tags/_list?n=1&last=_list>; rel="next"');
    // The tags named list and _list are still manifests, passed through.
    for (const tag of ["list", "_list"]) {
      const m = await request("HEAD", `${fx.proxy.url}/v2/x/tags/manifests/${tag}`, {
        headers: { accept: MT.ociIndex },
      });
      assert.equal(m.status, 200, tag);
    }
  });

  it("POST, PUT, PATCH and OPTIONS on /v2/:name/tags/_list answer 405 with Allow: GET, HEAD", async () => {
    for (const method of ["POST", "PUT", "PATCH", "OPTIONS"]) {
      const res = await request(method, `${fx.proxy.url}/v2/walk/repo/tags/_list`);
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, "GET, HEAD");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      assert.equal(errorCode(res), "METHOD_UNKNOWN");
    }
  });

  it("skopeo list-tags through the proxy sees every tag", async () => {
    const host = fx.proxy.url.replace("http://", "");
    const out = await exec("skopeo", ["list-tags", "--tls-verify=false", `docker://${host}/walk/repo`]);
    assert.deepEqual(JSON.parse(out.stdout).Tags, TAGS_SORTED);
  });
});

describe("tags list: cache, redirect option and auth", () => {
  const fx = useRegistryAndProxy({ proxy: { tags: { cacheTtlMs: 600_000 } } });

  it("a walk costs one upstream list: one cache miss, then hits", async () => {
    await seed(fx.registry.url, "c/walk", TAGS_SORTED);
    const { pages } = await walk(fx.proxy.url, "/v2/c/walk/tags/_list?n=4");
    assert.equal(pages.length, 7);
    const metrics = await fx.proxy.proxy.deps.metrics.registry.metrics();
    assert.match(metrics, /rcp_cache_lookups_total\{cache="tags",result="miss"\} 1\n/);
    assert.match(metrics, /rcp_cache_lookups_total\{cache="tags",result="hit"\} 6\n/);
  });

  it("a manifest PUT or DELETE through the proxy shows on the next list at once, even with a long TTL", async () => {
    const list = async () =>
      (await request("GET", `${fx.proxy.url}/v2/c/inval/tags/_list`)).json<TagList>().tags;
    await seed(fx.registry.url, "c/inval", ["a"]);
    assert.deepEqual(await list(), ["a"]);
    // Written behind the proxy's back: the cached list is served (the cache is real).
    await putManifest(fx.registry.url, "c/inval", "direct", emptyIndex("d"), MT.ociIndex);
    assert.deepEqual(await list(), ["a"]);
    // Written through the proxy: the repository's entries are dropped.
    const digest = await putManifest(fx.proxy.url, "c/inval", "b", emptyIndex("b"), MT.ociIndex);
    assert.deepEqual(await list(), ["a", "b", "direct"]);
    const del = await request("DELETE", `${fx.proxy.url}/v2/c/inval/manifests/${digest}`);
    assert.equal(del.status, 202);
    assert.deepEqual(await list(), ["a", "direct"]);
  });

  it("legacy tags/list answers 307 to tags/_list (query kept) with tags.legacyList=redirect", async () => {
    await seed(fx.registry.url, "r/redir", ["b", "a", "c"]);
    await withProxy(fx.registry.url, { tags: { legacyList: "redirect" } }, async (proxy) => {
      for (const method of ["GET", "HEAD"]) {
        const res = await request(method, `${proxy.url}/v2/r/redir/tags/list?n=1&last=a`);
        assert.equal(res.status, 307, method);
        assert.equal(res.headers.location, "/v2/r/redir/tags/_list?n=1&last=a");
        assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      }
      const bare = await request("GET", `${proxy.url}/v2/r/redir/tags/list`);
      assert.equal(bare.headers.location, "/v2/r/redir/tags/_list");
      const target = await request("GET", `${proxy.url}/v2/r/redir/tags/_list?n=1&last=a`);
      assert.deepEqual(target.json(), { name: "r/redir", tags: ["b"] });
      // Real clients follow it.
      const host = proxy.url.replace("http://", "");
      const out = await exec("skopeo", ["list-tags", "--tls-verify=false", `docker://${host}/r/redir`]);
      assert.deepEqual(JSON.parse(out.stdout).Tags, ["a", "b", "c"]);
    });
  });
});
