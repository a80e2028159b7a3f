/**
 * Shared by the tags list tests: a 25-tag fixture in byte order, blob-free
 * manifests to seed tags fast, and a walker that follows `Link` rel="next".
 */
import assert from "node:assert/strict";
import { type Res, request } from "./http.js";
import { MT, putManifest } from "./oci.js";

/** 25 tags: mixed case, digits, `.`, `-`, `_`; in byte order (Go's sort.Strings). */
export const TAGS_SORTED = [
  "0",
  "1",
  "10",
  "2",
  "9",
  "A",
  "B",
  "V2",
  "Zed",
  "_",
  "_u",
  "a-",
  "aa",
  "c-d",
  "c.d",
  "c_d",
  "latest",
  "v1.0",
  "v1.0-rc1",
  "v1.0.1",
  "v1.10",
  "v1.9",
  "x",
  "y",
  "z",
];

/** A manifest that needs no blobs (an empty OCI index); `nonce` makes its digest unique. */
export function emptyIndex(nonce = "0"): Buffer {
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [], annotations: { nonce } }),
  );
}

export async function seed(
  base: string,
  repo: string,
  tags: readonly string[],
  auth?: string,
): Promise<string> {
  let digest = "";
  const body = emptyIndex(repo);
  for (const tag of tags) digest = await putManifest(base, repo, tag, body, MT.ociIndex, auth);
  return digest;
}

export interface TagList {
  name: string;
  tags: string[];
}

export function errorCode(res: Res): string | undefined {
  return res.json<{ errors: Array<{ code: string }> }>().errors[0]?.code;
}

/** Follows `Link` rel="next" from `firstPath` until it stops; returns the pages. */
export async function walk(
  proxyUrl: string,
  firstPath: string,
): Promise<{ pages: TagList[]; links: string[] }> {
  const pages: TagList[] = [];
  const links: string[] = [];
  let path: string | null = firstPath;
  for (let guard = 0; path !== null && guard < 100; guard++) {
    const res = await request("GET", `${proxyUrl}${path}`);
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    pages.push(res.json<TagList>());
    const link = res.headers.link as string | undefined;
    if (link === undefined) path = null;
    else {
      links.push(link);
      const m = /^<(\/v2\/[^>]+)>; rel="next"$/.exec(link);
      assert.ok(m, `relative next Link: ${link}`);
      path = m[1]!;
    }
  }
  return { pages, links };
}
