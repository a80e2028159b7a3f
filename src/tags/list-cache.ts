/**
 * A short-lived cache of complete, sorted upstream tag lists, so that paging
 * through a large repository costs one upstream `tags/list`, not one per page.
 *
 * - One list per repository, bounded by bytes: lru-cache's `maxSize` with each
 *   list's estimated heap size (listBytes), so memory stays flat whatever
 *   clients send. A list larger than the whole budget is simply not kept.
 * - Who may be served it is remembered apart, as tiny grants: (repository, sha256
 *   of the caller's `Authorization`) that the upstream answered with the list,
 *   within the TTL. A list is served only to a caller holding a grant; any other
 *   caller's request goes upstream with its own credentials (the upstream still
 *   decides who may read): `check` when a list is cached (the answer's status is
 *   all that is kept), else `loader`, whose list becomes the repository's one list.
 *   A flood of made-up `Authorization` headers then costs upstream requests, never
 *   memory: grants are bounded by count (`maxEntries`) at a few hundred bytes each.
 *   This relies on what distribution registries do: a repository's tag list is
 *   the same for every caller allowed to read it.
 * - Concurrent loads for one caller and repository share one upstream request;
 *   callers new to a repository whose list is being loaded wait for that list and
 *   are then checked, so a burst of new credentials builds one list.
 * - Only successful lists are stored; failures (401, 404, ...) always go upstream.
 * - A repository changed through the proxy (ChangeFeed) loses its list at once,
 *   and a load already in flight for it is not stored when it lands.
 * - `ttlMs` 0 disables the cache entirely: every call loads.
 * - With several replicas (`freshness`, from Redis): a list remembers the
 *   repository's shared change stamp taken before its load, and is served only
 *   while the stamp is unchanged, so a change through any replica is seen on the
 *   very next request; an unreadable stamp bypasses the cache (loads upstream).
 */
import { createHash } from "node:crypto";
import { LRUCache, type Perf } from "lru-cache";
import type { Counter } from "prom-client";
import type { ChangeFeed } from "../ops/change-feed.js";
import { countBound } from "../util/count-bound.js";

/** What a list entry must offer: its size in tags, and its size in bytes when it knows it. */
export interface CachedList {
  readonly length: number;
  /** Estimated heap bytes (TagList); an array of strings is measured. */
  readonly bytes?: number;
}

/** Estimated bytes per tag beyond twice its characters: string header, alignment, array slots, JSON quotes. */
export const BYTES_PER_TAG = 48;
const BYTES_PER_LIST = 256;

/**
 * Estimated size of a cached list: V8 keeps a one-byte string in 16 bytes of
 * header plus its characters rounded up to 8, and a pointer per array slot
 * (measured: 74 bytes per 53-character tag, 12 to 15 per 7-character one), and a
 * list read whole keeps its rendered JSON body (the characters again, plus quotes
 * and a comma); errs high.
 */
export function listBytes(tags: CachedList): number {
  if (tags.bytes !== undefined) return tags.bytes;
  let bytes = BYTES_PER_LIST;
  if (Array.isArray(tags)) for (const t of tags as readonly string[]) bytes += 2 * t.length + BYTES_PER_TAG;
  else bytes += tags.length * (BYTES_PER_TAG + 256);
  return bytes;
}

/**
 * A loaded list (sorted, without duplicates, or a TagList that sorts itself when
 * needed) or the loader's failure, passed through untouched.
 */
export type ListLoad<F, T extends CachedList = readonly string[]> = { tags: T } | { failure: F };

/**
 * Asks the upstream, with the caller's credentials, whether the caller may read
 * the list, without building one: null when it may, else the failure to answer.
 */
export type ListCheck<F> = () => Promise<{ failure: F } | null>;

export interface TagListCache {
  /**
   * The list for `name` as `authorization` may see it: from the cache when this
   * caller holds a grant, from a load in flight for the same caller, or `loader`
   * (which asks the upstream with the caller's own credentials). One caller's
   * loaders should all return one list type.
   */
  load<F, T extends CachedList = readonly string[]>(
    name: string,
    authorization: string | undefined,
    loader: () => Promise<ListLoad<F, T>>,
    check?: ListCheck<F>,
  ): Promise<ListLoad<F, T>>;
  /** Drops a repository's list and detaches loads in flight (grants stay: they say who may read). */
  invalidate(name: string): void;
  /** Lists held (for tests and metrics). */
  readonly size: number;
  /** Estimated bytes of the lists held. */
  readonly bytes: number;
  /** Grants held. */
  readonly grants: number;
  /** Stops listening to the change feed. */
  close(): void;
}

