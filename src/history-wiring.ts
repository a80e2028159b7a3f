/**
 * The tag history of one proxy (docs/history.md), built from its parts: the store
 * (off with history.windowMs 0, Redis with replicas, else files beside the tag
 * delete journal) and what its undelete uses of the proxy (the registry client
 * with service credentials, the immutable rules, the read-only window, the tag
 * deleter's locks and put phase, the change feed), created once at the composition root.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Config } from "./config.js";
import { historyDirOf, openFileHistory } from "./history/file-store.js";
import { undeleteRegistry } from "./history/registry-calls.js";
import { createTagHistory, type TagHistory } from "./history/service.js";
import type { HistoryStore } from "./history/store.js";
import type { ChangeFeed } from "./ops/change-feed.js";
import type { Logger } from "./ops/logger.js";
import type { Metrics } from "./ops/metrics.js";
import type { WriteWindow } from "./ops/write-window.js";
import type { RegistryClient } from "./registry-client/client.js";
import { type Credentials, PLAIN } from "./registry-client/credentials.js";
import type { SharedState } from "./state/redis.js";
import { createRedisHistory } from "./state/redis-history.js";
import type { ImmutableGuard } from "./tags/immutable-guard.js";
import type { TagDeleter } from "./tags/tag-deleter.js";

/** The tag history's store: off (windowMs 0), Redis with replicas, else files beside the journal. */
export function historyStore(config: Config, shared: SharedState | null): HistoryStore | null {
  const { windowMs, maxEntriesPerRepository } = config.history;
  if (windowMs === 0) return null;
  // Expired entries stay listed (holding nothing) for one more window: undelete says why.
  const bounds = { retainMs: 2 * windowMs, maxPerRepository: maxEntriesPerRepository };
  return shared
    ? createRedisHistory(shared, bounds)
    : openFileHistory(historyDirOf(config.delete.journalPath), bounds);
}

/** The tag history service, its undelete wired to this proxy's parts. */
export function createHistory(
  options: { config: Config; logger: Logger },
  parts: {
    registry: RegistryClient;
    /** delete.recoveryUsername/Password: undeletes given no credentials use them (else none). */
    serviceCredentials: Credentials | null;
    metrics: Metrics;
    shared: SharedState | null;
    window: WriteWindow;
    immutableGuard: ImmutableGuard;
    tagDeleter: TagDeleter;
    changes: ChangeFeed;
  },
): TagHistory {
  const { config, logger } = options;
  const replica = `${hostname()}/${(parts.shared?.instance ?? randomUUID()).slice(0, 8)}`;
  return createTagHistory({
    store: historyStore(config, parts.shared),
    windowMs: config.history.windowMs,
    replica,
    logger,
    metrics: parts.metrics,
    undelete: {
      registryFor: (given) => undeleteRegistry(parts.registry.as(given ?? parts.serviceCredentials ?? PLAIN)),
      isImmutable: (name, tag) => parts.immutableGuard.ruleFor(name, tag) !== null,
      readOnly: () => parts.window.readOnly(),
      tagLocks: parts.tagDeleter.locks.tags,
      inPutPhase: (repository, fn, tag) => parts.tagDeleter.inPutPhase(repository, fn, tag),
      repositoryChanged: (repository) => parts.changes.repositoryChanged(repository),
    },
  });
}
