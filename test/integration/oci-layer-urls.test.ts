/**
 * Manifests whose layers live elsewhere: OCI non-distributable layers with `urls`
 * (the conformance suite's "non-distributable-layers" image: a gzip'd and a plain
 * non-distributable layer with `urls`, and a normal layer) and Docker foreign layers.
 * The spec: a registry MUST accept a manifest it is sent ("The registry MUST store the
 * manifest in the exact byte representation provided by the client"), and a refused
 * one gets a 4xx with OCI error JSON (MANIFEST_INVALID: "During upload, manifests
 * undergo several checks ensuring validity"), not a 500.
 *
 * 2.8 checks layer URLs against `validation.manifests.urls` and allows none by
 * default: the PUT gets 500. The embedded registry and every shipped deployment allow
 * http(s) URLs; where an operator's registry refuses them, the proxy answers 400.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { putRaw } from "../helpers/artifacts.js";
import { type Res, request } from "../helpers/http.js";
import {
  ALL_MANIFEST_TYPES,
  type Blob,
  blobOf,
  MT,
  makeImage,
  pushBlob,
  pushImage,
  sha256,
} from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ND_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
const ND_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar";
const FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

interface Foreign {
  manifest: Buffer;
  mediaType: string;
  /** Blobs the registry must hold (config and normal layers). */
  blobs: Blob[];
  /** Digests of the layers that live elsewhere. */
  remote: string[];
}

