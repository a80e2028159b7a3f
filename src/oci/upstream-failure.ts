/**
 * What the proxy answers when an exchange with the upstream failed before any
 * answer: one table from the kind of failure to the status and message of the
 * OCI `UNAVAILABLE` error. The Hono handlers, the passthrough and the tags list
 * all answer from it; the kinds are also the `kind` label of
 * rcp_upstream_errors_total. Which transport error is which kind is decided in
 * one place too (src/registry-client/http.ts, `failureKindOf`).
 */
import { OciError } from "./errors.js";

export type UpstreamFailureKind = "unreachable" | "timeout" | "aborted" | "too-large" | "reset";

export interface UpstreamFailureAnswer {
  status: 502 | 503 | 504;
  message: string;
  detail: { reason: UpstreamFailureKind };
}

/** unreachable: nothing answered the connect; timeout: no whole answer in time; the rest: a broken exchange. */
export const UPSTREAM_FAILURE_ANSWERS: Readonly<
  Record<UpstreamFailureKind, { status: 502 | 503 | 504; message: string }>
> = {
  unreachable: { status: 503, message: "upstream registry unreachable" },
  timeout: { status: 504, message: "upstream registry did not answer in time" },
  reset: { status: 502, message: "upstream registry connection failed" },
  "too-large": { status: 502, message: "upstream registry answer too large" },
  // Only a client that went away aborts a call: nobody reads this answer, but it is logged.
  aborted: { status: 502, message: "upstream call aborted" },
};

export function upstreamFailureAnswer(kind: UpstreamFailureKind): UpstreamFailureAnswer {
  return { ...UPSTREAM_FAILURE_ANSWERS[kind], detail: { reason: kind } };
}

/** The answer as an OciError for the handlers; `detail` adds to (or overrides) `{ reason }`. */
export function upstreamFailureError(kind: UpstreamFailureKind, detail?: Record<string, unknown>): OciError {
  const answer = upstreamFailureAnswer(kind);
  return new OciError(
    "UNAVAILABLE",
    answer.message,
    { ...answer.detail, ...detail },
    { status: answer.status },
  );
}
