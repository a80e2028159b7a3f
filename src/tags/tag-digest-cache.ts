/**
 * Which manifest each tag of a repository points at, as the digest delete guard
 * learned it (tags/digest-references.ts), kept between guarded deletes so that a
 * second delete in a large repository does not HEAD every tag again.
 *
 * An entry is only as good as the promise that no tag of the repository was
 * written since its HEADs, so:
 * - every tag write through this proxy runs in a "put" phase that announces
 *   itself when it is entered and left (locks.ts `announcingPuts`): `invalidate`
 *   drops the repository's entries, and views opened before never store what
 *   they learned;
 * - with replicas, a view remembers the repository's put stamp (Redis: counted
 *   when any replica enters or leaves a put phase) and an entry is used, or
 *   stored, only while the stamp is unchanged; an unreadable stamp means no cache;
 * - writes that bypass the proxy are not seen at all: an entry lives `ttlMs`.
 * Keyed by repository and the sha256 of the caller's Authorization (as the tags
 * list cache), bounded by entries and by tags held in all.
 */
import { LRUCache } from "lru-cache";
import type { Counter } from "prom-client";
import { cacheKey } from "./list-cache.js";

/** Tags held across all entries at most (about 200 bytes each). */
export const MAX_CACHED_TARGETS = 200_000;

/** What a tag points at: the manifest digest, and whether it is an index (OCI index or Docker list). */
export interface TagTarget {
  readonly digest: string;
  readonly index: boolean;
}

/** What one lookup knows and learns; `close` stores it when it is still valid. */
export interface TagTargetsView {
  /** A tag's target; null: the tag did not resolve (404); undefined: not known. */
  get(tag: string): TagTarget | null | undefined;
  set(tag: string, target: TagTarget | null): void;
  /** Keeps what was learned, if no tag of the repository was written since `open` (never throws). */
  close(): Promise<void>;
}

export interface TagDigestCache {
  open(name: string, authorization: string | undefined): Promise<TagTargetsView>;
  /**
   * A tag of `name` is being (or was) written: what is known of `tag` goes, and
   * views opened before keep nothing of it; without `tag`, of the whole repository.
   */
  invalidate(name: string, tag?: string): void;
  /** Entries held (tests). */
  readonly size: number;
}

export interface TagDigestCacheOptions {
  ttlMs: number;
  maxEntries: number;
  /** Replicas: the repository's put stamp (null: cannot be read now, no cache). */
  stamp?: (name: string) => Promise<string | null>;
  /** `rcp_cache_lookups_total`, counted with cache="tag-digests". */
  lookups?: Counter<"cache" | "result">;
}

type Targets = Map<string, TagTarget | null>;

interface Entry {
  readonly targets: Targets;
  readonly stamp: string;
}

interface OpenView {
  readonly name: string;
  stale: boolean;
  /** Tags written since the view was opened: what it learned of them is not kept. */
  readonly staleTags: Set<string>;
}

const LOCAL = "local";

/** A view that remembers nothing past its lookup (cache off, or the stamp unreadable). */
function plainView(): TagTargetsView {
  const learned: Targets = new Map();
  return {
    get: (tag) => learned.get(tag),
    set: (tag, target) => {
      learned.set(tag, target);
    },
    close: async () => {},
  };
}

export function createTagDigestCache(options: TagDigestCacheOptions): TagDigestCache {
  const entries = new LRUCache<string, Entry>({
    max: Math.max(options.maxEntries, 1),
    ttl: Math.max(options.ttlMs, 1),
    maxSize: MAX_CACHED_TARGETS,
    sizeCalculation: (entry) => Math.min(entry.targets.size + 1, MAX_CACHED_TARGETS),
  });
  const views = new Set<OpenView>();
  const count = (result: "hit" | "miss") => options.lookups?.inc({ cache: "tag-digests", result });

  function invalidate(name: string, tag?: string): void {
    const prefix = `${name} `;
    for (const key of [...entries.keys()]) {
      if (!key.startsWith(prefix)) continue;
      if (tag === undefined) entries.delete(key);
      else entries.peek(key)?.targets.delete(tag);
    }
    for (const v of views) {
      if (v.name !== name) continue;
      if (tag === undefined) v.stale = true;
      else v.staleTags.add(tag);
    }
  }

  async function stampOf(name: string): Promise<string | null> {
    return options.stamp ? options.stamp(name) : LOCAL;
  }

  async function open(name: string, authorization: string | undefined): Promise<TagTargetsView> {
    if (options.ttlMs <= 0) return plainView();
    const state: OpenView = { name, stale: false, staleTags: new Set() };
    views.add(state);
    const stamp = await stampOf(name);
    if (stamp === null) {
      views.delete(state);
      count("miss");
      return plainView();
    }
    const key = cacheKey(name, authorization);
    const cached = entries.get(key);
    const known: Targets | undefined = cached?.stamp === stamp ? cached.targets : undefined;
    count(known ? "hit" : "miss");
    const learned: Targets = new Map();
    let closed = false;
    return {
      get: (tag) => (learned.has(tag) ? learned.get(tag) : known?.get(tag)),
      set: (tag, target) => {
        learned.set(tag, target);
      },
      async close() {
        if (closed) return;
        closed = true;
        try {
          if (state.stale || learned.size === 0) return;
          if ((await stampOf(name).catch(() => null)) !== stamp || state.stale) return;
          for (const tag of state.staleTags) learned.delete(tag);
          const current = entries.get(key);
          if (current !== undefined && current.stamp === stamp) {
            for (const [tag, target] of learned) current.targets.set(tag, target);
            // A new wrapper, so the size is counted again; the lifetime stays that of the oldest facts.
            entries.set(key, { targets: current.targets, stamp }, { noUpdateTTL: true });
          } else {
            const targets = new Map([...(known ?? []), ...learned]);
            for (const tag of state.staleTags) targets.delete(tag);
            entries.set(key, { targets, stamp });
          }
        } finally {
          views.delete(state);
        }
      },
    };
  }

  return {
    open,
    invalidate,
    get size() {
      return entries.size;
    },
  };
}
