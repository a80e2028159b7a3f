/**
 * Seeding the registry directly (never through a target): one small image for
 * the manifest runs, repositories with many tags (concurrent manifest PUTs on
 * keep-alive connections), and repositories of tags to delete.
 */
import http from "node:http";
import { request } from "../../test/helpers/http.js";
import { type Image, MT, makeImage, pushImage } from "../../test/helpers/oci.js";

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** The Accept header docker sends for a manifest pull. */
export const MANIFEST_ACCEPT = [
  MT.dockerManifest,
  MT.dockerList,
  MT.ociManifest,
  MT.ociIndex,
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
].join(", ");

/** An empty OCI index: a valid manifest that needs no blob (registry-2.8 notes §5). */
const EMPTY_INDEX = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] }));

async function putAll(
  base: string,
  repo: string,
  tags: readonly string[],
  body: Buffer,
  type: string,
  concurrency = 32,
) {
  let next = 0;
  const worker = async () => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      const res = await request("PUT", `${base}/v2/${repo}/manifests/${tag}`, {
        headers: { "content-type": type },
        body,
        agent,
      });
      if (res.status !== 201) throw new Error(`seed PUT ${repo}:${tag}: ${res.status} ${res.text}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Tag names of several shapes, as a real repository has them. */
export function tagName(i: number): string {
  const kinds = [`v${i}`, `V${i}.0`, `build-${i}`, `rc_${i}`, `${i}`];
  return kinds[i % kinds.length]!;
}

export async function seedTags(base: string, repo: string, count: number): Promise<void> {
  await putAll(
    base,
    repo,
    Array.from({ length: count }, (_, i) => tagName(i)),
    EMPTY_INDEX,
    MT.ociIndex,
  );
}

/** A small schema2 image tagged `latest` (what `docker pull` asks for first). */
export async function seedImage(base: string, repo: string): Promise<Image> {
  const image = makeImage({ layerCount: 2, layerSize: 4096, docker: true });
  await pushImage(base, repo, image, ["latest"]);
  return image;
}

/** `count` tags on one image (plus `keep`), ready to be deleted one by one. */
export async function seedDeletable(
  base: string,
  repo: string,
  image: Image,
  count: number,
): Promise<string[]> {
  const tags = Array.from({ length: count }, (_, i) => `t${i}`);
  await pushImage(base, repo, image, []);
  await putAll(base, repo, [...tags, "keep"], image.manifest.bytes, image.mediaType);
  return tags;
}

export function closeSeedAgent(): void {
  agent.destroy();
}
