/**
 * The nginx tier (deploy/nginx): real nginx started with deploy/nginx/run.sh in
 * front of a real docker-registry 2.8 and the proxy. nginx keeps blobs and
 * manifest reads on the registry and sends the proxy only the tags API, deletes,
 * manifest writes, the referrers API, malformed references and (with strict
 * upload semantics) uploads. What the proxy saw is read from its access log.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type IndexDoc, makeArtifact, pushEmptyBlob, putRaw } from "../helpers/artifacts.js";
import { pushRepositories, walkCatalog, wholeCatalog } from "../helpers/catalog.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { exited, type NginxTier, spawnRunSh, startNginxTier } from "../helpers/nginx-tier.js";
import { blobOf, makeImage, pushBlob, pushImage, sha256, writeOciLayout } from "../helpers/oci.js";
import { podmanArgs } from "../helpers/podman.js";
import { requireTools } from "../helpers/prereq.js";
import type { TestProxy } from "../helpers/proxy.js";
import type { TestRegistry } from "../helpers/registry.js";
import { seed, type TagList } from "../helpers/tags.js";

const exec = promisify(execFile);
requireTools("nginx", "skopeo");

interface AccessLine {
  method: string;
  path: string;
  status: number;
  route: string;
}

/** The proxy's access lines (what nginx sent it). */
function seenByProxy(proxy: TestProxy): AccessLine[] {
  return proxy
    .logs()
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["msg"] === "request")
    .map((l) => l as unknown as AccessLine);
}

/** Whether the registry's log shows `text` (its log arrives through a pipe: waits for it). */
async function logged(registry: TestRegistry, text: string): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (!registry.log().includes(text) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return registry.log().includes(text);
}

function assertOciError(res: { headers: Record<string, unknown>; text: string }, what: string): string {
  assert.match(String(res.headers["content-type"]), /^application\/json/, `${what}: ${res.text}`);
  assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0", what);
  const doc = JSON.parse(res.text) as { errors: Array<{ code: string; message: string }> };
  assert.ok(doc.errors.length > 0 && doc.errors[0]!.code, `${what}: ${res.text}`);
  return doc.errors[0]!.code;
}

/**
 * With strict uploads off, blob bytes never pass through the proxy (no blob GET or
 * HEAD, no upload PATCH), while the requests that put a blob into storage (the
 * upload POST, the closing PUT) do, so that they meet the read-only window.
 */
function assertNoBlobBytes(lines: AccessLine[], closingPut = true): void {
  const blobs = lines.filter((l) => l.path.includes("/blobs/"));
  assert.deepEqual(
    blobs.filter(
      (l) =>
        !(l.method === "POST" && l.route === "upload-start") && !(l.method === "PUT" && l.route === "upload"),
    ),
    [],
    "no blob read and no upload chunk reached the proxy",
  );
  assert.ok(
    blobs.some((l) => l.method === "POST" && l.route === "upload-start"),
    "the upload POST went to the proxy",
  );
  if (closingPut) {
    assert.ok(
      blobs.some((l) => l.method === "PUT" && l.route === "upload"),
      "the closing PUT went to the proxy",
    );
  }
}