export interface TagListCacheOptions {
  ttlMs: number;
  /** Grants (repository and credentials) remembered at most. */
  maxEntries: number;
  /** Estimated bytes of lists held at most. */
  maxBytes: number;
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
 * The grant key: repository name and the sha256 of the Authorization header.
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
  const common = {
    ttl: Math.max(options.ttlMs, 1),
    ttlResolution: options.perf ? 0 : 1,
    ...(options.perf ? { perf: options.perf } : {}),
  };
  const lists = new LRUCache<string, Entry>({
    ...common,
    maxSize: options.maxBytes,
    sizeCalculation: (entry) => Math.max(1, listBytes(entry.tags)),
  });
  const grants = new LRUCache<string, true>({ ...common, ...countBound(options.maxEntries) });
  const inFlight = new Map<string, InFlight>();
  const count = (result: "hit" | "miss") => options.lookups?.inc({ cache: "tags", result });

  /** Whole-list loads in flight, by repository: a caller without a grant waits for one and checks. */
  const listLoads = new Map<string, InFlight>();

  function invalidate(name: string): void {
    lists.delete(name);
    listLoads.delete(name);
    for (const [key, flight] of inFlight) {
      if (flight.name !== name) continue;
      flight.stale = true;
      inFlight.delete(key);
    }
  }

  /** The repository's list, when it is still current for `stamp`. */
  function current(name: string, stamp: string | null): Entry | undefined {
    const cached = lists.get(name);
    if (cached === undefined || cached.stamp === stamp) return cached;
    lists.delete(name);
    return undefined;
  }

  const unsubscribe = options.changes?.subscribe(invalidate);

  async function load<F, T extends CachedList = readonly string[]>(
    name: string,
    authorization: string | undefined,
    loader: () => Promise<ListLoad<F, T>>,
    check?: ListCheck<F>,
  ): Promise<ListLoad<F, T>> {
    if (!enabled) return loader();
    const key = cacheKey(name, authorization);
    const stamp = options.freshness ? await options.freshness(name) : null;
    if (options.freshness && stamp === null) {
      count("miss");
      return loader();
    }
    let cached = current(name, stamp);
    // Another caller is loading the list: wait for it, then only check this caller
    // (callers with new credentials arriving together cost one list, not one each).
    const loading = cached === undefined && check !== undefined ? listLoads.get(name) : undefined;
    if (loading !== undefined && !inFlight.has(key)) {
      await loading.promise.catch(() => undefined);
      cached = current(name, stamp);
    }
    if (cached !== undefined && grants.get(key) !== undefined) {
      count("hit");
      return { tags: cached.tags as T };
    }
    const joined = inFlight.get(key);
    if (joined !== undefined) {
      count("hit");
      return joined.promise as Promise<ListLoad<F, T>>;
    }
    count("miss");
    const list = cached?.tags;
    const ask =
      list !== undefined && check !== undefined
        ? async (): Promise<ListLoad<F, CachedList>> => (await check()) ?? { tags: list }
        : loader;
    const flight: InFlight = { name, promise: ask(), stale: false };
    inFlight.set(key, flight);
    if (ask === loader) listLoads.set(name, flight);
    try {
      const result = await flight.promise;
      // Checked against a list the repository has changed from meanwhile: load the new one.
      if (flight.stale && list !== undefined && "tags" in result && result.tags === list) return loader();
      if ("tags" in result) {
        grants.set(key, true);
        if (!flight.stale && result.tags !== list) lists.set(name, { tags: result.tags, stamp });
      }
      return result as ListLoad<F, T>;
    } finally {
      if (inFlight.get(key) === flight) inFlight.delete(key);
      if (listLoads.get(name) === flight) listLoads.delete(name);
    }
  }

  return {
    load,
    invalidate,
    get size() {
      return lists.size;
    },
    get bytes() {
      return lists.calculatedSize;
    },
    get grants() {
      return grants.size;
    },
    close() {
      unsubscribe?.();
    },
  };
}
