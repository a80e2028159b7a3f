/**
 * Test content: real image layers (gzip'd tar), configs and manifests of every
 * type, pushed over plain HTTP or written as an OCI layout for skopeo.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { request } from "./http.js";

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

export const ALL_MANIFEST_TYPES = [
  MT.ociManifest,
  MT.ociIndex,
  MT.dockerManifest,
  MT.dockerList,
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
].join(", ");

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A one-file POSIX tar archive. */
export function tarOf(fileName: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(fileName, 0, 100, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, "0")}\0`,
    136,
  );
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

export interface Blob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export function blobOf(bytes: Buffer): Blob {
  return { bytes, digest: sha256(bytes), size: bytes.length };
}

export interface Image {
  layers: Blob[];
  config: Blob;
  manifest: Blob;
  mediaType: string;
}

/** A runnable-looking image with `layerCount` random layers. `docker` selects schema2 media types. */
export function makeImage(
  options: { layerCount?: number; layerSize?: number; docker?: boolean; created?: string } = {},
): Image {
  const docker = options.docker ?? false;
  const layers: Blob[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < (options.layerCount ?? 2); i++) {
    const tar = tarOf(`file-${i}.bin`, randomBytes(options.layerSize ?? 1024));
    diffIds.push(sha256(tar));
    layers.push(blobOf(gzipSync(tar)));
  }
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        created: options.created ?? new Date().toISOString(),
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: diffIds },
        history: diffIds.map(() => ({ created_by: "test" })),
      }),
    ),
  );
  const manifest = blobOf(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: docker ? MT.dockerManifest : MT.ociManifest,
        config: {
          mediaType: docker ? MT.dockerConfig : MT.ociConfig,
          digest: config.digest,
          size: config.size,
        },
        layers: layers.map((l) => ({
          mediaType: docker ? MT.dockerLayer : MT.ociLayer,
          digest: l.digest,
          size: l.size,
        })),
      }),
    ),
  );
  return { layers, config, manifest, mediaType: docker ? MT.dockerManifest : MT.ociManifest };
}

/** An index (OCI or Docker list) over already-pushed manifests. */
export function makeIndex(children: Image[], docker = false): Blob & { mediaType: string } {
  const mediaType = docker ? MT.dockerList : MT.ociIndex;
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType,
        digest: c.manifest.digest,
        size: c.manifest.size,
        platform: { architecture: i === 0 ? "amd64" : `arm${i}`, os: "linux" },
      })),
    }),
  );
  return { ...blobOf(body), mediaType };
}

function authHeaders(auth?: string): Record<string, string> {
  return auth ? { authorization: auth } : {};
}

/** Monolithic upload: POST, then PUT with the digest. */
export async function pushBlob(base: string, repo: string, blob: Blob, auth?: string): Promise<void> {
  const start = await request("POST", `${base}/v2/${repo}/blobs/uploads/`, { headers: authHeaders(auth) });
  if (start.status !== 202) throw new Error(`POST upload: ${start.status} ${start.text}`);
  const loc = new URL(start.headers.location as string, base);
  loc.searchParams.set("digest", blob.digest);
  const put = await request("PUT", `${base}${loc.pathname}${loc.search}`, {
    headers: { "content-type": "application/octet-stream", ...authHeaders(auth) },
    body: blob.bytes,
  });
  if (put.status !== 201) throw new Error(`PUT blob: ${put.status} ${put.text}`);
}

export async function putManifest(
  base: string,
  repo: string,
  reference: string,
  body: Buffer,
  mediaType: string,
  auth?: string,
): Promise<string> {
  const res = await request("PUT", `${base}/v2/${repo}/manifests/${reference}`, {
    headers: { "content-type": mediaType, ...authHeaders(auth) },
    body,
  });
  if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${reference}: ${res.status} ${res.text}`);
  return res.headers["docker-content-digest"] as string;
}

/** Pushes an image's blobs and manifest, tagging it with each of `tags`. */
export async function pushImage(base: string, repo: string, image: Image, tags: string[], auth?: string) {
  for (const b of [...image.layers, image.config]) await pushBlob(base, repo, b, auth);
  for (const tag of tags) await putManifest(base, repo, tag, image.manifest.bytes, image.mediaType, auth);
  return image.manifest.digest;
}

/** Writes `image` as an OCI layout at `dir` with the given ref name (for `skopeo copy oci:dir:ref`). */
export function writeOciLayout(dir: string, image: Image, ref = "latest"): void {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const b of [...image.layers, image.config, image.manifest]) {
    writeFileSync(join(blobs, b.digest.slice(7)), b.bytes);
  }
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: image.mediaType,
          digest: image.manifest.digest,
          size: image.manifest.size,
          annotations: { "org.opencontainers.image.ref.name": ref },
        },
      ],
    }),
  );
}

/** Asserts that the OCI layout at `dir` holds `image` under `ref`: the same manifest digest and every blob byte for byte. */
export function assertLayoutHolds(dir: string, ref: string, image: Image): void {
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === ref);
  assert.equal(entry?.digest, image.manifest.digest, `${dir}:${ref} holds the pushed manifest`);
  for (const b of [image.manifest, image.config, ...image.layers]) {
    const bytes = readFileSync(join(dir, "blobs", "sha256", b.digest.slice(7)));
    assert.equal(sha256(bytes), b.digest, `blob ${b.digest} intact`);
  }
}