describe("nginx tier: nginx in front, the proxy for the new API only (strict uploads off)", () => {
  let nginx: NginxTier;
  let dir: string;
  let host: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rcp-nginx-tier-"));
  });
  const fx = useRegistryAndProxy(() => ({
    proxy: {
      proxy: { trustForwardedHeaders: true },
      oci: { strictUploads: false },
    },
  }));
  before(async () => {
    nginx = await startNginxTier({
      registryUrl: fx.registry.url,
      proxyUrl: fx.proxy.url,
      strictUploads: false,
    });
    host = nginx.url.replace("http://", "");
  });
  after(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("skopeo pushes, pulls and pulls by digest through nginx; the proxy sees no blob bytes, only the upload POST and closing PUT", async () => {
    const image = makeImage({ layerCount: 2, layerSize: 300_000 });
    writeOciLayout(join(dir, "skopeo-src"), image);
    await exec("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      `oci:${join(dir, "skopeo-src")}:latest`,
      `docker://${host}/tier/skopeo:v1`,
    ]);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${host}/tier/skopeo:v1`,
      `oci:${join(dir, "skopeo-tag")}:v1`,
    ]);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${host}/tier/skopeo@${image.manifest.digest}`,
      `oci:${join(dir, "skopeo-digest")}:v1`,
    ]);
    const raw = await exec("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${host}/tier/skopeo:v1`,
    ]);
    assert.deepEqual(Buffer.from(raw.stdout), image.manifest.bytes);
    const onRegistry = await request(
      "GET",
      `${fx.registry.url}/v2/tier/skopeo/blobs/${image.layers[0]!.digest}`,
    );
    assert.equal(onRegistry.status, 200);
    const lines = seenByProxy(fx.proxy).filter((l) => l.path.startsWith("/v2/tier/skopeo/"));
    assertNoBlobBytes(lines);
    assert.ok(
      lines.some((l) => l.method === "PUT" && l.route === "manifest"),
      "the manifest PUT went to the proxy",
    );
  });

  it("podman pushes, pulls and pulls by digest through nginx; the proxy sees no blob bytes, only the upload POST and closing PUT", async () => {
    requireTools("podman");
    const root = mkdtempSync(join(tmpdir(), "rcp-podman-"));
    const podman = podmanArgs(root);
    try {
      // A pull through nginx, a push of that image to another repository through nginx.
      const image = makeImage({ layerCount: 1, layerSize: 200_000 });
      await pushImage(fx.registry.url, "tier/podman-src", image, ["v1"]);
      await exec("podman", [...podman, "pull", "--tls-verify=false", `${host}/tier/podman-src:v1`], {
        timeout: 120_000,
      });
      const local = `${host}/tier/podman-src:v1`;
      const ref = `${host}/tier/podman:v1`;
      await exec("podman", [...podman, "push", "--tls-verify=false", local, `docker://${ref}`], {
        timeout: 120_000,
      });
      const digest = (
        await request("HEAD", `${nginx.url}/v2/tier/podman/manifests/v1`, {
          headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
        })
      ).headers["docker-content-digest"] as string;
      assert.match(digest, /^sha256:[a-f0-9]{64}$/);
      await exec("podman", [...podman, "rmi", "-a", "-f"], { timeout: 60_000 });
      await exec("podman", [...podman, "pull", "--tls-verify=false", ref], { timeout: 120_000 });
      await exec("podman", [...podman, "pull", "--tls-verify=false", `${host}/tier/podman@${digest}`], {
        timeout: 120_000,
      });
      const lines = seenByProxy(fx.proxy).filter((l) => l.path.startsWith("/v2/tier/podman/"));
      // podman mounts the layer from tier/podman-src (one POST ?mount=&from=): no closing PUT.
      assertNoBlobBytes(lines, false);
      assert.ok(lines.some((l) => l.method === "PUT" && l.route === "manifest"));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("GET tags/_list?n= pages through nginx; following Link against nginx's address walks every tag", async () => {
    const tags = ["a", "b", "c", "d", "e"];
    await seed(nginx.url, "tier/list", tags);
    const pages: string[][] = [];
    let path: string | null = "/v2/tier/list/tags/_list?n=2";
    while (path !== null) {
      const res = await request("GET", new URL(path, nginx.url).href);
      assert.equal(res.status, 200, res.text);
      pages.push(res.json<TagList>().tags);
      const link = res.headers.link as string | undefined;
      if (link === undefined) break;
      const target = /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
      assert.ok(target, link);
      // Relative, so it names the address the client used: nginx's.
      assert.equal(new URL(target, nginx.url).origin, nginx.url);
      assert.ok(target.startsWith("/v2/tier/list/tags/_list?n=2&last="), target);
      path = target;
    }
    assert.deepEqual(pages, [["a", "b"], ["c", "d"], ["e"]]);
    const legacy = await request("GET", `${nginx.url}/v2/tier/list/tags/list`);
    assert.deepEqual(legacy.json<TagList>().tags, tags);
    const listLines = seenByProxy(fx.proxy).filter((l) => l.path === "/v2/tier/list/tags/_list");
    assert.equal(listLines.length, 3, "every page came from the proxy");
  });

  it("Location names nginx's address, from the registry (upload start) and the proxy (manifest PUT)", async () => {
    const start = await request("POST", `${nginx.url}/v2/tier/loc/blobs/uploads/`);
    assert.equal(start.status, 202);
    assert.ok(String(start.headers.location).startsWith(`${nginx.url}/v2/tier/loc/blobs/uploads/`));
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [],
      }),
    );
    const put = await putRaw(nginx.url, "tier/loc", "v1", index, "application/vnd.oci.image.index.v1+json");
    assert.equal(put.status, 201);
    assert.equal(put.headers.location, `${nginx.url}/v2/tier/loc/manifests/${sha256(index)}`);
    // The Host the client sent is the address in both tiers' URLs.
    const named = { host: "registry.example:8443" };
    const viaRegistry = await request("POST", `${nginx.url}/v2/tier/loc/blobs/uploads/`, { headers: named });
    assert.ok(String(viaRegistry.headers.location).startsWith("http://registry.example:8443/v2/tier/loc/"));
    const viaProxy = await request("PUT", `${nginx.url}/v2/tier/loc/manifests/v2`, {
      headers: { ...named, "content-type": "application/vnd.oci.image.index.v1+json" },
      body: index,
    });
    assert.equal(
      viaProxy.headers.location,
      `http://registry.example:8443/v2/tier/loc/manifests/${sha256(index)}`,
    );
    // Forwarding headers a client sends are replaced by nginx's, for both tiers.
    const spoof = {
      "x-forwarded-host": "evil.example",
      "x-forwarded-proto": "https",
      forwarded: "host=evil.example;proto=https",
      "x-forwarded-for": "203.0.113.9",
    };
    const spoofedRegistry = await request("POST", `${nginx.url}/v2/tier/loc/blobs/uploads/`, {
      headers: spoof,
    });
    assert.ok(String(spoofedRegistry.headers.location).startsWith(`${nginx.url}/v2/tier/loc/`));
    const spoofedProxy = await request("PUT", `${nginx.url}/v2/tier/loc/manifests/v3`, {
      headers: { ...spoof, "content-type": "application/vnd.oci.image.index.v1+json" },
      body: index,
    });
    assert.equal(spoofedProxy.headers.location, `${nginx.url}/v2/tier/loc/manifests/${sha256(index)}`);
    // The registry logs the first X-Forwarded-For address as the client's.
    assert.ok(await logged(fx.registry, "/v2/tier/loc/manifests/v3"), "the PUT reached the registry");
    assert.ok(!fx.registry.log().includes("203.0.113.9"), "the client's X-Forwarded-For is not passed on");
  });

  it("DELETE through /tags/<tag> and /manifests/<tag> removes only those tags; the sibling keeps its digest", async () => {
    const digest = await seed(nginx.url, "tier/del", ["a", "b", "keep"]);
    const viaTags = await request("DELETE", `${nginx.url}/v2/tier/del/tags/a`);
    assert.equal(viaTags.status, 202, viaTags.text);
    const viaManifests = await request("DELETE", `${nginx.url}/v2/tier/del/manifests/b`);
    assert.equal(viaManifests.status, 202, viaManifests.text);
    const list = await request("GET", `${nginx.url}/v2/tier/del/tags/_list`);
    assert.deepEqual(list.json<TagList>().tags, ["keep"]);
    const kept = await request("HEAD", `${nginx.url}/v2/tier/del/manifests/keep`, {
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
    });
    assert.equal(kept.headers["docker-content-digest"], digest);
    const deletes = seenByProxy(fx.proxy).filter(
      (l) => l.method === "DELETE" && l.path.startsWith("/v2/tier/del/"),
    );
    assert.equal(deletes.length, 2, "both deletes went to the proxy");
  });

  it("a referrer pushed through nginx is listed by the referrers API through nginx", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 64 });
    await pushImage(nginx.url, "tier/ref", image, ["v1"]);
    await pushEmptyBlob(nginx.url, "tier/ref");
    const subject = { mediaType: image.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    const sbom = makeArtifact(subject, { artifactType: "application/vnd.example.sbom.v1" });
    const put = await putRaw(nginx.url, "tier/ref", sbom.digest, sbom.bytes, sbom.mediaType);
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers["oci-subject"], subject.digest);
    const res = await request("GET", `${nginx.url}/v2/tier/ref/referrers/${subject.digest}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.json<IndexDoc>().manifests.map((m) => m.digest),
      [sbom.digest],
    );
  });

  it("a malformed reference or path answers 4xx OCI JSON from the proxy; the registry is not asked", async () => {
    // Each path carries a marker the registry's request log would show.
    const cases: [string, string, string][] = [
      ["GET", "/v2/tier/bad/manifests/-mark1", "mark1"],
      ["HEAD", "/v2/tier/bad/manifests/sha256:mark2", "mark2"],
      ["PUT", "/v2/tier/bad/manifests/mark3!", "mark3"],
      ["GET", "/v2/tier/bad/blobs/sha256:mark4", "mark4"],
      ["GET", "/v2/Tier/Mark5/manifests/v1", "Mark5"],
      ["GET", "/v2/tier/mark6/%2e%2e/manifests/v1", "mark6"],
      ["GET", "/v2/tier/mark7/../../_catalog", "mark7"],
      ["GET", "/v2/tier/mark8\\x/manifests/v1", "mark8"],
      ["GET", "/v2/tier//mark9/manifests/v1", "mark9"],
    ];
    for (const [method, path] of cases) {
      const before = seenByProxy(fx.proxy).length;
      const res = await request(method, `${nginx.url}${path}`, method === "PUT" ? { body: "{}" } : {});
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path}: ${res.status}`);
      if (method !== "HEAD") assertOciError(res, `${method} ${path}`);
      const line = seenByProxy(fx.proxy)
        .slice(before)
        .find((l) => l.method === method);
      assert.ok(line, `${method} ${path} went to the proxy`);
      assert.equal(line.status, res.status);
    }
    // Control: a valid reference reaches the registry and shows in its log.
    await request("GET", `${nginx.url}/v2/tier/bad/manifests/control-mark`);
    assert.ok(await logged(fx.registry, "control-mark"), "the registry logs the requests it gets");
    const log = fx.registry.log();
    for (const [method, path, mark] of cases)
      assert.ok(!log.includes(mark), `${method} ${path} reached the registry`);
  });

  it("GET /v2/_catalog through nginx goes to the proxy: a repository whose last tag was deleted is left out, Link as the registry's", async () => {
    await pushRepositories(nginx.url, ["tier/cat-a", "tier/cat-b", "tier/cat-c"]);
    const del = await request("DELETE", `${nginx.url}/v2/tier/cat-b/tags/t`);
    assert.equal(del.status, 202, del.text);
    const before = seenByProxy(fx.proxy).length;
    const all = (await wholeCatalog(nginx.url)).filter((n) => n.startsWith("tier/cat-"));
    assert.deepEqual(all, ["tier/cat-a", "tier/cat-c"]);
    assert.ok((await wholeCatalog(fx.registry.url)).includes("tier/cat-b"), "the registry still lists it");
    assert.ok(seenByProxy(fx.proxy).length > before, "the proxy answered");
    const pages = await walkCatalog(nginx.url, 1);
    assert.ok(!pages.flatMap((p) => p.repositories).includes("tier/cat-b"));
  });

  it("a valid manifest GET, a blob GET and /v2/ go straight to the registry", async () => {
    const digest = await seed(nginx.url, "tier/direct", ["v1"]);
    const blob = blobOf(Buffer.from("direct blob"));
    await pushBlob(nginx.url, "tier/direct", blob);
    const before = seenByProxy(fx.proxy).length;
    const accept = { accept: "application/vnd.oci.image.index.v1+json" };
    for (const path of [
      "/v2/",
      "/v2/tier/direct/manifests/v1",
      `/v2/tier/direct/manifests/${digest}`,
      "/v2/tier/direct/manifests/list",
    ]) {
      const res = await request("GET", `${nginx.url}${path}`, { headers: accept });
      assert.ok(res.status === 200 || res.status === 404, `${path}: ${res.status}`);
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0", "one API version header");
    }
    const got = await request("GET", `${nginx.url}/v2/tier/direct/blobs/${blob.digest}`);
    assert.deepEqual(got.body, blob.bytes);
    assert.deepEqual(seenByProxy(fx.proxy).slice(before), [], "the proxy saw none of them");
  });

  it("a manifest with non-distributable layers (urls) pushed through nginx is pulled back whole", async () => {
    const config = blobOf(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" })));
    await pushBlob(nginx.url, "tier/nd", config);
    const remote = sha256(randomBytes(64));
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: config.digest,
          size: config.size,
        },
        layers: [
          {
            mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            digest: remote,
            size: 1234,
            urls: [`https://store.example.com/blobs/${remote}`],
          },
        ],
      }),
    );
    const put = await putRaw(nginx.url, "tier/nd", "v1", body, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(put.status, 201, put.text);
    const got = await request("GET", `${nginx.url}/v2/tier/nd/manifests/v1`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(body));
  });
});

