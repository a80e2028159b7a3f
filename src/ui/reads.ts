/**
 * What the web UI's pages read from the registry, with the visitor's credentials
 * and through the proxy's own logic: the catalog, a page of a repository's tags
 * (the tags list cache and pagination of `tags/_list`), per-tag details for that
 * page only (bounded concurrency, cached), a tag's manifest, its config and its
 * referrers (the referrers tag schema, as `/v2/<name>/referrers/<digest>`).
 * Failures are values (registry-client/failure.ts) for the pages to show.
 */
import type { AppDeps } from "../deps.js";
import { indexAfter, type Page, paginate } from "../oci/pagination.js";
import { type Descriptor, referrersTag } from "../oci/referrers.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { type Failure, isFailed } from "../registry-client/failure.js";
import { loadTagList } from "../tags/list-answer.js";
import { mapLimit } from "../util/concurrency.js";
import { listedCatalogPage, listedOf } from "./catalog-reads.js";
import { type ManifestView, viewManifest } from "./manifest-view.js";
import type { UiCaches } from "./ui-caches.js";
import type { Visitor } from "./visitor.js";

export const REPOSITORIES_PER_PAGE = 100;
export const TAGS_PER_PAGE = 50;
/** The largest page a visitor may ask for with `?n=`. */
export const MAX_PER_PAGE = 500;
/** Upstream calls in flight at once for one page's details. */
export const DETAIL_CONCURRENCY = 8;
/** Index entries whose manifests a tag's page reads (their layers and sizes). */
export const MAX_CHILDREN_READ = 32;
/** A config larger than this is not read (configs are a few kB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** One page's reading context: the proxy's services, the UI's caches, the visitor and the registry as them. */
export interface UiReader {
  deps: AppDeps;
  caches: UiCaches;
  visitor: Visitor;
  reg: RegistryCalls;
}

export function readerFor(deps: AppDeps, caches: UiCaches, visitor: Visitor): UiReader {
  return { deps, caches, visitor, reg: deps.registry.as(visitor.credentials) };
}

/** The referrers tag schema's fallback tags (`sha256-<64 hex>`): indexes, not images. */
export function isReferrersTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}$/.test(tag);
}

/** Whether `tag` is in `sorted` (the tags list's order). */
export function hasTag(sorted: readonly string[], tag: string): boolean {
  const i = indexAfter(sorted, tag);
  return i > 0 && sorted[i - 1] === tag;
}

export interface CatalogPage extends Page {
  /** Repositories matching the filter; null when unknown (no filter: only this page was read). */
  matched: number | null;
  /** Repositories in the catalog, when known. */
  total: number | null;
}

/**
 * A page of the catalog, in the registry's order. Without a filter, only that
 * page is asked of the registry (`n` and `last`: 2.8 stops walking its storage
 * there); with one, the whole catalog (kept for a moment per visitor) is
 * filtered by a substring of the name, case-insensitive.
 */
export async function readCatalogPage(
  r: UiReader,
  q: { filter: string; last: string | null; n: number },
): Promise<CatalogPage | Failure> {
  const needle = q.filter.trim().toLowerCase();
  const listedOnly = !r.deps.config.catalog.listEmpty;
  if (needle === "" && listedOnly) {
    const page = await listedCatalogPage(r, q);
    return isFailed(page) ? page : { tags: page.names, next: page.next, matched: null, total: null };
  }
  if (needle === "") {
    // One more than shown: 2.8 links a next page whenever a page is full, even when none follows.
    const page = await r.reg.catalogPage({ n: q.n + 1, last: q.last });
    if (isFailed(page)) return page;
    const names = page.repositories.slice(0, q.n);
    const next = page.repositories.length > q.n ? names[names.length - 1]! : null;
    return { tags: names, next, matched: null, total: null };
  }
  const all = await r.caches.catalog(r.visitor.key, () => r.reg.catalog({ pageSize: 1000 }));
  if (isFailed(all)) return all;
  const matched = all.filter((n) => n.includes(needle));
  const from = q.last === null ? 0 : afterName(matched, q.last);
  if (listedOnly) {
    // Counts are unknown without checking every name: only this page's names are checked.
    const page = await listedOf(r, matched.slice(from), q.n);
    return { tags: page.names, next: page.next, matched: null, total: null };
  }
  const names = matched.slice(from, from + q.n);
  const next = from + q.n < matched.length ? names[names.length - 1]! : null;
  return { tags: names, next, matched: matched.length, total: all.length };
}

/** Where a page after `last` starts in a list in the registry's order (its index + 1, or after the names before it). */
function afterName(names: readonly string[], last: string): number {
  const at = names.indexOf(last);
  if (at !== -1) return at + 1;
  const later = names.findIndex((n) => n > last);
  return later === -1 ? names.length : later;
}

