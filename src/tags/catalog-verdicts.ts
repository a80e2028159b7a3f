/**
 * Whether a repository has tags, as one caller may see it, for the catalog's
 * filter: the registry's tags list read with the caller's own credentials, and
 * the answer remembered as tags/list-cache.ts remembers lists (here a list is
 * only its length): per repository, served only to callers the registry answered
 * within `ttlMs`, dropped at once when the repository changes through this proxy
 * (the change feed) or through another replica (its Redis change stamp), so a
 * repository whose last tag goes through any replica leaves the next catalog.
 * A change made on the registry directly is seen within `ttlMs`.
 *
 * - tags (200 with at least one tag): "listed";
 * - no tags (200 with `[]` or `null`, or 404 NAME_UNKNOWN: the registry lists a
 *   repository holding only blobs): "empty";
 * - not readable by this caller (401, 403: a token without pull on it), or the
 *   registry failed: "listed", as the registry lists it; nothing is learnt from
 *   a repository the caller cannot read, and one failing read never hides it.
 */
import type { ChangeFeed } from "../ops/change-feed.js";
import type { Logger } from "../ops/logger.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import type { CatalogVerdict } from "./catalog-fill.js";
import { createTagListCache, type ListLoad } from "./list-cache.js";
import type { RepositoryEvents } from "./repository-events.js";

/** A remembered answer: the number of tags (the cache keeps no list). */
interface Count {
  readonly length: number;
  readonly bytes: number;
}

const COUNT_BYTES = 64;

export interface CatalogVerdicts {
  verdict(name: string, authorization: string | undefined, registry: RegistryCalls): Promise<CatalogVerdict>;
  close(): void;
}

export interface CatalogVerdictsOptions {
  ttlMs: number;
  /** Callers and repositories remembered at most. */
  maxEntries: number;
  changes: ChangeFeed;
  logger: Logger;
  /** The repository's change stamp shared by the replicas (Redis); absent with one process. */
  freshness?: (name: string) => Promise<string | null>;
  /** Repositories emptied by a repository delete through this proxy (forgotten at once too). */
  emptied?: RepositoryEvents;
}

export function createCatalogVerdicts(o: CatalogVerdictsOptions): CatalogVerdicts {
  const cache = createTagListCache({
    ttlMs: o.ttlMs,
    maxEntries: o.maxEntries,
    maxBytes: Math.max(65_536, o.maxEntries * COUNT_BYTES * 2),
    changes: o.changes,
    ...(o.freshness ? { freshness: o.freshness } : {}),
  });

  // Each tag delete announces its repository on the change feed already; a repository
  // delete says so once more when the repository is empty.
  const unsubscribe = o.emptied?.onEmptied((name) => cache.invalidate(name));

  async function load(name: string, registry: RegistryCalls): Promise<ListLoad<Failure, Count>> {
    const tags = await registry.tagList(name);
    if (!isFailed(tags)) return { tags: { length: tags.length, bytes: COUNT_BYTES } };
    // Known to the catalog but no tags list at all (only blobs): as empty as it gets.
    if (tags.kind === "status" && tags.status === 404) return { tags: { length: 0, bytes: COUNT_BYTES } };
    return { failure: tags };
  }

  return {
    async verdict(name, authorization, registry) {
      const loaded = await cache.load(
        name,
        authorization,
        () => load(name, registry),
        async () => {
          const refused = await registry.tagListCheck(name);
          if (refused === null || (refused.kind === "status" && refused.status === 404)) return null;
          return { failure: refused };
        },
      );
      if ("tags" in loaded) return loaded.tags.length > 0 ? "listed" : "empty";
      const f = loaded.failure;
      if (!(f.kind === "status" && (f.status === 401 || f.status === 403)))
        o.logger.warn({ repository: name, err: describeFailure(f) }, "catalog: tags check failed, listed");
      return "listed";
    },
    close() {
      unsubscribe?.();
      cache.close();
    },
  };
}
