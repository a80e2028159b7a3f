/**
 * The composition root: every service the proxy's handlers use is created here,
 * once per proxy, and handed down (`AppDeps`); no module hands out services of
 * its own. Also the Hono environment (the raw Node request and response) and the
 * handler signature. Handlers import only the types, so they never import
 * app.ts; tests build their own proxy, and with it their own deps.
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { Config } from "./config.js";
import type { TagHistory } from "./history/service.js";
import { createHistory } from "./history-wiring.js";
import type { OwnershipOptions, V2Owner, V2Routes } from "./http/routing.js";
import { immutableScope } from "./oci/immutable-rules.js";
import { type ChangeFeed, createChangeFeed } from "./ops/change-feed.js";
import { createReadiness, type Readiness } from "./ops/health.js";
import type { Logger } from "./ops/logger.js";
import { createMetrics, type Metrics } from "./ops/metrics.js";
import { createWriteWindow, type WriteWindow } from "./ops/write-window.js";
import { createReferrersIndexes, type ReferrersIndexes } from "./referrers/referrers-index.js";
import { createRegistryClient, type RegistryClient } from "./registry-client/client.js";
import { type ChangeBroadcast, linkChangeFeed } from "./state/change-broadcast.js";
import { connectSharedState, type SharedState } from "./state/redis.js";
import { createRedisJournal } from "./state/redis-journal.js";
import { createRedisLocks } from "./state/redis-locks.js";
import { type CatalogVerdicts, createCatalogVerdicts } from "./tags/catalog-verdicts.js";
import { serviceCredentials } from "./tags/deleter-state.js";
import { createDigestDeleteGuard, type DigestDeleteGuard } from "./tags/digest-delete-guard.js";
import { createImmutableGuard, type ImmutableGuard } from "./tags/immutable-guard.js";
import { createTagListCache, type TagListCache } from "./tags/list-cache.js";
import type { SharedLocks } from "./tags/locks.js";
import { createRepositoryEvents, type RepositoryEvents } from "./tags/repository-events.js";
import { createTagDeleter, type TagDeleter } from "./tags/tag-deleter.js";
import type { CallerContext } from "./upstream/caller-headers.js";
import { createUpstreamTarget, registryClientOptions, type UpstreamTarget } from "./upstream/target.js";

export interface AppDeps {
  config: Config;
  /** The one client for the proxy's own calls to the upstream registry (credentials per call). */
  registry: RegistryClient;
  logger: Logger;
  readiness: Readiness;
  caller: CallerContext;
  metrics: Metrics;
  changes: ChangeFeed;
  /** Complete upstream tag lists, per repository and caller credentials (short TTL). */
  tagLists: TagListCache;
  /** Single-tag deletes: the swap, its journal, locks and capability cache, recovery and the replicas' sweep. */
  tagDeleter: TagDeleter;
  /** Immutable tags (`tags.immutable`): the checks before a manifest write. */
  immutableGuard: ImmutableGuard;
  /** The referrers indexes kept in the referrers tag schema, changed one at a time per subject. */
  referrers: ReferrersIndexes;
  /** `delete.digestDeletes: protect`: the check before a DELETE by digest, on the tag deleter's locks. */
  digestGuard: DigestDeleteGuard;
  /** The tag history (history.windowMs): every tag change, seen and undone within the window. */
  history: TagHistory;
  /** The read-only window (garbage collection): the listener enforces it; the UI says so before a delete. */
  window: Pick<WriteWindow, "readOnly">;
  /** "This repository was just emptied" (a repository delete): for whoever keeps empty repositories apart. */
  repositoryEvents: RepositoryEvents;
  /** Whether a repository has tags, per caller, for `/v2/_catalog` (catalog.cacheTtlMs). */
  catalogVerdicts: CatalogVerdicts;
  /** What the routing table gives the proxy to answer (referrers, immutable tags, digest deletes, history, UI). */
  ownership: OwnershipOptions;
}

export type AppEnv = { Bindings: HttpBindings };

/** Answers the `/v2/` requests the routing table gives handler `O` (http/routing.ts). */
export type V2Handler<O extends V2Owner = V2Owner> = (
  c: Context<AppEnv>,
  route: V2Routes[O],
  deps: AppDeps,
) => Response | Promise<Response>;

export interface AppDepsOptions {
  config: Config;
  /** The upstream URL: config.upstream.url or the embedded registry's. */
  upstreamUrl: string;
  logger: Logger;
  /** Defaults to a fresh registry per proxy. */
  metrics?: Metrics;
}

/** The dependencies, and what the server needs besides: the upstream target and the replicas' shared state. */
export interface Services {
  deps: AppDeps;
  target: UpstreamTarget;
  shared: SharedState | null;
  /** The read-only window (garbage collection) the listener enforces and undeletes respect. */
  window: WriteWindow;
}