describe("nginx tier with the proxy's strict upload semantics on", () => {
  let nginx: NginxTier;
  const fx = useRegistryAndProxy({ proxy: { proxy: { trustForwardedHeaders: true } } });
  before(async () => {
    nginx = await startNginxTier({ registryUrl: fx.registry.url, proxyUrl: fx.proxy.url });
  });
  after(async () => {
    await nginx?.stop();
  });

  it("uploads go to the proxy: an out-of-order PATCH answers 416 with the current Range and nginx's Location", async () => {
    const data = Buffer.from("0123456789abcdefghij");
    const start = await request("POST", `${nginx.url}/v2/strict/up/blobs/uploads/`);
    assert.equal(start.status, 202);
    const l0 = start.headers.location as string;
    assert.ok(l0.startsWith(`${nginx.url}/v2/strict/up/blobs/uploads/`), l0);
    const octets = { "content-type": "application/octet-stream" };
    const first = await request("PATCH", l0, {
      headers: { ...octets, "content-range": "0-4" },
      body: data.subarray(0, 5),
    });
    assert.equal(first.status, 202);
    const wrong = await request("PATCH", first.headers.location as string, {
      headers: { ...octets, "content-range": "10-14" },
      body: data.subarray(10, 15),
    });
    assert.equal(wrong.status, 416);
    assert.equal(wrong.headers.range, "0-4");
    assert.equal(assertOciError(wrong, "416"), "BLOB_UPLOAD_INVALID");
    assert.ok(String(wrong.headers.location).startsWith(`${nginx.url}/v2/strict/up/blobs/uploads/`));
    const uploads = seenByProxy(fx.proxy).filter((l) => l.path.startsWith("/v2/strict/up/blobs/uploads/"));
    assert.equal(uploads.length, 3);
  });

  it("a closing PUT whose Content-Range is out of order answers 416; GET then the right PUT complete the blob", async () => {
    const data = randomBytes(3067);
    const octets = { "content-type": "application/octet-stream" };
    const start = await request("POST", `${nginx.url}/v2/strict/closing/blobs/uploads/`);
    const first = await request("PATCH", start.headers.location as string, {
      headers: { ...octets, "content-range": "0-1023" },
      body: data.subarray(0, 1024),
    });
    assert.equal(first.status, 202);
    const put = (location: string, range: string, from: number) =>
      request("PUT", `${location}&digest=${sha256(data)}`, {
        headers: { ...octets, "content-range": range },
        body: data.subarray(from),
      });
    const wrong = await put(first.headers.location as string, "2048-3066", 2048);
    assert.equal(wrong.status, 416, wrong.text);
    assert.equal(wrong.headers.range, "0-1023");
    assert.ok(String(wrong.headers.location).startsWith(`${nginx.url}/v2/strict/closing/blobs/uploads/`));
    const status = await request("GET", wrong.headers.location as string);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, "0-1023");
    const done = await put(status.headers.location as string, "1024-3066", 1024);
    assert.equal(done.status, 201, done.text);
    const got = await request("GET", `${nginx.url}/v2/strict/closing/blobs/${sha256(data)}`);
    assert.ok(got.body.equals(data));
  });
});

