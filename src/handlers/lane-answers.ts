/**
 * Owned requests the fast lane answers itself, without Node's HTTP server and Hono:
 * `GET`/`HEAD` of the tags lists (`tags/_list` and legacy `tags/list`), the reads of
 * the API this proxy adds. The answer is the one the Hono handler gives
 * (tags/list-answer.ts); errors become the same OCI error answers `app.onError`
 * renders. Everything else owned (tag deletes, referrers, ops endpoints, other
 * methods on `_list`) stays on Node's path.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { ociErrorHeaders } from "../app.js";
import { OciError } from "../oci/errors.js";
import type { RouteMatch } from "../oci/routes.js";
import { answerTagsList, type ListDeps } from "../tags/list-answer.js";

/** A request the lane hands over: the route, and what the answer may depend on. */
export interface LaneAsk {
  method: "GET" | "HEAD";
  route: Extract<RouteMatch, { kind: "tags-list" }>;
  query: string;
  authorization: string | undefined;
  /** The caller's credentials, forwarding headers and request id, for upstream calls. */
  upstreamHeaders: OutgoingHttpHeaders;
}

/** A whole answer: status, headers (without Connection and X-Request-Id), GET body. */
export interface LaneAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface LaneAnswers {
  /** Whether the lane answers this request itself. */
  handles(route: RouteMatch, method: string): route is LaneAsk["route"];
  /** The answer; never rejects (failures are answers too). */
  answer(ask: LaneAsk): Promise<LaneAnswer>;
}

/** An OCI error as a lane answer, as app.ts's ociErrorResponse renders it. */
export function ociErrorAnswer(err: OciError): LaneAnswer {
  const body = err.toBody();
  return {
    status: err.status,
    headers: { ...ociErrorHeaders(err), "content-length": String(Buffer.byteLength(body)) },
    body,
  };
}

export function createLaneAnswers(deps: ListDeps): LaneAnswers {
  return {
    handles(route, method): route is LaneAsk["route"] {
      return route.kind === "tags-list" && (method === "GET" || method === "HEAD");
    },
    async answer(ask) {
      try {
        return await answerTagsList(
          {
            name: ask.route.name,
            variant: ask.route.variant,
            query: ask.query,
            authorization: ask.authorization,
            upstreamHeaders: ask.upstreamHeaders,
          },
          deps,
        );
      } catch (err) {
        if (err instanceof OciError) return ociErrorAnswer(err);
        deps.logger.error(
          { err, method: ask.method, path: `/v2/${ask.route.name}/tags/${ask.route.variant}` },
          "handler failed",
        );
        return ociErrorAnswer(new OciError("UNKNOWN", "internal proxy error"));
      }
    },
  };
}