/** The conformance suite's image: two non-distributable layers with `urls` and one normal layer. */
function nonDistributableImage(): Foreign {
  const nd = [sha256(randomBytes(256)), sha256(randomBytes(256))];
  const layer = blobOf(randomBytes(300));
  const config = blobOf(
    Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(4).toString("hex") }),
    ),
  );
  const url = (d: string) => `https://store.example.com/blobs/sha256/${d.slice(7)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size },
      layers: [
        { mediaType: ND_GZIP, digest: nd[0], size: 123456, urls: [url(nd[0]!)] },
        { mediaType: ND_TAR, digest: nd[1], size: 12345, urls: [url(nd[1]!)] },
        { mediaType: MT.ociLayer, digest: layer.digest, size: layer.size },
      ],
    }),
  );
  return { manifest, mediaType: MT.ociManifest, blobs: [config, layer], remote: nd };
}

/** A schema2 image with one Docker foreign layer (as Windows base images have). */
function foreignLayerImage(): Foreign {
  const remote = sha256(randomBytes(256));
  const config = blobOf(
    Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "windows", nonce: randomBytes(4).toString("hex") }),
    ),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.dockerManifest,
      config: { mediaType: MT.dockerConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: FOREIGN, digest: remote, size: 4096, urls: ["https://mcr.example.com/l/1"] }],
    }),
  );
  return { manifest, mediaType: MT.dockerManifest, blobs: [config], remote: [remote] };
}

async function pushBlobs(base: string, repo: string, image: Foreign): Promise<void> {
  for (const b of image.blobs) await pushBlob(base, repo, b);
}

function getManifest(base: string, repo: string, ref: string, method = "GET"): Promise<Res> {
  return request(method, `${base}/v2/${repo}/manifests/${ref}`, { headers: { accept: ALL_MANIFEST_TYPES } });
}

async function tagsOf(base: string, repo: string): Promise<string[]> {
  const res = await request("GET", `${base}/v2/${repo}/tags/list`);
  assert.equal(res.status, 200, res.text);
  return [...(res.json<{ tags: string[] | null }>().tags ?? [])].sort();
}

describe("manifests with non-distributable layers (2.8 that allows http(s) layer URLs, as shipped)", () => {
  let registry: TestRegistry;
  let owned: TestProxy;
  let plain: TestProxy;

  before(async () => {
    registry = await startRegistry();
    owned = await startProxy(registry.url);
    plain = await startProxy(registry.url, { oci: { referrers: false } });
  });
  after(async () => {
    await owned?.stop();
    await plain?.stop();
    await registry?.stop();
  });

  for (const [mode, proxy] of [
    ["the proxy", () => owned],
    ["the proxy with oci.referrers off (passthrough)", () => plain],
  ] as const) {
    it(`PUT /v2/:name/manifests/:tag with non-distributable layers through ${mode} answers 201; list, HEAD and GET give it back whole`, async () => {
      const base = proxy().url;
      for (const [i, image] of [nonDistributableImage(), foreignLayerImage()].entries()) {
        const repo = `nd/stored-${mode.length}-${i}`;
        await pushBlobs(base, repo, image);
        const put = await putRaw(base, repo, "v1", image.manifest, image.mediaType);
        assert.equal(put.status, 201, put.text);
        assert.equal(put.headers["docker-content-digest"], sha256(image.manifest));
        assert.deepEqual(await tagsOf(base, repo), ["v1"]);
        const head = await getManifest(base, repo, "v1", "HEAD");
        assert.equal(head.status, 200);
        assert.equal(head.headers["docker-content-digest"], sha256(image.manifest));
        for (const ref of ["v1", sha256(image.manifest)]) {
          const got = await getManifest(base, repo, ref);
          assert.equal(got.status, 200, got.text);
          assert.ok(got.body.equals(image.manifest), `${ref}: byte for byte`);
          assert.equal(got.headers["content-type"], image.mediaType);
        }
      }
    });
  }
});

describe("a registry that refuses layer URLs (2.8's default: no validation.manifests.urls)", () => {
  let registry: TestRegistry;
  let owned: TestProxy;
  let plain: TestProxy;

  before(async () => {
    registry = await startRegistry({ extra: { validation: { manifests: { urls: {} } } } });
    owned = await startProxy(registry.url);
    plain = await startProxy(registry.url, { oci: { referrers: false } });
  });
  after(async () => {
    await owned?.stop();
    await plain?.stop();
    await registry?.stop();
  });

  it("2.8 on its own: PUT answers 500 UNKNOWN with MANIFEST_BLOB_UNKNOWN for the remote layers", async () => {
    const image = nonDistributableImage();
    await pushBlobs(registry.url, "nd/direct", image);
    const put = await putRaw(registry.url, "nd/direct", "v1", image.manifest, image.mediaType);
    assert.equal(put.status, 500);
    const codes = put.json<{ errors: Array<{ code: string }> }>().errors.map((e) => e.code);
    assert.equal(codes[0], "UNKNOWN");
    assert.ok(codes.includes("MANIFEST_BLOB_UNKNOWN"));
  });

  for (const [mode, proxy] of [
    ["the proxy", () => owned],
    ["the proxy with oci.referrers off (passthrough)", () => plain],
  ] as const) {
    it(`PUT with non-distributable layers through ${mode} answers 400 MANIFEST_INVALID naming them; the repository is as before`, async () => {
      const base = proxy().url;
      for (const [i, image] of [nonDistributableImage(), foreignLayerImage()].entries()) {
        const repo = `nd/refused-${mode.length}-${i}`;
        const old = makeImage({ layerCount: 1, layerSize: 64 });
        await pushImage(base, repo, old, ["v1", "keep"]);
        await pushBlobs(base, repo, image);
        const put = await putRaw(base, repo, "v1", image.manifest, image.mediaType);
        assert.equal(put.status, 400, put.text);
        assert.match(String(put.headers["content-type"]), /^application\/json/);
        assert.equal(put.headers["docker-distribution-api-version"], "registry/2.0");
        const err = put.json<{
          errors: Array<{
            code: string;
            message: string;
            detail: { layers: Array<{ digest: string; urls: string[] }> };
          }>;
        }>().errors[0]!;
        assert.equal(err.code, "MANIFEST_INVALID");
        assert.match(err.message, /non-distributable/);
        assert.deepEqual(err.detail.layers.map((l) => l.digest).sort(), [...image.remote].sort());
        assert.ok(err.detail.layers.every((l) => l.urls.length > 0));
        // Nothing changed: the list, the tag's old manifest, its sibling.
        assert.deepEqual(await tagsOf(base, repo), ["keep", "v1"]);
        const head = await getManifest(base, repo, "v1", "HEAD");
        assert.equal(head.status, 200);
        assert.equal(head.headers["docker-content-digest"], old.manifest.digest);
        const keep = await getManifest(base, repo, "keep");
        assert.ok(keep.body.equals(old.manifest.bytes));
        assert.equal((await getManifest(base, repo, sha256(image.manifest), "HEAD")).status, 404);
      }
    });
  }

  it("a manifest the registry refuses for another reason keeps the registry's own answer", async () => {
    const image = makeImage({ layerCount: 1 });
    for (const base of [owned.url, plain.url]) {
      const put = await putRaw(base, "nd/other", "v1", image.manifest.bytes, image.mediaType);
      assert.equal(put.status, 400, put.text);
      assert.equal(put.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "MANIFEST_BLOB_UNKNOWN");
    }
  });
});

/** The registry settings every shipped deployment gives docker-registry. */
function shippedRegistrySettings(): Array<{ where: string; env?: string; validation?: unknown }> {
  const out: Array<{ where: string; env?: string; validation?: unknown }> = [];
  const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
  for (const file of [
    "docker-compose.yml",
    "deploy/compose/replicas.yml",
    "deploy/nginx/docker-compose.yml",
  ]) {
    const env = (parse(read(file)) as { services: { registry: { environment: Record<string, string> } } })
      .services.registry.environment;
    out.push({ where: file, env: env["REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW"] });
  }
  for (const file of ["deploy/kubernetes/deployment.yaml", "deploy/nginx/nginx-tier.yaml"]) {
    for (const doc of parseAllDocuments(read(file))) {
      const o = doc.toJS() as {
        kind?: string;
        spec?: {
          template: {
            spec: { containers: Array<{ name: string; env: Array<{ name: string; value?: string }> }> };
          };
        };
      };
      if (o?.kind !== "Deployment") continue;
      const registry = o.spec!.template.spec.containers.find((c) => c.name === "registry")!;
      const allow = registry.env.find((e) => e.name === "REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW")?.value;
      out.push({ where: file, env: allow });
    }
  }
  const configMap = parse(read("deploy/kubernetes-gc/registry-config.yaml")) as {
    data: Record<string, string>;
  };
  out.push({
    where: "deploy/kubernetes-gc/registry-config.yaml",
    validation: (parse(configMap.data["config.yml"]!) as Record<string, unknown>)["validation"],
  });
  return out;
}

describe("every shipped deployment's registry stores them (docker-registry 2.8.2 run with its setting)", () => {
  for (const setting of shippedRegistrySettings()) {
    it(`${setting.where}: PUT with non-distributable layers through the proxy answers 201`, async () => {
      assert.ok(setting.env !== undefined || setting.validation !== undefined, "the setting is there");
      // The registry reads REGISTRY_* from its environment, as in the container.
      const saved = process.env["REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW"];
      if (setting.env !== undefined) process.env["REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW"] = setting.env;
      // The harness's own allow list is replaced by a refusing one, so only the setting can allow.
      const starting = startRegistry({
        extra: { validation: setting.validation ?? { manifests: { urls: {} } } },
      });
      if (saved === undefined) delete process.env["REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW"];
      else process.env["REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW"] = saved;
      const registry = await starting;
      const proxy = await startProxy(registry.url);
      try {
        const image = nonDistributableImage();
        await pushBlobs(proxy.url, "nd/shipped", image);
        const put = await putRaw(proxy.url, "nd/shipped", "v1", image.manifest, image.mediaType);
        assert.equal(put.status, 201, put.text);
        const got = await getManifest(proxy.url, "nd/shipped", "v1");
        assert.ok(got.body.equals(image.manifest));
      } finally {
        await proxy.stop();
        await registry.stop();
      }
    });
  }
});
