/**
 * Shared by the catalog tests: repositories the catalog lists (a blob makes a
 * repository appear in 2.8's catalog), emptied the way users empty them, and a
 * walker that follows the catalog's `Link` and checks each page's form.
 */
import assert from "node:assert/strict";
import { request } from "./http.js";
import { type Image, makeImage, pushImage } from "./oci.js";

export interface CatalogPage {
  repositories: string[];
  link: string | null;
}

/** One small image shared by every repository (one 16-byte layer). */
export const SMALL_IMAGE: Image = makeImage({ layerCount: 1, layerSize: 16 });

/** Pushes the small image to each repository with tag `t`; returns its digest. */
export async function pushRepositories(
  base: string,
  names: readonly string[],
  auth?: string,
): Promise<string> {
  let digest = "";
  for (const name of names) digest = await pushImage(base, name, SMALL_IMAGE, ["t"], auth);
  return digest;
}

/** Deletes the manifest by digest on `base` (every tag goes; the repository stays in 2.8's catalog). */
export async function emptyByDigest(
  base: string,
  name: string,
  digest: string,
  auth?: string,
): Promise<void> {
  const res = await request("DELETE", `${base}/v2/${name}/manifests/${digest}`, {
    headers: auth ? { authorization: auth } : {},
  });
  assert.equal(res.status, 202, `DELETE ${name}@${digest}: ${res.status} ${res.text}`);
}

/** The whole catalog as `base` lists it, one request (n=1000). */
export async function wholeCatalog(base: string, auth?: string): Promise<string[]> {
  const res = await request("GET", `${base}/v2/_catalog?n=1000`, {
    headers: auth ? { authorization: auth } : {},
  });
  assert.equal(res.status, 200, res.text);
  return res.json<{ repositories: string[] }>().repositories;
}

/** The `Link` 2.8.2 writes: relative, `last` first, `/` as `%2F`. */
export function expectedLink(last: string, n: number): string {
  return `</v2/_catalog?last=${last.replaceAll("/", "%2F")}&n=${n}>; rel="next"`;
}

/**
 * Follows the catalog's Links from `firstQuery`, checking that every page but the
 * last holds exactly `n` names and links to the page after its last name; returns the pages.
 */
export async function walkCatalog(
  base: string,
  n: number,
  firstQuery = `n=${n}`,
  auth?: string,
): Promise<CatalogPage[]> {
  const pages: CatalogPage[] = [];
  for (let path: string | null = `/v2/_catalog?${firstQuery}`; path !== null; ) {
    const res = await request("GET", `${base}${path}`, { headers: auth ? { authorization: auth } : {} });
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    const { repositories } = res.json<{ repositories: string[] }>();
    const link = (res.headers.link as string | undefined) ?? null;
    pages.push({ repositories, link });
    if (link !== null) {
      assert.equal(repositories.length, n, `${path}: a page with a Link is full`);
      assert.equal(link, expectedLink(repositories.at(-1)!, n), path);
      path = /^<([^>]+)>/.exec(link)![1]!;
    } else path = null;
    assert.ok(pages.length < 1000, "the walk ends");
  }
  return pages;
}
