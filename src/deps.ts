/**
 * What the Hono app hands every handler: the proxy's dependencies, the Hono
 * environment (the raw Node request and response) and the handler signature.
 * Types only, in their own module, so handlers never import app.ts.
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { Config } from "./config.js";
import type { TagHistory } from "./history/service.js";
import type { RouteMatch } from "./oci/routes.js";
import type { ChangeFeed } from "./ops/change-feed.js";
import type { Readiness } from "./ops/health.js";
import type { Logger } from "./ops/logger.js";
import type { Metrics } from "./ops/metrics.js";
import type { TagListCache } from "./tags/list-cache.js";
import type { SharedLocks } from "./tags/locks.js";
import type { SharedJournal } from "./tags/shared-journal.js";
import type { CallerContext } from "./upstream/caller-headers.js";
import type { UpstreamClient } from "./upstream/client.js";

export interface AppDeps {
  config: Config;
  upstream: UpstreamClient;
  logger: Logger;
  readiness: Readiness;
  caller: CallerContext;
  metrics: Metrics;
  changes: ChangeFeed;
  /** Complete upstream tag lists, per repository and caller credentials (short TTL). */
  tagLists: TagListCache;
  /** The tag swap's locks shared by every replica (state.redisUrl); absent: in-process locks. */
  sharedLocks?: SharedLocks | null;
  /** Unfinished tag swaps shared by every replica (state.redisUrl). */
  sharedJournal?: SharedJournal | null;
  /** The tag history (history.windowMs): every tag change, seen and undone within the window. */
  history: TagHistory;
}

export type AppEnv = { Bindings: HttpBindings };

/** Answers one kind of `/v2/` route the proxy owns. */
export type V2Handler<K extends RouteMatch["kind"] = RouteMatch["kind"]> = (
  c: Context<AppEnv>,
  route: Extract<RouteMatch, { kind: K }>,
  deps: AppDeps,
) => Response | Promise<Response>;
