/**
 * Serving the Prometheus metrics: on `GET /metrics` of the proxy (app.ts), or on a
 * separate admin listener when `metrics.port` is set (then the main port answers 404).
 * The admin listener also answers the read-only window's endpoints (admin-endpoint.ts).
 */
import http from "node:http";
import { type AdminOptions, answerAdmin } from "./admin-endpoint.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

export async function renderMetrics(metrics: Metrics): Promise<RenderedMetrics> {
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}

/** The admin listener: `GET /metrics` and the `/admin/` endpoints. Not listening yet. */
export function createMetricsServer(metrics: Metrics, logger: Logger, admin?: AdminOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (admin && answerAdmin(req, res, path, admin)) return;
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    renderMetrics(metrics).then(
      ({ contentType, body }) => {
        res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => {
        logger.error({ err }, "metrics collection failed");
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("metrics failed\n");
      },
    );
  });
}
