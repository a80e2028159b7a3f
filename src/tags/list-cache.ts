/**
 * A short-lived cache of complete, sorted upstream tag lists, so that paging
 * through a large repository costs one upstream `tags/list`, not one per page.
 *
 * - Keyed by repository name and the sha256 of the caller's `Authorization`
 *   header: a list fetched with one set of credentials is never served to a
 *   caller with other (or no) credentials, so the upstream still decides who may
 *   read what.
 * - Bounded: `maxEntries` lists and MAX_CACHED_TAGS tags in total; short TTL.
 * - Concurrent loads of one key share one upstream request (in-flight map).
 * - Only successful lists are stored; failures (401, 404, ...) always go upstream.
 * - A repository changed through the proxy (ChangeFeed) loses its entries at
 *   once, and a load already in flight for it is not stored when it lands.
 * - `ttlMs` 0 disables the cache entirely: every call loads.
 * - With several replicas (`freshness`, from Redis): an entry remembers the
 *   repository's shared change stamp taken before its load, and is served only
 *   while the stamp is unchanged, so a change through any replica is seen on the
 *   very next request; an unreadable stamp bypasses the cache (loads upstream).
 */
import { createHash } from "node:crypto";
import { LRUCache, type Perf } from "lru-cache";
import type { Counter } from "prom-client";
import type { ChangeFeed } from "../ops/change-feed.js";

/** Upper bound on tags held across all entries (about 50 MiB of strings at worst). */
export const MAX_CACHED_TAGS = 1_000_000;

/** What a list entry must offer: its size in tags (counted against MAX_CACHED_TAGS). */
export interface CachedList {
  readonly length: number;
}

/**
 * A loaded list (sorted, without duplicates, or a TagList that sorts itself when
 * needed) or the loader's failure, passed through untouched.
 */
export type ListLoad<F, T extends CachedList = readonly string[]> = { tags: T } | { failure: F };

export interface TagListCache {
  /**
   * The list for `name` as seen with `authorization`: from the cache, a load in
   * flight, or `loader`. One caller's loaders should all return one list type.
   */
  load<F, T extends CachedList = readonly string[]>(
    name: string,
    authorization: string | undefined,
    loader: () => Promise<ListLoad<F, T>>,
  ): Promise<ListLoad<F, T>>;
  /** Drops every entry of a repository (all credentials) and detaches loads in flight. */
  invalidate(name: string): void;
  /** Entries held (for tests and metrics). */
  readonly size: number;
  /** Stops listening to the change feed. */
  close(): void;
}

export interface TagListCacheOptions {
  ttlMs: number;
  maxEntries: number;
  changes?: ChangeFeed;
  /** `rcp_cache_lookups_total`; counted with cache="tags". */
  lookups?: Counter<"cache" | "result">;
  /** Clock for TTLs (tests). */
  perf?: Perf;
  /** The repository's change stamp shared by every replica; null: unknown now (no caching). */
  freshness?: (name: string) => Promise<string | null>;
}

interface Entry {
  readonly tags: CachedList;
  readonly stamp: string | null;
}

/**
 * The cache key: repository name and the sha256 of the Authorization header.
 * A space cannot occur in a repository name, so keys of different names never collide.
 */
export function cacheKey(name: string, authorization: string | undefined): string {
  const who =
    authorization === undefined || authorization === ""
      ? "anonymous"
      : createHash("sha256").update(authorization).digest("hex");
  return `${name} ${who}`;
}

interface InFlight {
  readonly name: string;
  readonly promise: Promise<ListLoad<unknown, CachedList>>;
  /** Set when the repository changed while loading: the result must not be stored. */
  stale: boolean;
}

export function createTagListCache(options: TagListCacheOptions): TagListCache {
  const enabled = options.ttlMs > 0;
  const entries = new LRUCache<string, Entry>({
    max: options.maxEntries,
    ttl: Math.max(options.ttlMs, 1),
    ttlResolution: options.perf ? 0 : 1,
    maxSize: MAX_CACHED_TAGS,
    sizeCalculation: (entry) => entry.tags.length + 1,
    ...(options.perf ? { perf: options.perf } : {}),
  });
  const inFlight = new Map<string, InFlight>();
  const count = (result: "hit" | "miss") => options.lookups?.inc({ cache: "tags", result });

  function invalidate(name: string): void {
    const prefix = `${name} `;
    for (const key of [...entries.keys()]) if (key.startsWith(prefix)) entries.delete(key);
    for (const [key, flight] of inFlight) {
      if (flight.name !== name) continue;
      flight.stale = true;
      inFlight.delete(key);
    }
  }

  const unsubscribe = options.changes?.subscribe(invalidate);

  async function load<F, T extends CachedList = readonly string[]>(
    name: string,
    authorization: string | undefined,
    loader: () => Promise<ListLoad<F, T>>,
  ): Promise<ListLoad<F, T>> {
    if (!enabled) return loader();
    const key = cacheKey(name, authorization);
    const stamp = options.freshness ? await options.freshness(name) : null;
    if (options.freshness && stamp === null) {
      count("miss");
      return loader();
    }
    const cached = entries.get(key);
    if (cached !== undefined && cached.stamp === stamp) {
      count("hit");
      return { tags: cached.tags as T };
    }
    if (cached !== undefined) entries.delete(key);
    const joined = inFlight.get(key);
    if (joined !== undefined) {
      count("hit");
      return joined.promise as Promise<ListLoad<F, T>>;
    }
    count("miss");
    const flight: InFlight = { name, promise: loader(), stale: false };
    inFlight.set(key, flight);
    try {
      const result = await flight.promise;
      if ("tags" in result && !flight.stale) entries.set(key, { tags: result.tags, stamp });
      return result as ListLoad<F, T>;
    } finally {
      if (inFlight.get(key) === flight) inFlight.delete(key);
    }
  }

  return {
    load,
    invalidate,
    get size() {
      return entries.size;
    },
    close() {
      unsubscribe?.();
    },
  };
}
