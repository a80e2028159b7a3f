/**
 * createApp(deps): the Hono application for the requests the proxy owns
 * (operational endpoints and the API it adds). It never listens; importing it
 * has no side effects. Passthrough traffic never enters it (see listener.ts).
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv, V2Handler } from "./deps.js";
import { HANDLERS } from "./handlers/index.js";
import { routedOf, UI_PREFIX, type V2Owner, type V2Routes } from "./http/routing.js";
import { ociErrorHandler } from "./http/write-error.js";
import { OciError } from "./oci/errors.js";
import { checkReadiness, READINESS_TIMEOUT_MS } from "./ops/health.js";
import { renderMetrics } from "./ops/metrics.js";
import { PLAIN } from "./registry-client/credentials.js";
import { describeFailure, isFailed } from "./registry-client/failure.js";
import { lazyUiApp } from "./ui/lazy-ui.js";
import { UI_ROOT } from "./ui/paths.js";

/** `GET /v2/` on the upstream, without credentials: 200 and 401 both say it is up. */
async function pingUpstream(deps: AppDeps): Promise<{ status: number } | { error: string }> {
  const res = await deps.registry.as(PLAIN).ping({ timeoutMs: READINESS_TIMEOUT_MS });
  if (!isFailed(res)) return { status: res };
  return res.kind === "status" ? { status: res.status } : { error: describeFailure(res) };
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const report = await checkReadiness(() => pingUpstream(deps), deps.readiness);
    return c.json(report, report.ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    // With a separate admin port (metrics.port), the main port does not expose them.
    if (deps.config.metrics.port !== null) return c.text("not found\n", 404);
    const { contentType, body } = await renderMetrics(deps.metrics);
    return c.body(body, 200, { "content-type": contentType });
  });

  if (deps.config.ui.enabled) {
    // Reached only by browsers (the routing table leaves every other `/` to the registry).
    app.get("/", (c) => c.redirect(UI_ROOT, 302));
    app.get(UI_PREFIX, (c) => c.redirect(UI_ROOT, 301));
    // The UI's code is loaded on its first request (ui/lazy-ui.ts).
    app.route(UI_PREFIX, lazyUiApp(deps, UI_PREFIX));
  }

  app.all("/v2/*", (c) => {
    const { route, owner } = routedOf(c.env.incoming, deps.ownership);
    if (route.kind === "invalid") throw new OciError(route.code, route.message, route.detail);
    if (owner === null || owner === "ops" || owner === "ui" || owner === "invalid") {
      throw new OciError("UNSUPPORTED", "no handler for this request", { kind: route.kind });
    }
    return (HANDLERS[owner] as V2Handler)(c, route as V2Routes[V2Owner], deps);
  });

  app.onError(
    ociErrorHandler((err, c) => {
      deps.logger.error({ err, method: c.req.method, path: c.req.path }, "handler failed");
      return null;
    }),
  );

  return app;
}
