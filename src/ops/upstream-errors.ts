/**
 * Counting failed upstream exchanges (rcp_upstream_errors_total{kind}), for the
 * passthrough's socket errors and for the proxy's own upstream calls alike.
 * A client that went away ("aborted") is not an upstream error.
 */
import { isUnreachable, type UpstreamClient, UpstreamError } from "../upstream/client.js";
import type { Metrics } from "./metrics.js";

export type UpstreamErrorKind = UpstreamError["kind"];

/** The kind of a socket-level error from the passthrough. */
export function upstreamErrorKind(err: NodeJS.ErrnoException): UpstreamErrorKind {
  if (isUnreachable(err.code)) return "unreachable";
  switch (err.code) {
    case "ENETUNREACH":
    case "EAI_AGAIN":
      return "unreachable";
    case "ETIMEDOUT":
    case "ESOCKETTIMEDOUT":
    case "UND_ERR_HEADERS_TIMEOUT":
      return "timeout";
    default:
      return "reset";
  }
}

/** The same client, counting its failures by kind. */
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
  };
}