/** A manifest's view, from the UI's cache or the registry; null when there is none. */
export function readManifest(
  r: UiReader,
  name: string,
  reference: string,
): Promise<ManifestView | null | Failure> {
  return r.caches.manifest(r.visitor.key, name, reference, async () => {
    const got = await r.reg.manifestGet(name, reference);
    if (got === null || isFailed(got)) return got;
    return viewManifest(got.bytes, got.mediaType, got.digest);
  });
}

export interface TagRow {
  tag: string;
  manifest: ManifestView | null | Failure;
  /** The immutable rule holding the tag (`tags.immutable`), or null. */
  immutableRule: string | null;
  /** Manifests listed in the tag's referrers index (0 without one); null when unknown. */
  referrers: number | null;
}

export interface TagsPage extends Page {
  rows: TagRow[];
  /** Tags in the repository, the referrers tag schema's fallback tags included. */
  total: number;
  /** Of them, the fallback tags (`sha256-<hex>`), listed apart. */
  fallbackTags: number;
}

/** The number of referrers of `digest`: the entries of its fallback tag's index, when the tag exists. */
async function referrersCount(r: UiReader, name: string, sorted: readonly string[], digest: string) {
  const tag = referrersTag(digest);
  if (!hasTag(sorted, tag)) return 0;
  const index = await readManifest(r, name, tag);
  if (index === null) return 0;
  return isFailed(index) ? null : index.children.length;
}

/**
 * One page of a repository's tags (`view` "referrers": the fallback tags alone,
 * otherwise every other tag), with the details of that page's tags only.
 */
export async function readTagsPage(
  r: UiReader,
  name: string,
  q: { last: string | null; view: "tags" | "referrers"; n: number },
): Promise<TagsPage | Failure> {
  const loaded = await loadTagList(r.deps.tagLists, {
    name,
    authorization: r.visitor.authorization,
    registry: r.reg,
  });
  if ("failure" in loaded) return loaded.failure;
  const sorted = loaded.tags.sorted();
  const fallback = sorted.filter(isReferrersTag);
  const shown = q.view === "referrers" ? fallback : sorted.filter((t) => !isReferrersTag(t));
  const page = paginate(shown, { n: q.n, last: q.last });
  const rows = await mapLimit(page.tags, DETAIL_CONCURRENCY, async (tag): Promise<TagRow> => {
    const manifest = await readManifest(r, name, tag);
    const ok = manifest !== null && !isFailed(manifest);
    return {
      tag,
      manifest,
      immutableRule: r.deps.immutableGuard.ruleFor(name, tag)?.source ?? null,
      referrers: ok ? await referrersCount(r, name, sorted, manifest.digest) : null,
    };
  });
  return { ...page, rows, total: sorted.length, fallbackTags: fallback.length };
}

export interface TagDetail {
  manifest: ManifestView;
  /** An index's entries read (at most MAX_CHILDREN_READ), by digest. */
  children: Map<string, ManifestView | null | Failure>;
  /** The config's JSON text (an image's), or why not. */
  config: { json: unknown } | { error: string } | null;
  referrers: Descriptor[] | { error: string };
  immutableRule: string | null;
}

function describe(f: Failure): string {
  return f.kind === "status" ? `the registry answered ${f.status}${f.code ? ` ${f.code}` : ""}` : f.kind;
}

async function readConfig(r: UiReader, name: string, view: ManifestView): Promise<TagDetail["config"]> {
  if (view.config === undefined) return null;
  if ((view.config.size ?? 0) > MAX_CONFIG_BYTES) return { error: "larger than 1 MB: not read" };
  const got = await r.reg.blobGet(name, view.config.digest, { maxBytes: MAX_CONFIG_BYTES });
  if (isFailed(got)) return { error: describe(got) };
  try {
    return { json: JSON.parse(got.toString("utf8")) };
  } catch {
    return { error: "not JSON" };
  }
}

async function readReferrers(r: UiReader, name: string, digest: string): Promise<TagDetail["referrers"]> {
  const read = await r.deps.referrers.read(r.reg, name, digest);
  if (read.kind === "index") return read.index.manifests;
  if (read.kind === "absent" || read.kind === "not-index") return [];
  return { error: describe(read.kind === "refused" ? read.response : read.failure) };
}

/** A tag's page: its manifest, an index's platforms' manifests, the config, the referrers. */
export async function readTagDetail(
  r: UiReader,
  name: string,
  tag: string,
): Promise<TagDetail | null | Failure> {
  const manifest = await readManifest(r, name, tag);
  if (manifest === null || isFailed(manifest)) return manifest;
  const wanted = manifest.children.slice(0, MAX_CHILDREN_READ);
  const [children, config, referrers] = await Promise.all([
    mapLimit(wanted, DETAIL_CONCURRENCY, (c) => readManifest(r, name, c.digest)),
    readConfig(r, name, manifest),
    readReferrers(r, name, manifest.digest),
  ]);
  return {
    manifest,
    children: new Map(wanted.map((c, i) => [c.digest, children[i]!])),
    config,
    referrers,
    immutableRule: r.deps.immutableGuard.ruleFor(name, tag)?.source ?? null,
  };
}
