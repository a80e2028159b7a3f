/**
 * `GET /v2/_catalog` through the proxy (issue 32): only repositories with at least
 * one tag, with the registry's own `n`, `last` and `Link`, against the real
 * docker-registry 2.8.2.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  emptyByDigest,
  expectedLink,
  pushRepositories,
  SMALL_IMAGE,
  walkCatalog,
  wholeCatalog,
} from "../helpers/catalog.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { pushBlob, pushImage } from "../helpers/oci.js";

/** 26 repositories, nested names among them; 13 emptied, runs of up to 5 in a row. */
const NAMES = [
  "cat/a",
  "cat/a/b",
  "cat/a/b/c",
  "cat/a-b",
  "cat/a.b",
  "cat/a_b",
  "cat/ab",
  ...Array.from({ length: 19 }, (_, i) => `cat/r${String(i).padStart(2, "0")}`),
];
const EMPTIED = new Set([
  "cat/a",
  "cat/a/b/c",
  "cat/a.b",
  "cat/r01",
  "cat/r02",
  "cat/r03",
  "cat/r04",
  "cat/r05",
  "cat/r08",
  "cat/r11",
  "cat/r12",
  "cat/r17",
  "cat/r18",
  // Only a blob, never a manifest: the registry lists it, its tags/list is 404.
  "cat/blob-only",
]);

describe("GET /v2/_catalog through the proxy: repositories without tags left out", () => {
  const fx = useRegistryAndProxy({ proxy: { history: { windowMs: 0 } } });
  let registryOrder: string[];
  let listed: string[];
  before(async () => {
    const digest = await pushRepositories(fx.registry.url, NAMES);
    // Emptied on the registry itself, before the proxy ever looked.
    for (const name of EMPTIED)
      if (name !== "cat/blob-only") await emptyByDigest(fx.registry.url, name, digest);
    await pushBlob(fx.registry.url, "cat/blob-only", SMALL_IMAGE.config);
    registryOrder = await wholeCatalog(fx.registry.url);
    listed = registryOrder.filter((n) => !EMPTIED.has(n));
  });

  it("GET /v2/_catalog: the registry still lists every repository, the proxy only those with tags, in the registry's order", async () => {
    assert.deepEqual([...registryOrder].sort(), [...NAMES, "cat/blob-only"].sort());
    assert.equal(
      registryOrder.indexOf("cat/a/b/c") < registryOrder.indexOf("cat/a-b"),
      true,
      "/ sorts first",
    );
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.link, undefined);
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.equal(res.text, `${JSON.stringify({ repositories: listed })}\n`);
  });

  for (const n of [1, 2, 3, 4, 6, 13, 14, 100]) {
    it(`GET /v2/_catalog?n=${n} walked by its Links: full pages, Link exactly when more follow, exactly the repositories with tags`, async () => {
      const pages = await walkCatalog(fx.proxy.url, n);
      assert.deepEqual(
        pages.flatMap((p) => p.repositories),
        listed,
      );
      assert.equal(pages.at(-1)!.link, null);
      assert.equal(pages.length, Math.max(1, Math.ceil(listed.length / n)));
    });
  }

  it("GET /v2/_catalog?last=<an empty repository or no repository at all>: the names after it in the registry's order", async () => {
    for (const last of ["cat/a", "cat/a/b", "cat/r03", "cat/a-a", "cat/r99", "cat/a%2Fb"]) {
      const decoded = decodeURIComponent(last);
      const after = registryOrder
        .filter((name) => !EMPTIED.has(name))
        .filter((name) => {
          const a = decoded.replaceAll("/", "\0");
          return name.replaceAll("/", "\0") > a;
        });
      const res = await request("GET", `${fx.proxy.url}/v2/_catalog?n=3&last=${last}`);
      assert.equal(res.status, 200, last);
      assert.deepEqual(res.json<{ repositories: string[] }>().repositories, after.slice(0, 3), last);
      assert.equal(res.headers.link, after.length > 3 ? expectedLink(after[2]!, 3) : undefined, last);
    }
  });

  it("GET /v2/_catalog?n=0: an empty page, no Link, as the registry answers", async () => {
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog?n=0`);
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"repositories":[]}\n');
    assert.equal(res.headers.link, undefined);
  });

  it("GET /v2/_catalog with n above the registry's limit: its 400 PAGINATION_NUMBER_INVALID unchanged", async () => {
    const direct = await request("GET", `${fx.registry.url}/v2/_catalog?n=1001`);
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog?n=1001`);
    assert.equal(res.status, 400);
    assert.equal(res.text, direct.text);
    assert.match(res.text, /PAGINATION_NUMBER_INVALID/);
  });

  it("GET /v2/_catalog with n=-1, n=abc, a bad escape in last: read as the registry reads them (its default page, last ignored)", async () => {
    for (const q of ["n=-1", "n=abc", "n=2&last=%zz", "n=2&last=%2", "n=2&n=3", "last=&n=2"]) {
      const direct = await request("GET", `${fx.registry.url}/v2/_catalog?${q}`);
      const res = await request("GET", `${fx.proxy.url}/v2/_catalog?${q}`);
      assert.equal(res.status, direct.status, q);
      const page = direct.json<{ repositories: string[] }>().repositories;
      const size = direct.headers.link ? page.length : listed.length;
      assert.deepEqual(res.json<{ repositories: string[] }>().repositories, listed.slice(0, size), q);
      const expected =
        direct.headers.link && size < listed.length ? expectedLink(listed[size - 1]!, size) : undefined;
      assert.equal(res.headers.link, expected, q);
    }
  });

  it("HEAD and POST /v2/_catalog pass through to the registry (its 405)", async () => {
    for (const method of ["HEAD", "POST"]) {
      const direct = await request(method, `${fx.registry.url}/v2/_catalog`);
      const res = await request(method, `${fx.proxy.url}/v2/_catalog`);
      assert.equal(res.status, direct.status, method);
      assert.equal(res.headers.allow, direct.headers.allow, method);
    }
  });

  it("DELETE of a repository's last tag through the proxy: the very next catalog leaves it out; a push brings it back at once", async () => {
    const name = "cat/r13";
    assert.ok((await wholeCatalog(fx.proxy.url)).includes(name));
    const del = await request("DELETE", `${fx.proxy.url}/v2/${name}/tags/t`);
    assert.equal(del.status, 202, del.text);
    assert.ok(!(await wholeCatalog(fx.proxy.url)).includes(name));
    assert.ok((await wholeCatalog(fx.registry.url)).includes(name), "the registry itself still lists it");
    await pushImage(fx.proxy.url, name, SMALL_IMAGE, ["again"]);
    assert.ok((await wholeCatalog(fx.proxy.url)).includes(name));
  });

  it("DELETE /v2/<name> (the repository delete) through the proxy: the very next catalog leaves it out", async () => {
    const name = "cat/r14";
    assert.ok((await wholeCatalog(fx.proxy.url)).includes(name));
    const del = await request("DELETE", `${fx.proxy.url}/v2/${name}`);
    assert.equal(del.status, 202, del.text);
    assert.ok(!(await wholeCatalog(fx.proxy.url)).includes(name));
    assert.ok((await wholeCatalog(fx.registry.url)).includes(name), "the registry itself still lists it");
  });

  it("catalog.listEmpty true: the registry's catalog unchanged, repositories without tags included", async () => {
    const proxy = await fx.addProxy({ catalog: { listEmpty: true } });
    for (const q of ["", "?n=3", "?n=3&last=cat%2Fa", "?n=1001"]) {
      const direct = await request("GET", `${fx.registry.url}/v2/_catalog${q}`);
      const res = await request("GET", `${proxy.url}/v2/_catalog${q}`);
      assert.equal(res.status, direct.status, q);
      assert.equal(res.text, direct.text, q);
      assert.equal(res.headers.link, direct.headers.link, q);
    }
  });
});

