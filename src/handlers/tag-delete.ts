/**
 * DELETE /v2/<name>/tags/<tag> and DELETE /v2/<name>/manifests/<tag>: remove
 * that tag only (README "Deleting a tag"). Other methods on `/tags/<tag>` are 405
 * with `Allow: DELETE`. The work is in src/tags/; this file maps its results to
 * HTTP answers and metrics.
 */
import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { AppDeps, AppEnv, V2Handler } from "../deps.js";
import { API_VERSION, API_VERSION_HEADER, firstErrorCode, OciError } from "../oci/errors.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { DeleteOutcome } from "../ops/metrics.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import { authFailure } from "../tags/challenge.js";
import type { DeleteResult } from "../tags/tag-deleter.js";
import { callerCredentials } from "../upstream/caller-headers.js";
import { type HistoryRecordDeps, recordTagDelete } from "./history-record.js";

function accepted(): Response {
  return new Response(null, {
    status: 202,
    headers: { "content-length": "0", [API_VERSION_HEADER]: API_VERSION },
  });
}

type StatusFailed = Extract<Failure, { kind: "status" }>;

/** The failure when it is an upstream 401 or 403. */
function authOf(f: Failure | { kind: "journal" }): StatusFailed | null {
  if (f.kind !== "status") return null;
  return f.status === 401 || f.status === 403 ? f : null;
}

/** An upstream failure met before anything was written. */
function upstreamError(f: Failure, name: string, detail: Record<string, unknown>): OciError {
  const auth = authOf(f);
  if (auth) return authFailure(auth.status, auth.headers, name, detail);
  const d = { ...detail, reason: describeFailure(f) };
  if (f.kind === "network") return upstreamFailureError(f.error.kind, d);
  return new OciError("UNAVAILABLE", "upstream registry failed", d, { status: 502 });
}

function outcomeOf(result: DeleteResult): DeleteOutcome {
  switch (result.kind) {
    case "deleted":
      return "ok";
    case "not-found":
      return "not_found";
    case "disabled":
      return "unsupported";
    case "coordination-failed":
      return "failed";
    case "probe-failed":
    case "native-failed":
      return authOf(result.failure) ? "denied" : "failed";
    case "native-answer":
      if (result.status === 202) return "ok";
      if (result.status === 404) return "not_found";
      if (result.status === 405) return "unsupported";
      return result.status === 401 || result.status === 403 ? "denied" : "failed";
    case "failed":
      if (authOf(result.failure)) return "denied";
      if (result.failure.kind === "status" && result.failure.status === 405) return "unsupported";
      return result.restored && result.journalId ? "rolled_back" : "failed";
  }
}

function respond(result: DeleteResult, name: string, tag: string): Response {
  const unknownTag = () => new OciError("MANIFEST_UNKNOWN", "manifest unknown", { name, tag });
  switch (result.kind) {
    case "deleted":
      return accepted();
    case "not-found":
      throw unknownTag();
    case "disabled":
      throw new OciError(
        "UNSUPPORTED",
        "the upstream registry has deletes disabled (it needs storage.delete.enabled: true)",
        { name, tag },
      );
    case "probe-failed":
    case "native-failed":
      throw upstreamError(result.failure, name, { name, tag });
    case "coordination-failed":
      // Fail closed: without the replicas' shared lock no swap step is taken.
      throw new OciError(
        "UNAVAILABLE",
        result.changed
          ? "tag delete stopped: this proxy lost its shared lock on the tag; another replica's delete or recovery finishes it; retry"
          : "tag delete needs the replicas' shared lock and journal (Redis), which cannot be had now; nothing was changed",
        { name, tag, reason: result.message, changed: result.changed },
        { status: 503, headers: { "retry-after": "5" } },
      );
    case "native-answer": {
      if (result.status === 202) return accepted();
      if (result.status === 404) throw unknownTag();
      if (result.status === 405) throw new OciError("UNSUPPORTED", undefined, { name, tag });
      if (result.status === 401 && result.challenge) {
        throw new OciError(
          "UNAUTHORIZED",
          undefined,
          { name, tag },
          {
            headers: { "www-authenticate": result.challenge },
          },
        );
      }
      if (result.status === 403) throw new OciError("DENIED", undefined, { name, tag });
      const code = firstErrorCode(result.body);
      throw new OciError(
        "UNAVAILABLE",
        "upstream registry refused the tag delete",
        { name, tag, code },
        {
          status: 502,
        },
      );
    }
    case "failed": {
      const { step, restored, superseded, originalDigest, failure } = result;
      const detail: Record<string, unknown> = { name, tag, step, restored, originalDigest };
      if (superseded) detail["supersededByPush"] = true;
      if (failure.kind === "journal") {
        throw new OciError(
          "UNKNOWN",
          "the tag delete journal cannot be written; nothing was changed",
          detail,
        );
      }
      if (step === "fetch-original") throw upstreamError(failure, name, { name, tag, step });
      detail["reason"] = describeFailure(failure);
      const what = restored
        ? "the tag was restored to its original manifest"
        : superseded
          ? "the tag has since been pushed again and was left as pushed"
          : "the tag could NOT be restored: see the proxy log and `registry-compat-proxy restore`";
      const message = `tag delete failed at step ${step}; ${what}`;
      const auth = authOf(failure);
      if (auth) {
        const e = authFailure(auth.status, auth.headers, name, detail);
        throw new OciError(e.code, message, detail, { headers: { ...e.headers } });
      }
      if (failure.kind === "status" && failure.status === 405)
        throw new OciError("UNSUPPORTED", message, detail);
      if (!restored && !superseded) throw new OciError("UNKNOWN", message, detail);
      throw new OciError("UNAVAILABLE", message, detail, { status: 502 });
    }
  }
}