describe("nginx tier with the proxy stopped", () => {
  let nginx: NginxTier;
  const fx = useRegistryAndProxy({ proxy: { proxy: { trustForwardedHeaders: true } } });
  before(async () => {
    nginx = await startNginxTier({ registryUrl: fx.registry.url, proxyUrl: fx.proxy.url });
  });
  after(async () => {
    await nginx?.stop();
  });

  it("tags list answers 502 OCI JSON, blob and manifest pulls still work", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 1000 });
    await pushImage(fx.registry.url, "down/app", image, ["v1"]);
    await fx.proxy.stop();
    for (const path of ["/v2/down/app/tags/list", "/v2/down/app/tags/_list?n=1"]) {
      const res = await request("GET", `${nginx.url}${path}`);
      assert.ok(res.status === 502 || res.status === 503, `${path}: ${res.status}`);
      assert.equal(assertOciError(res, path), "UNAVAILABLE");
    }
    const del = await request("DELETE", `${nginx.url}/v2/down/app/tags/v1`);
    assert.equal(del.status, 502);
    const layer = image.layers[0]!;
    const blob = await request("GET", `${nginx.url}/v2/down/app/blobs/${layer.digest}`);
    assert.equal(blob.status, 200);
    assert.equal(sha256(blob.body), layer.digest);
    const manifest = await request("GET", `${nginx.url}/v2/down/app/manifests/v1`, {
      headers: { accept: image.mediaType },
    });
    assert.deepEqual(manifest.body, image.manifest.bytes);
  });
});

