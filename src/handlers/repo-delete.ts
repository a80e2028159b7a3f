/**
 * DELETE /v2/<name>: deletes a repository, tag by tag (docs/repo-delete.md). The
 * tags are listed with the caller's credentials, every immutable tag refuses the
 * whole delete before anything changes (tags/repo-deleter.ts plans it), then each
 * tag goes through the single tag delete (deleteOneTag: guard, swap or native
 * delete, journal, history, caches). 202 with `{"name","deleted"}` when every
 * listed tag is gone; otherwise the first failure's OCI error, its detail naming
 * the tags deleted and those that remain. The API's DELETE and the web UI both
 * come here.
 */
import type { IncomingMessage } from "node:http";
import type { AppDeps, V2Handler } from "../deps.js";
import { API_VERSION, API_VERSION_HEADER, OciError } from "../oci/errors.js";
import { upstreamFailureError } from "../oci/upstream-failure.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import { authFailure } from "../tags/challenge.js";
import {
  planRepoDelete,
  type RepoDeleteResult,
  runRepoDelete,
  type TagOutcome,
} from "../tags/repo-deleter.js";
import { callerCredentials } from "../upstream/caller-headers.js";
import { deleteOneTag } from "./tag-delete.js";

/** One repository delete as a client asks it. */
export interface RepoDeleteAsk {
  name: string;
  /** The upstream, with the asker's own credentials. */
  registry: RegistryCalls;
  /** The asker's Authorization header (the capability cache's key). */
  authorization: string | undefined;
  /** The request that asked (who, and through what, for the tag history). */
  request: IncomingMessage;
}

type RepoDeleteDeps = Parameters<typeof deleteOneTag>[0] & Pick<AppDeps, "repositoryEvents" | "logger">;

/** The listing's failure as the client's answer (before anything changed). */
function listFailure(f: Failure, name: string): OciError {
  const detail = { name };
  if (f.kind === "status" && f.status === 404) return new OciError("NAME_UNKNOWN", undefined, detail);
  if (f.kind === "status" && (f.status === 401 || f.status === 403))
    return authFailure(f.status, f.headers, name, detail);
  if (f.kind === "network") return upstreamFailureError(f.error.kind, detail);
  return new OciError(
    "UNAVAILABLE",
    "upstream registry failed the tags list",
    { ...detail, reason: describeFailure(f) },
    { status: 502 },
  );
}

/** The repository's tags now, or the refusal. */
async function listedTags(registry: RegistryCalls, name: string): Promise<string[]> {
  const tags = await registry.tagList(name);
  if (isFailed(tags)) throw listFailure(tags, name);
  return tags;
}

/** One tag, as deleteOneTag answers it: a tag found gone already counts as deleted. */
async function oneTag(deps: RepoDeleteDeps, ask: RepoDeleteAsk, tag: string): Promise<TagOutcome<OciError>> {
  try {
    await deleteOneTag(deps, { ...ask, tag });
    return { ok: true };
  } catch (err) {
    if (err instanceof OciError) {
      if (err.code === "MANIFEST_UNKNOWN" || err.code === "NAME_UNKNOWN") return { ok: true };
      return { ok: false, error: err };
    }
    deps.logger.error({ err, repository: ask.name, tag }, "repository delete: tag delete threw");
    return { ok: false, error: new OciError("UNKNOWN", "tag delete failed unexpectedly", { tag }) };
  }
}

/** The answer when a tag failed: its error, saying what was deleted and what remains. */
function partialFailure(name: string, result: RepoDeleteResult<OciError>): OciError {
  const first = result.failed[0]!;
  const e = first.error;
  const what =
    result.deleted.length === 0
      ? "nothing was deleted"
      : `${result.deleted.length} of ${result.deleted.length + result.remaining.length} tags were deleted, ${result.remaining.length} remain`;
  const failed = result.failed.map((f) => ({
    tag: f.tag,
    code: f.error.code,
    message: f.error.message,
    detail: f.error.detail,
  }));
  return new OciError(
    e.code,
    `repository delete stopped at tag ${first.tag} (${e.message}); ${what}`,
    { name, deleted: result.deleted, remaining: result.remaining, failed },
    { status: e.status, headers: { ...e.headers } },
  );
}

/**
 * Deletes every tag of `ask.name` (see the module comment): the tags deleted, or
 * throws the OciError a client gets (refusals before any change; a partial failure
 * naming the tags deleted and remaining).
 */
export async function deleteRepository(deps: RepoDeleteDeps, ask: RepoDeleteAsk): Promise<string[]> {
  const { name } = ask;
  const plan = planRepoDelete(
    await listedTags(ask.registry, name),
    (tag) => deps.immutableGuard.ruleFor(name, tag)?.source ?? null,
  );
  if (plan.kind === "no-tags") {
    throw new OciError("NAME_UNKNOWN", "repository name not known to registry (it has no tags)", { name });
  }
  if (plan.kind === "refused") {
    const tags = plan.immutable.map((i) => i.tag);
    for (const i of plan.immutable)
      deps.metrics.immutableRefusals.inc({ rule: i.rule, operation: "tag_delete" });
    throw new OciError(
      "DENIED",
      `repository ${name} has immutable tags (${tags.join(", ")}) and cannot be deleted; nothing was changed`,
      { name, immutable: true, tags: plan.immutable },
    );
  }
  const started = performance.now();
  const result = await runRepoDelete(plan.tags, (tag) => oneTag(deps, ask, tag));
  const ms = Math.round(performance.now() - started);
  const counts = { repository: name, deleted: result.deleted.length, remaining: result.remaining.length, ms };
  if (result.failed.length > 0) {
    deps.logger.warn(counts, "repository delete: stopped by a failed tag delete");
    throw partialFailure(name, result);
  }
  deps.logger.info(counts, "repository deleted");
  // Tags pushed meanwhile stay (they were not listed): only an empty repository is announced.
  const after = await ask.registry.tagList(name);
  if (!isFailed(after) ? after.length === 0 : after.kind === "status" && after.status === 404) {
    await deps.repositoryEvents.emptied(name);
  }
  return result.deleted;
}

/** `DELETE /v2/<name>`; any other method on the repository is 405 with `Allow: DELETE`. */
export const handleRepoDelete: V2Handler<"repo-delete"> = async (c, route, deps) => {
  const incoming = c.env.incoming;
  if (c.req.method !== "DELETE") {
    throw new OciError(
      "METHOD_UNKNOWN",
      `${c.req.method} is not allowed on a repository; DELETE /v2/<name> deletes it`,
      { name: route.name, method: c.req.method },
      { status: 405, headers: { allow: "DELETE" } },
    );
  }
  const deleted = await deleteRepository(deps, {
    name: route.name,
    registry: deps.registry.as(callerCredentials(incoming, deps.caller)),
    authorization: incoming.headers.authorization,
    request: incoming,
  });
  const body = `${JSON.stringify({ name: route.name, deleted })}\n`;
  return new Response(body, {
    status: 202,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(body)),
      [API_VERSION_HEADER]: API_VERSION,
    },
  });
};