/**
 * 2.8 answers MANIFEST_UNKNOWN for a tag of a repository it does not know; its
 * tags list tells the two apart (NAME_UNKNOWN: no repository, or one without tags).
 */
async function repositoryUnknown(registry: RegistryCalls, name: string): Promise<boolean> {
  const res = await registry.tagList(name);
  return isFailed(res) && res.kind === "status" && res.status === 404 && res.code === "NAME_UNKNOWN";
}

/** One tag delete as a client asks it: who asks, with which credentials. */
export interface TagDeleteAsk {
  name: string;
  tag: string;
  /** The upstream, with the asker's own credentials. */
  registry: RegistryCalls;
  /** The asker's Authorization header (the capability cache's key). */
  authorization: string | undefined;
  /** The request that asked (who, and through what, for the tag history). */
  request: IncomingMessage;
}

/**
 * Deletes one tag (the immutable guard first, then the swap or the native delete),
 * counts it, tells the caches, and answers 202, or throws the OciError a client
 * gets. The API's DELETE and the web UI's delete both come here.
 */
export async function deleteOneTag(
  deps: Pick<AppDeps, "immutableGuard" | "tagDeleter" | "metrics" | "changes" | keyof HistoryRecordDeps>,
  ask: TagDeleteAsk,
): Promise<Response> {
  const { name, tag, registry } = ask;
  deps.immutableGuard.checkTagDelete(name, tag);
  const result = await deps.tagDeleter.deleteTag(ask);
  const native = result.kind === "native-answer" || result.kind === "native-failed";
  deps.metrics.tagDeletes.inc({ path: native ? "native" : "swap", outcome: outcomeOf(result) });
  const done = result.kind === "deleted" || (result.kind === "native-answer" && result.status === 202);
  // A delete superseded by a push left the tag as pushed: no change of its own.
  if (done && (result.kind !== "deleted" || !result.superseded)) {
    await recordTagDelete(deps, ask.request, name, tag, result.kind === "deleted" ? result.original : null);
  }
  if (
    done ||
    (result.kind === "failed" && !result.restored) ||
    (result.kind === "coordination-failed" && result.changed)
  ) {
    // Awaited: every replica's list cache sees the change before the client does.
    await deps.changes.repositoryChanged(name);
  }
  // A native tag delete says itself which is unknown; after a swap's 404 the tags list tells.
  const nameUnknown =
    result.kind === "native-answer"
      ? result.status === 404 && firstErrorCode(result.body) === "NAME_UNKNOWN"
      : result.kind === "not-found" && (await repositoryUnknown(registry, name));
  if (nameUnknown) throw new OciError("NAME_UNKNOWN", undefined, { name, tag });
  return respond(result, name, tag);
}

function answerTagDelete(c: Context<AppEnv>, deps: AppDeps, name: string, tag: string) {
  const incoming = c.env.incoming;
  return deleteOneTag(deps, {
    name,
    tag,
    registry: deps.registry.as(callerCredentials(incoming, deps.caller)),
    authorization: incoming.headers.authorization,
    request: incoming,
  });
}

/** `/v2/<name>/tags/<tag>` (DELETE; any other method is 405) and `DELETE /v2/<name>/manifests/<tag>`. */
export const handleTagDelete: V2Handler<"tag-delete"> = (c, route, deps) => {
  if (route.kind === "manifest") return answerTagDelete(c, deps, route.name, route.reference);
  if (c.req.method !== "DELETE") {
    throw new OciError("UNSUPPORTED", `${c.req.method} is not allowed on a tag; use DELETE`, undefined, {
      status: 405,
      headers: { allow: "DELETE" },
    });
  }
  return answerTagDelete(c, deps, route.name, route.tag);
};
