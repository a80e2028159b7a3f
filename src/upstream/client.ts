/**
 * The client for the proxy's own calls to the upstream registry (tags list,
 * capability probes, the tag swap, referrers, readiness): one undici pool
 * (registry-client/http.ts) with `upstream.maxSockets` connections, the TLS settings of
 * the target, and the upstream URL's path prefix before every path.
 */
import type { Metrics } from "../ops/metrics.js";
import {
  createHttpClient,
  type HttpRequest,
  type HttpResponse,
  UpstreamError,
} from "../registry-client/http.js";
import type { UpstreamTarget } from "./target.js";

export { MAX_BODY_BYTES, UpstreamError } from "../registry-client/http.js";

export interface UpstreamRequest extends HttpRequest {
  /** Path and query below the upstream URL, starting with `/v2/`. */
  path: string;
}

export type UpstreamResponse = HttpResponse;

export interface UpstreamClient {
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  readonly target: UpstreamTarget;
  /** Closes the pool's sockets (at shutdown); calls in flight fail. */
  close(): Promise<void>;
}

export function createUpstreamClient(target: UpstreamTarget): UpstreamClient {
  const http = createHttpClient(target.url.origin, {
    timeoutMs: target.requestTimeoutMs,
    connections: target.maxSockets,
    tls: target.tls,
  });
  const prefix = target.url.pathname.replace(/\/+$/, "");
  return {
    target,
    request: (req) => http.request({ ...req, path: prefix + req.path }),
    close: () => http.close(),
  };
}

/**
 * The same client, counting its failures in rcp_upstream_errors_total{kind}.
 * A client that went away ("aborted") is not an upstream error.
 */
export function countUpstreamErrors(client: UpstreamClient, metrics: Metrics): UpstreamClient {
  return {
    target: client.target,
    request(req) {
      return client.request(req).catch((err: unknown) => {
        if (err instanceof UpstreamError && err.kind !== "aborted")
          metrics.upstreamErrors.inc({ kind: err.kind });
        throw err;
      });
    },
    close: () => client.close(),
  };
}
