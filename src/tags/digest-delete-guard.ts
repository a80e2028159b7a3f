/**
 * `delete.digestDeletes: protect`: a `DELETE /v2/<name>/manifests/<digest>` goes
 * upstream only when one tag or none points at the manifest and no tagged index
 * lists it (the rule: digest-delete-decision.ts; the lookup: digest-references.ts).
 *
 * Race-safety. The lookup that allows a delete and the delete itself run under
 * the repository's "delete" phase, the one the tag swap deletes in, and every tag
 * written through the proxy (client manifest PUTs by tag, the swap's own PUTs)
 * runs in the "put" phase, which excludes it (locks.ts). So no tag can land on
 * the manifest between the count and the delete: a push racing the delete either
 * lands before (it is counted, and the delete is refused) or after (it writes
 * the manifest again). With replicas the phase, and the guard's own lock on
 * `<name>\n<digest>` (fail closed without Redis: 503, and the lease is checked
 * right before the DELETE), are the replicas' shared ones.
 *
 * Cost. A first lookup runs before the lock, with the cached tag list, and
 * fills the tag digest cache; refusals are answered from it. Under the lock the
 * tag list is fetched afresh and only the tags the cache does not know (new
 * ones, or all when a tag was written meanwhile) are asked again.
 */
import { OciError } from "../oci/errors.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import { createKeyedMutex } from "../util/keyed-mutex.js";
import { decideDigestDelete } from "./digest-delete-decision.js";
import {
  createIndexChildrenCache,
  type DigestQuery,
  type DigestReferences,
  findDigestReferences,
  type ReferenceLookupDeps,
} from "./digest-references.js";
import { cacheKey, type TagListCache } from "./list-cache.js";
import { CoordinationError, type PhaseLocks, type TagLocks } from "./locks.js";
import type { TagWriteListener } from "./tag-deleter.js";
import { createTagDigestCache } from "./tag-digest-cache.js";

/** Upstream requests in flight at once for one lookup (HEADs of tags, GETs of indexes). */
export const LOOKUP_CONCURRENCY = 16;
/** Repositories (per credentials) whose tag targets are cached at most. */
const CACHED_REPOSITORIES = 64;

export type DigestDeleteOutcome = "allowed" | "refused_tags" | "refused_index" | "check_failed";

export interface DigestGuardDeps {
  tagLists: Pick<TagListCache, "load">;
  /** The tag swap's locks (tag-deleter.ts): its phases announce every tag write. */
  locks: { readonly tags: TagLocks; readonly phases: PhaseLocks };
  /** Subscribes to the tag writes announced by those phases. */
  onTagWrite(listener: TagWriteListener): () => void;
  /** delete.digestCacheTtlMs. */
  cacheTtlMs: number;
  logger: Logger;
  metrics: Pick<Metrics, "cache" | "digestDeletes">;
  /** Lookup concurrency (tests and the bench); default LOOKUP_CONCURRENCY. */
  concurrency?: number;
}

export interface DigestDeleteGuard {
  /**
   * Runs `del` (the upstream DELETE) when the manifest may go, under the
   * repository's delete phase, with what was found holding it; throws the refusal
   * (403 DENIED), an auth answer (401 with a `pull,delete` challenge, 403) or 5xx
   * when it cannot tell.
   */
  deleteIfSafe<T>(q: DigestQuery, del: (refs: DigestReferences) => Promise<T>): Promise<T>;
  /**
   * What holds the manifest now (the tag list fetched afresh, the tag digest cache
   * used), without judging or locking: the tag history's record of a delete by
   * digest (delete.digestDeletes: allow). Throws as the guard's own lookup does.
   */
  references(q: DigestQuery): Promise<DigestReferences>;
  close(): void;
}