describe("deploy/nginx/run.sh", () => {
  it("stops on SIGTERM with status 0 and removes its temporary prefix", async () => {
    const registry = await closedPort();
    const tier = await startNginxTier({
      registryUrl: `http://127.0.0.1:${registry}`,
      proxyUrl: `http://127.0.0.1:${await closedPort()}`,
    });
    const prefix = /prefix (\S+)\)/.exec(tier.stderr())?.[1];
    assert.ok(prefix && existsSync(join(prefix, "nginx.conf")), tier.stderr());
    // Nothing listens behind it: the registry's answer is OCI JSON too.
    const res = await request("GET", `${tier.url}/v2/app/blobs/sha256:${"0".repeat(64)}`);
    assert.equal(res.status, 502);
    assert.equal(assertOciError(res, "registry down"), "UNAVAILABLE");
    assert.equal(await tier.stop(), 0, tier.stderr());
    assert.equal(existsSync(prefix), false, "prefix removed");
    assert.doesNotMatch(tier.stderr(), /\[(emerg|alert|crit)\]/);
  });

  it("exits non-zero with nginx's message when nginx refuses the configuration", async () => {
    const { child, stderr } = spawnRunSh([
      "--listen",
      "127.0.0.1:99999",
      "--registry",
      "http://127.0.0.1:5000",
      "--proxy",
      "http://127.0.0.1:5080",
    ]);
    const code = await exited(child);
    assert.notEqual(code, 0);
    assert.match(stderr(), /\[emerg\].*invalid port/);
  });

  it("exits non-zero with nginx's message when the address is taken", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (taken.address() as AddressInfo).port;
      const { child, stderr } = spawnRunSh([
        "--listen",
        `127.0.0.1:${port}`,
        "--registry",
        "http://127.0.0.1:5000",
        "--proxy",
        "http://127.0.0.1:5080",
      ]);
      const code = await exited(child);
      assert.notEqual(code, 0);
      assert.match(stderr(), /\[emerg\].*Address already in use/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it("refuses arguments it cannot render (exit 2, usage)", async () => {
    for (const args of [
      [],
      ["--listen", "127.0.0.1:1", "--registry", "https://r:5000", "--proxy", "http://p:1"],
      ["--listen", "127.0.0.1:1", "--registry", "http://r:5000/path", "--proxy", "http://p:1"],
      ["--listen", "127.0.0.1:1;", "--registry", "http://r:5000", "--proxy", "http://p:1"],
    ]) {
      const { child, stderr } = spawnRunSh(args);
      assert.equal(await exited(child), 2, `${args.join(" ")}: ${stderr()}`);
      assert.match(stderr(), /run\.sh|--listen/);
    }
  });
});
