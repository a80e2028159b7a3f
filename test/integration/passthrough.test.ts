import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { pushRepositories } from "../helpers/catalog.js";
import { useRegistryAndProxy, withProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import {
  ALL_MANIFEST_TYPES,
  blobOf,
  MT,
  makeImage,
  pushBlob,
  pushImage,
  sha256,
  writeOciLayout,
} from "../helpers/oci.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const exec = promisify(execFile);

describe("passthrough to a real docker-registry 2.8", () => passthroughCases({}));

function passthroughCases(overrides: Record<string, unknown>): void {
  const fx = useRegistryAndProxy({ proxy: overrides });

  it("GET /v2/ answers 200 {} with the API version header", async () => {
    const res = await request("GET", `${fx.proxy.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.text, "{}");
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
  });

  it("POST /blobs/uploads/ keeps the trailing slash and Location names the proxy", async () => {
    const res = await request("POST", `${fx.proxy.url}/v2/pt/a/blobs/uploads/`);
    assert.equal(res.status, 202);
    const loc = res.headers.location as string;
    assert.ok(loc.startsWith(`${fx.proxy.url}/v2/pt/a/blobs/uploads/`), loc);
    assert.match(loc, /_state=/);
  });

  it("chunked upload (POST, PATCH, PATCH, PUT) keeps _state exactly and yields the right digest", async () => {
    const data = Buffer.alloc(300_000, 7);
    const start = await request("POST", `${fx.proxy.url}/v2/pt/chunked/blobs/uploads/`);
    let loc = start.headers.location as string;
    let offset = 0;
    for (const part of [data.subarray(0, 100_000), data.subarray(100_000)]) {
      const res = await request("PATCH", loc, {
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${offset}-${offset + part.length - 1}`,
        },
        body: part,
      });
      assert.equal(res.status, 202, res.text);
      offset += part.length;
      assert.equal(res.headers.range, `0-${offset - 1}`);
      loc = res.headers.location as string;
      assert.ok(loc.startsWith(fx.proxy.url), loc);
    }
    const digest = sha256(data);
    const put = await request("PUT", `${loc}&digest=${digest}`, { headers: { "content-length": "0" } });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers["docker-content-digest"], digest);
    assert.equal(put.headers.location, `${fx.proxy.url}/v2/pt/chunked/blobs/${digest}`);
    const got = await request("GET", `${fx.proxy.url}/v2/pt/chunked/blobs/${digest}`);
    assert.equal(sha256(got.body), digest);
  });

  it("Range reads answer 206 with the exact slice", async () => {
    const blob = blobOf(Buffer.from("0123456789abcdefghij"));
    await pushBlob(fx.proxy.url, "pt/range", blob);
    const res = await request("GET", `${fx.proxy.url}/v2/pt/range/blobs/${blob.digest}`, {
      headers: { range: "bytes=5-9" },
    });
    assert.equal(res.status, 206);
    assert.equal(res.text, "56789");
    assert.equal(res.headers["content-range"], "bytes 5-9/20");
  });

  it("HEAD of a blob missing from the repository answers 404, not 200", async () => {
    const res = await request("HEAD", `${fx.proxy.url}/v2/pt/range/blobs/${sha256("nope")}`);
    assert.equal(res.status, 404);
    assert.equal(res.body.length, 0);
  });

  it("manifest PUT and GET keep Content-Type and bytes; Accept is passed untouched", async () => {
    const image = makeImage({ docker: true });
    const digest = await pushImage(fx.proxy.url, "pt/man", image, ["v1"]);
    const byTag = await request("GET", `${fx.proxy.url}/v2/pt/man/manifests/v1`, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(byTag.headers["content-type"], MT.dockerManifest);
    assert.deepEqual(byTag.body, image.manifest.bytes);
    assert.equal(byTag.headers["docker-content-digest"], digest);
    // Without the schema2 type in Accept, 2.8 converts to schema1: the proxy must not interfere.
    const legacy = await request("GET", `${fx.proxy.url}/v2/pt/man/manifests/v1`);
    assert.equal(legacy.headers["content-type"], "application/vnd.docker.distribution.manifest.v1+prettyjws");
    const head = await request("HEAD", `${fx.proxy.url}/v2/pt/man/manifests/v1`, {
      headers: { accept: MT.dockerManifest },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers["docker-content-digest"], digest);
  });

  it("cross-repository mount answers 201 with a Location naming the proxy", async () => {
    const blob = blobOf(Buffer.from("mount me"));
    await pushBlob(fx.proxy.url, "pt/src", blob);
    const res = await request(
      "POST",
      `${fx.proxy.url}/v2/pt/dst/blobs/uploads/?mount=${blob.digest}&from=pt/src`,
    );
    assert.equal(res.status, 201);
    assert.equal(res.headers.location, `${fx.proxy.url}/v2/pt/dst/blobs/${blob.digest}`);
  });

  it("catalog pagination keeps the upstream's relative Link", async () => {
    // Two repositories with tags (the catalog lists only those: catalog.test.ts).
    await pushRepositories(fx.proxy.url, ["pt/cat-a", "pt/cat-b"]);
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog?n=1`);
    assert.equal(res.status, 200);
    assert.match(res.headers.link as string, /^<\/v2\/_catalog\?last=.+&n=1>; rel="next"$/);
  });

  it("invalid names, digests and traversal are refused with OCI JSON before reaching the upstream", async () => {
    for (const [path, code] of [
      ["/v2/UPPER/tags/list", "NAME_INVALID"],
      ["/v2/a/%2e%2e/b/manifests/x", "NAME_INVALID"],
      ["/v2/a/manifests/sha256:totallywrong", "DIGEST_INVALID"],
    ] as const) {
      const res = await request("GET", `${fx.proxy.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, code);
    }
  });

  it("skopeo copies a multi-layer image through the proxy with every digest equal to a direct copy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rcp-skopeo-"));
    try {
      const image = makeImage({ layerCount: 3, layerSize: 200_000 });
      writeOciLayout(join(dir, "src"), image);
      const host = fx.proxy.url.replace("http://", "");
      const direct = fx.registry.url.replace("http://", "");
      const tls = ["--src-tls-verify=false", "--dest-tls-verify=false"];
      await exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        `oci:${join(dir, "src")}:latest`,
        `docker://${host}/pt/skopeo:v1`,
      ]);
      await exec("skopeo", ["copy", ...tls, `docker://${host}/pt/skopeo:v1`, `oci:${join(dir, "back")}:v1`]);
      await exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        `oci:${join(dir, "src")}:latest`,
        `docker://${direct}/pt/direct:v1`,
      ]);
      const viaProxy = JSON.parse(
        (await exec("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${host}/pt/skopeo:v1`]))
          .stdout,
      );
      const viaDirect = JSON.parse(
        (await exec("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${direct}/pt/direct:v1`]))
          .stdout,
      );
      assert.deepEqual(viaProxy, viaDirect);
      assert.deepEqual(
        viaProxy.layers.map((l: { digest: string }) => l.digest),
        image.layers.map((l) => l.digest),
      );
      const inspect = await exec("skopeo", [
        "inspect",
        "--tls-verify=false",
        `docker://${host}/pt/skopeo:v1`,
      ]);
      assert.equal(JSON.parse(inspect.stdout).Digest, image.manifest.digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

describe("Location rewrite when the upstream has http.host set", () => {
  const fx = useRegistryAndProxy({
    registry: { httpHost: "http://registry.internal.example:5000" },
    proxy: { upstream: { publicOrigins: ["http://registry.internal.example:5000"] } },
  });

  it("upload and manifest Locations name the proxy, not the upstream's http.host", async () => {
    const direct = await request("POST", `${fx.registry.url}/v2/h/a/blobs/uploads/`);
    assert.ok((direct.headers.location as string).startsWith("http://registry.internal.example:5000/"));
    const res = await request("POST", `${fx.proxy.url}/v2/h/a/blobs/uploads/`);
    assert.ok((res.headers.location as string).startsWith(`${fx.proxy.url}/v2/h/a/blobs/uploads/`));
    const image = makeImage();
    for (const b of [...image.layers, image.config]) await pushBlob(fx.proxy.url, "h/a", b);
    const put = await request("PUT", `${fx.proxy.url}/v2/h/a/manifests/v1`, {
      headers: { "content-type": image.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers.location, `${fx.proxy.url}/v2/h/a/manifests/${image.manifest.digest}`);
  });
});

describe("forwarding headers", () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry.stop());

  it("untrusted X-Forwarded-* and Forwarded from clients are ignored", async () => {
    await withProxy(registry.url, {}, async (proxy) => {
      const res = await request("POST", `${proxy.url}/v2/f/a/blobs/uploads/`, {
        headers: {
          "x-forwarded-host": "evil.example",
          "x-forwarded-proto": "https, http",
          forwarded: "host=evil2",
        },
      });
      assert.ok((res.headers.location as string).startsWith(`${proxy.url}/`), res.headers.location as string);
    });
  });

  it("trusted forwarding headers (behind an ingress) give the public origin, first value only", async () => {
    await withProxy(registry.url, { proxy: { trustForwardedHeaders: true } }, async (proxy) => {
      const res = await request("POST", `${proxy.url}/v2/f/a/blobs/uploads/`, {
        headers: { "x-forwarded-host": "reg.example.com, inner", "x-forwarded-proto": "https, http" },
      });
      assert.ok((res.headers.location as string).startsWith("https://reg.example.com/v2/f/a/blobs/uploads/"));
      const fwd = await request("POST", `${proxy.url}/v2/f/a/blobs/uploads/`, {
        headers: { forwarded: 'proto=https;host="fwd.example.com:8443"', "x-forwarded-host": "ignored" },
      });
      assert.ok((fwd.headers.location as string).startsWith("https://fwd.example.com:8443/"));
    });
  });
});

describe("upstream down", () => {
  it("answers 503 UNAVAILABLE in OCI JSON, and readiness fails", async () => {
    const registry = await startRegistry();
    const url = registry.url;
    await registry.stop();
    await withProxy(url, {}, async (proxy) => {
      const res = await request("GET", `${proxy.url}/v2/x/tags/list`);
      assert.equal(res.status, 503);
      assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "UNAVAILABLE");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
      const ready = await request("GET", `${proxy.url}/readyz`);
      assert.equal(ready.status, 503);
      const live = await request("GET", `${proxy.url}/healthz`);
      assert.equal(live.status, 200);
    });
  });
});