export function createDigestDeleteGuard(deps: DigestGuardDeps): DigestDeleteGuard {
  const targets = createTagDigestCache({
    ttlMs: deps.cacheTtlMs,
    maxEntries: CACHED_REPOSITORIES,
    lookups: deps.metrics.cache,
    ...(deps.locks.phases.putStamp ? { stamp: (name: string) => deps.locks.phases.putStamp!(name) } : {}),
  });
  const unsubscribe = deps.onTagWrite((repository, tag) => targets.invalidate(repository, tag));
  const lookup: ReferenceLookupDeps = {
    tagLists: deps.tagLists,
    targets,
    children: createIndexChildrenCache(),
    concurrency: deps.concurrency ?? LOOKUP_CONCURRENCY,
  };

  const looking = createKeyedMutex();
  const count = (outcome: DigestDeleteOutcome) => deps.metrics.digestDeletes.inc({ outcome });

  /** Throws the refusal when `refs` hold the manifest. */
  function judge(q: DigestQuery, refs: DigestReferences): void {
    const decision = decideDigestDelete({
      name: q.name,
      digest: q.digest,
      tags: refs.tags,
      indexes: refs.indexes,
    });
    if (decision.allow) return;
    count(decision.reason === "tags" ? "refused_tags" : "refused_index");
    deps.logger.info(
      {
        name: q.name,
        digest: q.digest,
        reason: decision.reason,
        tags: refs.tags.length,
        indexes: refs.indexes.length,
      },
      "digest delete refused (delete.digestDeletes: protect)",
    );
    throw new OciError("DENIED", decision.message, decision.detail);
  }

  /** The lookup; any failure of it (auth, upstream) is a check that could not be made. */
  async function holdersOf(q: DigestQuery, fresh: boolean): Promise<DigestReferences> {
    try {
      return await findDigestReferences(lookup, q, fresh);
    } catch (err) {
      count("check_failed");
      throw err;
    }
  }

  /**
   * A first look, outside the lock: refusals need nothing more, and it warms the
   * cache. Reads racing pushes may fail (2.8's 500 on a link being rewritten):
   * then the look under the lock decides; auth answers are given at once. First
   * looks in one repository (and credentials) run one at a time, so deletes sent
   * together (a UI deleting a selection) ask each tag once, not once each.
   */
  async function firstLook(q: DigestQuery): Promise<DigestReferences | null> {
    try {
      return await looking.run(cacheKey(q.name, q.authorization), () =>
        findDigestReferences(lookup, q, false),
      );
    } catch (err) {
      if (err instanceof OciError && (err.code === "UNAUTHORIZED" || err.code === "DENIED")) {
        count("check_failed");
        throw err;
      }
      deps.logger.debug({ name: q.name, digest: q.digest, err }, "digest delete: first look failed");
      return null;
    }
  }

  async function deleteIfSafe<T>(q: DigestQuery, del: (refs: DigestReferences) => Promise<T>): Promise<T> {
    const early = await firstLook(q);
    if (early) judge(q, early);
    try {
      return await deps.locks.tags.run(`${q.name}\n${q.digest}`, (lease) =>
        deps.locks.phases.run(q.name, "delete", async () => {
          const refs = await holdersOf(q, true);
          judge(q, refs);
          await lease?.check();
          count("allowed");
          return del(refs);
        }),
      );
    } catch (err) {
      if (!(err instanceof CoordinationError)) throw err;
      count("check_failed");
      deps.logger.warn(
        { name: q.name, digest: q.digest, reason: err.reason, err },
        "digest delete: not coordinated",
      );
      throw new OciError(
        "UNAVAILABLE",
        "a guarded digest delete needs the replicas' shared lock (Redis), which cannot be had now; nothing was deleted",
        { name: q.name, digest: q.digest, reason: err.message },
        { status: 503, headers: { "retry-after": "5" } },
      );
    }
  }

  return {
    deleteIfSafe,
    references: (q) => findDigestReferences(lookup, q, true),
    close: unsubscribe,
  };
}
