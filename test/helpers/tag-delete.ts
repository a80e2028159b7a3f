/**
 * Helpers for the tag delete tests: images of each manifest type with several
 * tags, and direct looks at the real registry's state (bypassing the proxy).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { request } from "./http.js";
import { ALL_MANIFEST_TYPES, type Image, MT, makeImage, makeIndex, pushImage, putManifest } from "./oci.js";

export type ManifestKind = "docker-v2" | "oci-manifest" | "oci-index" | "docker-list";
export const MANIFEST_KINDS: readonly ManifestKind[] = [
  "docker-v2",
  "oci-manifest",
  "oci-index",
  "docker-list",
];

export interface Pushed {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

/** Pushes one manifest of `kind` to `repo` and tags it with every tag (small layers). */
export async function pushKind(
  base: string,
  repo: string,
  kind: ManifestKind,
  tags: string[],
  auth?: string,
): Promise<Pushed> {
  const small = { layerCount: 1, layerSize: 64 };
  if (kind === "docker-v2" || kind === "oci-manifest") {
    const image = makeImage({ ...small, docker: kind === "docker-v2" });
    const digest = await pushImage(base, repo, image, tags, auth);
    return { digest, bytes: image.manifest.bytes, mediaType: image.mediaType };
  }
  const docker = kind === "docker-list";
  const children: Image[] = [makeImage({ ...small, docker }), makeImage({ ...small, docker })];
  for (const c of children) {
    await pushImage(base, repo, c, [], auth);
    await putManifest(base, repo, c.manifest.digest, c.manifest.bytes, c.mediaType, auth);
  }
  const index = makeIndex(children, docker);
  for (const tag of tags) await putManifest(base, repo, tag, index.bytes, index.mediaType, auth);
  return { digest: index.digest, bytes: index.bytes, mediaType: docker ? MT.dockerList : MT.ociIndex };
}

/**
 * The tag's current manifest straight from the registry (null when 404).
 *
 * 2.8 rewrites a tag's link file in place (open, truncate, write), so a GET that
 * lands while the tag is being pushed reads an empty link and answers
 * `500 UNKNOWN`: measured, 52 of 1,008 GETs of a tag re-pushed 400 times. A read
 * that polls a tag while a write is in flight retries those (the proxy's own reads
 * do the same, `fetchOriginal` in src/tags/swap.ts); any other status is final.
 */
export async function manifestOf(
  base: string,
  repo: string,
  ref: string,
  auth?: string,
): Promise<{ digest: string; bytes: Buffer; mediaType: string } | null> {
  const headers: Record<string, string> = { accept: ALL_MANIFEST_TYPES };
  if (auth) headers["authorization"] = auth;
  const url = `${base}/v2/${repo}/manifests/${ref}`;
  let res = await request("GET", url, { headers });
  for (let i = 0; i < 5 && res.status === 500; i++) {
    await new Promise((r) => setTimeout(r, 20));
    res = await request("GET", url, { headers });
  }
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET ${repo}:${ref}: ${res.status} ${res.text}`);
  return {
    digest: res.headers["docker-content-digest"] as string,
    bytes: res.body,
    mediaType: res.headers["content-type"] as string,
  };
}

/** tags/list straight from the registry, sorted ([] for null). */
export async function tagsOf(base: string, repo: string, auth?: string): Promise<string[]> {
  const res = await request(
    "GET",
    `${base}/v2/${repo}/tags/list`,
    auth ? { headers: { authorization: auth } } : {},
  );
  if (res.status === 404) return [];
  assert.equal(res.status, 200, res.text);
  return ((res.json<{ tags: string[] | null }>().tags ?? []) as string[]).sort();
}

/** Manifest revisions the registry still holds for a repository (filesystem storage). */
export function revisionsOf(registryDir: string, repo: string): string[] {
  const dir = join(
    registryDir,
    "storage",
    "docker",
    "registry",
    "v2",
    "repositories",
    repo,
    "_manifests",
    "revisions",
    "sha256",
  );
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, "link")))
    .map((d) => `sha256:${d}`)
    .sort();
}

export function errorCode(res: { json<T>(): T }): string | undefined {
  return res.json<{ errors?: Array<{ code: string }> }>().errors?.[0]?.code;
}