/** Replicas (docs/replicas.md): shared locks, journal and list-cache invalidation through Redis. */
function connectReplicas(config: Config, target: UpstreamTarget, logger: Logger, readiness: Readiness) {
  if (config.state.redisUrl === null) return null;
  return connectSharedState({
    url: config.state.redisUrl,
    leaseMs: config.state.redisLeaseMs,
    upstreamOrigin: target.url.href.replace(/\/+$/, ""),
    logger,
    readiness,
  });
}

function sharedLocksOf(shared: SharedState, config: Config, metrics: Metrics): SharedLocks {
  return createRedisLocks({
    redis: shared.redis,
    prefix: shared.prefix,
    leaseMs: shared.leaseMs,
    // A live holder renews its lease for as long as its swap runs (each step
    // bounded by the request timeout): wait for it about as long as for one
    // upstream call, whatever the lease.
    waitMs: Math.max(3 * shared.leaseMs, config.upstream.requestTimeoutMs),
    onLeaseLost: () => metrics.leaseLost.inc(),
    onWait: (kind, seconds) => metrics.lockWait.observe({ kind }, seconds),
  });
}

function createTagLists(
  config: Config,
  changes: ChangeFeed,
  metrics: Metrics,
  broadcast: ChangeBroadcast | null,
) {
  return createTagListCache({
    ttlMs: config.tags.cacheTtlMs,
    maxEntries: config.tags.cacheMaxEntries,
    maxBytes: config.tags.cacheMaxBytes,
    changes,
    lookups: metrics.cache,
    ...(broadcast ? { freshness: broadcast.stamp } : {}),
  });
}

export function createAppDeps(options: AppDepsOptions): Services {
  const { config, logger } = options;
  const target = createUpstreamTarget(config, options.upstreamUrl);
  const metrics = options.metrics ?? createMetrics({ repositoryLabel: config.metrics.repositoryLabel });
  const changes = createChangeFeed();
  const readiness = createReadiness();
  const shared = connectReplicas(config, target, logger, readiness);
  const broadcast = shared ? linkChangeFeed(shared, changes, logger) : null;
  const sharedLocks = shared ? sharedLocksOf(shared, config, metrics) : null;
  const window = createWriteWindow({
    maxLeaseMs: config.maintenance.maxLeaseMs,
    onChange(readOnly, why, lease) {
      metrics.readOnly.set(readOnly ? 1 : 0);
      logger.warn(
        { readOnly, why, holder: lease.holder, expiresAt: new Date(lease.expiresAt) },
        "read-only window",
      );
    },
  });
  const registry = createRegistryClient(
    // Counted in rcp_upstream_errors_total{kind}; a client that went away is no upstream error.
    registryClientOptions(target, (err) => metrics.upstreamErrors.inc({ kind: err.kind })),
  );
  const tagLists = createTagLists(config, changes, metrics, broadcast);
  const tagDeleter = createTagDeleter({
    config,
    registry,
    logger,
    metrics,
    readiness,
    sharedLocks,
    sharedJournal: shared ? createRedisJournal(shared) : null,
  });
  const immutableGuard = createImmutableGuard({ config, logger, metrics, sharedLocks });
  const history = createHistory(options, {
    registry,
    serviceCredentials: serviceCredentials({ config, logger }),
    metrics,
    shared,
    window,
    immutableGuard,
    tagDeleter,
    changes,
  });
  const repositoryEvents = createRepositoryEvents();
  const deps: AppDeps = {
    config,
    registry,
    logger,
    readiness,
    caller: {
      trustForwarded: config.proxy.trustForwardedHeaders,
      publicUrl: config.proxy.publicUrl ? new URL(config.proxy.publicUrl) : null,
    },
    metrics,
    changes,
    tagLists,
    tagDeleter,
    immutableGuard,
    referrers: createReferrersIndexes(),
    digestGuard: createDigestDeleteGuard({
      tagLists,
      locks: tagDeleter.locks,
      onTagWrite: tagDeleter.onTagWrite,
      cacheTtlMs: config.delete.digestCacheTtlMs,
      logger,
      metrics,
    }),
    history,
    repositoryEvents,
    window,
    catalogVerdicts: createCatalogVerdicts({
      ttlMs: config.catalog.cacheTtlMs,
      maxEntries: config.catalog.cacheMaxEntries,
      changes,
      logger,
      emptied: repositoryEvents,
      ...(broadcast ? { freshness: broadcast.stamp } : {}),
    }),
    ownership: {
      referrers: config.oci.referrers,
      immutable: immutableScope(config.tags.immutable),
      protectDigestDeletes: config.delete.digestDeletes === "protect",
      history: history.enabled,
      ui: config.ui.enabled,
      catalogFilter: !config.catalog.listEmpty,
    },
  };
  return { deps, target, shared, window };
}