describe("GET /v2/_catalog through the proxy, a registry with catalog.maxentries 4", () => {
  const fx = useRegistryAndProxy({ registry: { extra: { catalog: { maxentries: 4 } } } });
  const names = Array.from({ length: 9 }, (_, i) => `small/r${i}`);
  const emptied = new Set(["small/r1", "small/r2", "small/r6"]);
  before(async () => {
    const digest = await pushRepositories(fx.registry.url, names);
    for (const name of emptied) await emptyByDigest(fx.registry.url, name, digest);
  });

  it("GET /v2/_catalog?n=2,3,4 walked: the registry refuses the proxy's wider pages (400), so it asks with the client's n: pages still full, the walk exact", async () => {
    for (const n of [2, 3, 4]) {
      const pages = await walkCatalog(fx.proxy.url, n);
      assert.deepEqual(
        pages.flatMap((p) => p.repositories),
        names.filter((x) => !emptied.has(x)),
        `n=${n}`,
      );
    }
  });

  it("GET /v2/_catalog?n=5 (above this registry's limit): its 400 unchanged", async () => {
    const direct = await request("GET", `${fx.registry.url}/v2/_catalog?n=5`);
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog?n=5`);
    assert.equal(direct.status, 400);
    assert.equal(res.status, 400);
    assert.equal(res.text, direct.text);
  });
});
