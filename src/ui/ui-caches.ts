/**
 * The web UI's caches, created once per proxy (with its UI app): what a visitor saw a
 * moment ago, so that paging and going back and forth cost the registry little.
 *
 * - Everything is keyed by the visitor (a hash of their Authorization header):
 *   nothing loaded with one visitor's credentials is shown to another.
 * - Bounded (entries, bytes) and short-lived (TTL); failures are never kept.
 * - A repository changed through the proxy (the change feed: pushes, tag and
 *   digest deletes, other replicas' through Redis) gets a new generation, so
 *   its entries are not used again.
 * - Concurrent loads of one key share one upstream request.
 */
import { LRUCache } from "lru-cache";
import type { ChangeFeed } from "../ops/change-feed.js";
import { type Failure, isFailed } from "../registry-client/failure.js";
import { countBound } from "../util/count-bound.js";
import type { ManifestView } from "./manifest-view.js";

/** How long a catalog is reused for a visitor. */
export const CATALOG_TTL_MS = 10_000;
/** How long what a tag points at is reused (a tag moved by another way than the proxy shows after this). */
export const MANIFEST_TTL_MS = 15_000;
/** How long a sibling scan (every tag's digest) is reused. */
export const SCAN_TTL_MS = 30_000;

/** Every tag's digest in a repository, filled in as a scan goes (null: the tag went away). */
export interface TagScan {
  /** Tags to look at (known once the tags list is read). */
  total: number;
  readonly digests: Map<string, string | null>;
  /** Resolves when every tag was looked at (or the scan failed: `failure`). */
  done: Promise<void>;
  failure: Failure | null;
}

export interface UiCaches {
  /** Every repository of the catalog, as the visitor sees it. */
  catalog(visitor: string, load: () => Promise<string[] | Failure>): Promise<string[] | Failure>;
  /** A manifest by tag or digest; null when there is none. */
  manifest(
    visitor: string,
    name: string,
    reference: string,
    load: () => Promise<ManifestView | null | Failure>,
  ): Promise<ManifestView | null | Failure>;
  /** The digest a tag was last seen at in this repository, if known (from `manifest`). */
  knownDigest(visitor: string, name: string, tag: string): string | undefined;
  /** The running or finished scan of a repository's tags, or a new one from `start`. */
  scan(visitor: string, name: string, start: () => TagScan): TagScan;
  /** Stops listening to the change feed. */
  close(): void;
}

/** Loads of one key share one promise; only successes are stored. */
function sharedLoads<V extends object>(cache: LRUCache<string, V>) {
  const pending = new Map<string, Promise<V | Failure | null>>();
  return (key: string, load: () => Promise<V | Failure | null>): Promise<V | Failure | null> => {
    const hit = cache.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = pending.get(key);
    if (p === undefined) {
      p = load()
        .then((v) => {
          if (v !== null && !isFailed(v)) cache.set(key, v);
          return v;
        })
        .finally(() => pending.delete(key));
      pending.set(key, p);
    }
    return p;
  };
}

export function createUiCaches(o: { changes: ChangeFeed }): UiCaches {
  // Repository generations: a change gives a repository the next number of one counter.
  let counter = 0;
  const generations = new LRUCache<string, number>(countBound(100_000));
  const unsubscribe = o.changes.subscribe((name) => {
    generations.set(name, ++counter);
  });
  const repoKey = (visitor: string, name: string) => `${visitor} ${name} ${generations.get(name) ?? 0}`;

  const catalogs = new LRUCache<string, { names: string[] }>({ max: 64, ttl: CATALOG_TTL_MS });
  const manifests = new LRUCache<string, ManifestView>({
    max: 50_000,
    ttl: MANIFEST_TTL_MS,
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (v) => 512 + v.bytes * 2,
  });
  const scans = new LRUCache<string, TagScan>({ max: 32, ttl: SCAN_TTL_MS });
  const loadCatalog = sharedLoads(catalogs);
  const loadManifest = sharedLoads(manifests);

  return {
    async catalog(visitor, load) {
      const got = await loadCatalog(visitor, async () => {
        const names = await load();
        return isFailed(names) ? names : { names };
      });
      if (got === null) return [];
      return isFailed(got) ? got : got.names;
    },
    manifest(visitor, name, reference, load) {
      return loadManifest(`${repoKey(visitor, name)} ${reference}`, load);
    },
    knownDigest(visitor, name, tag) {
      return manifests.get(`${repoKey(visitor, name)} ${tag}`)?.digest;
    },
    scan(visitor, name, start) {
      const key = repoKey(visitor, name);
      let scan = scans.get(key);
      if (scan === undefined || scan.failure !== null) {
        scan = start();
        scans.set(key, scan);
      }
      return scan;
    },
    close: unsubscribe,
  };
}
