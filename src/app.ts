/**
 * createApp(deps): the Hono application for the requests the proxy owns
 * (operational endpoints and the API it adds). It never listens; importing it
 * has no side effects. Passthrough traffic never enters it (see server.ts).
 */
import type { HttpBindings } from "@hono/node-server";
import { Hono } from "hono";
import type { Config } from "./config.js";
import { HANDLERS, type V2Handler } from "./handlers/index.js";
import { routeOf } from "./http/route-context.js";
import { API_VERSION, API_VERSION_HEADER } from "./http/write-error.js";
import { OciError } from "./oci/errors.js";
import type { ChangeFeed } from "./ops/change-feed.js";
import { checkReadiness, type Readiness } from "./ops/health.js";
import type { Logger } from "./ops/logger.js";
import type { Metrics } from "./ops/metrics.js";
import { renderMetrics } from "./ops/metrics-endpoint.js";
import type { TagListCache } from "./tags/list-cache.js";
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
}

export type AppEnv = { Bindings: HttpBindings };

/** The headers of an OCI error answer: JSON, the API version, the error's own. */
export function ociErrorHeaders(err: OciError): Record<string, string> {
  return {
    "content-type": "application/json; charset=utf-8",
    [API_VERSION_HEADER]: API_VERSION,
    ...err.headers,
  };
}

export function ociErrorResponse(err: OciError, head = false): Response {
  return new Response(head ? null : err.toBody(), { status: err.status, headers: ociErrorHeaders(err) });
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const report = await checkReadiness(deps.upstream, deps.readiness);
    return c.json(report, report.ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    // With a separate admin port (metrics.port), the main port does not expose them.
    if (deps.config.metrics.port !== null) return c.text("not found\n", 404);
    const { contentType, body } = await renderMetrics(deps.metrics);
    return c.body(body, 200, { "content-type": contentType });
  });

  app.all("/v2/*", (c) => {
    const route = routeOf(c.env.incoming);
    if (route.kind === "invalid") throw new OciError(route.code, route.message, route.detail);
    const handler = HANDLERS[route.kind] as V2Handler | undefined;
    if (!handler) throw new OciError("UNSUPPORTED", "no handler for this request", { kind: route.kind });
    return handler(c, route, deps);
  });

  app.onError((err, c) => {
    const head = c.req.method === "HEAD";
    if (err instanceof OciError) return ociErrorResponse(err, head);
    deps.logger.error({ err, method: c.req.method, path: c.req.path }, "handler failed");
    return ociErrorResponse(new OciError("UNKNOWN", "internal proxy error"), head);
  });

  return app;
}
