/**
 * Manifest PUT and DELETE by digest, owned by the proxy so that the referrers
 * tag schema stays right (distribution-spec 1.1, "Pushing Manifests with Subject"
 * and "Deleting Manifests"), as a registry with the referrers API would keep it.
 *
 * - PUT: the body (at most 4 MiB, as distribution) goes upstream unchanged with
 *   the client's Content-Type and credentials; the upstream's answer is relayed.
 *   When the upstream accepted a manifest with a `subject`, its descriptor is
 *   added to the subject's referrers index and the answer carries `OCI-Subject`.
 *   Without a `subject`, the answer is the upstream's, as a passthrough gives it.
 * - DELETE by digest: the manifest's subject is read first, the DELETE is
 *   forwarded, and on 202 the descriptor leaves the subject's index. With
 *   `delete.digestDeletes: protect` the DELETE goes upstream only when one tag or
 *   none holds the manifest (tags/digest-delete-guard.ts).
 * - The tag history (history.windowMs): a PUT to a tag records what the tag held
 *   before and after, a DELETE by digest the tags it took (history-record.ts).
 * DELETE by tag is not handled here. With `oci.referrers` off the proxy owns
 * these only for immutable tags (tags/immutable-guard.ts), for the digest delete
 * guard (PUTs by tag, in the put phase; DELETEs by digest) and for the tag history
 * (the same), and leaves the index alone. The referrers index is written in the
 * put phase too: it is a tag.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { AppDeps, AppEnv } from "../deps.js";
import { OciError } from "../oci/errors.js";
import { isValidDigest } from "../oci/grammar.js";
import { layerUrlRefusal } from "../oci/layer-urls.js";
import { ALL_MANIFEST_TYPES } from "../oci/media-types.js";
import { addReferrer, type Referrer, referrerOf, referrersTag, removeReferrer } from "../oci/referrers.js";
import type { RouteMatch } from "../oci/routes.js";
import type { IndexChange } from "../referrers/referrers-index.js";
import { DIGEST_DELETE_ACTIONS, widenChallenge } from "../tags/challenge.js";
import { callerHeaders } from "../upstream/caller-headers.js";
import { MAX_BODY_BYTES, type UpstreamResponse } from "../upstream/client.js";
import {
  clientGoneSignal,
  readRequestBody,
  relayOptions,
  relayResponse,
  upstreamFailure,
} from "../upstream/relay.js";
import { recordDigestDelete, recordTagPut, tagBefore, tagsLostWith } from "./history-record.js";

/** distribution's manifest limit (`maxManifestBodySize`, 4 MiB); the spec asks for at least 4 MB. */
export const MAX_MANIFEST_BYTES = MAX_BODY_BYTES;

type ManifestRoute = Extract<RouteMatch, { kind: "manifest" }>;
type ManifestContext = Context<AppEnv>;

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sha256Of(body: Buffer): string {
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

function acceptedDigest(res: UpstreamResponse, body: Buffer): string {
  const d = headerValue(res.headers["docker-content-digest"]);
  return d !== undefined && isValidDigest(d) ? d : sha256Of(body);
}

async function call<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw upstreamFailure(err);
  }
}

/** Changes the subject's referrers index; true when it now lists what it should. Never throws. */
async function changeReferrers(
  deps: AppDeps,
  req: IncomingMessage,
  name: string,
  referrer: Referrer,
  op: "add" | "remove",
): Promise<boolean> {
  const change: IndexChange =
    op === "add"
      ? (index) => addReferrer(index, referrer.descriptor)
      : (index) => removeReferrer(index, referrer.descriptor.digest);
  const where = { name, subject: referrer.subject, digest: referrer.descriptor.digest, op };
  try {
    const headers = callerHeaders(req, deps.caller);
    // The referrers tag is a tag: written in the repository's put phase, as every tag write.
    const result = await deps.tagDeleter.inPutPhase(
      name,
      () => deps.referrers.update(deps.upstream, headers, name, referrer.subject, change),
      referrersTag(referrer.subject),
    );
    deps.metrics.referrersUpdates.inc({ op, outcome: result.outcome });
    if (result.outcome === "skipped" || result.outcome === "failed") {
      deps.logger.warn({ ...where, reason: result.reason }, "referrers index not updated");
      return false;
    }
    deps.logger.debug({ ...where, outcome: result.outcome }, "referrers index");
    return true;
  } catch (err) {
    deps.metrics.referrersUpdates.inc({ op, outcome: "failed" });
    deps.logger.warn({ ...where, err: (err as Error).message }, "referrers index not updated");
    return false;
  }
}

async function putManifest(c: ManifestContext, route: ManifestRoute, deps: AppDeps): Promise<Response> {
  const req = c.env.incoming;
  const guard = deps.immutableGuard;
  const rule = route.by === "tag" ? guard.ruleFor(route.name, route.reference) : null;
  // The tag history: what the tag held before (learned while the body arrives, or by the guard's HEAD).
  let before = route.by === "tag" && rule === null ? tagBefore(deps, req, route.name, route.reference) : null;
  const body = await call(readRequestBody(req, MAX_MANIFEST_BYTES));
  if (body === null) {
    throw new OciError(
      "MANIFEST_INVALID",
      `manifest larger than ${MAX_MANIFEST_BYTES} bytes`,
      { limit: MAX_MANIFEST_BYTES },
      { status: 413, headers: { connection: "close" } },
    );
  }
  const contentType = req.headers["content-type"];
  const headers = callerHeaders(req, deps.caller);
  if (contentType !== undefined) headers["content-type"] = contentType;
  const put = () =>
    call(
      deps.upstream.request({
        method: "PUT",
        path: req.url ?? "",
        headers,
        body,
        signal: clientGoneSignal(c.env.outgoing),
      }),
    );
  // A tag written while a tag delete's DELETE by digest runs in the same repository
  // breaks one of them on 2.8: the write waits for that phase to end.
  const send = route.by === "tag" ? () => deps.tagDeleter.inPutPhase(route.name, put, route.reference) : put;
  const res = rule
    ? await guard.guardPut(
        {
          name: route.name,
          tag: route.reference,
          rule,
          digest: sha256Of(body),
          headers: callerHeaders(req, deps.caller),
        },
        (current) => {
          before = Promise.resolve(current);
          return send();
        },
      )
    : await send();
  const refused = layerUrlRefusal(body, res.status, res.body);
  if (refused) throw refused;
  const extra: Record<string, string> = {};
  if (res.status === 201) {
    const referrer = deps.config.oci.referrers && referrerOf(body, contentType, acceptedDigest(res, body));
    if (referrer && (await changeReferrers(deps, req, route.name, referrer, "add"))) {
      extra["oci-subject"] = referrer.subject;
    }
    if (before) {
      const manifest = { bytes: body, contentType, digest: acceptedDigest(res, body) };
      await recordTagPut(deps, req, route.name, route.reference, manifest, await before);
    }
    await deps.changes.repositoryChanged(route.name);
  }
  return relayResponse(res, relayOptions(req, deps.caller, deps.upstream.target.origins, extra));
}

/** The manifest at `digest` (its bytes and type), or null when it cannot be read. */
async function readManifest(
  deps: AppDeps,
  req: IncomingMessage,
  route: ManifestRoute,
  signal: AbortSignal,
): Promise<{ bytes: Buffer; mediaType: string | undefined } | null> {
  try {
    const got = await deps.upstream.request({
      method: "GET",
      path: `/v2/${route.name}/manifests/${route.reference}`,
      headers: { ...callerHeaders(req, deps.caller), accept: ALL_MANIFEST_TYPES },
      signal,
      maxBodyBytes: MAX_MANIFEST_BYTES,
    });
    if ((got.status === 401 || got.status === 403) && deps.config.oci.referrers) {
      // e.g. a delete-only token: the DELETE may still be allowed, the index cannot be kept.
      deps.metrics.referrersUpdates.inc({ op: "remove", outcome: "unreadable" });
      deps.logger.info(
        { name: route.name, digest: route.reference, status: got.status },
        "manifest not readable with the caller's credentials; its referrers entry (if any) stays",
      );
    }
    if (got.status !== 200) return null;
    return { bytes: got.body, mediaType: headerValue(got.headers["content-type"]) };
  } catch {
    return null;
  }
}

async function deleteManifestByDigest(
  c: ManifestContext,
  route: ManifestRoute,
  deps: AppDeps,
): Promise<Response> {
  const req = c.env.incoming;
  const signal = clientGoneSignal(c.env.outgoing);
  await deps.immutableGuard.checkDigestDelete(route.name, route.reference, callerHeaders(req, deps.caller));
  const { referrers } = deps.config.oci;
  const manifest = referrers || deps.history.enabled ? await readManifest(deps, req, route, signal) : null;
  const referrer =
    referrers && manifest ? referrerOf(manifest.bytes, manifest.mediaType, route.reference) : null;
  const headers = callerHeaders(req, deps.caller);
  const forward = () =>
    call(deps.upstream.request({ method: "DELETE", path: req.url ?? "", headers, signal }));
  const guarded = deps.config.delete.digestDeletes === "protect";
  const query = {
    name: route.name,
    digest: route.reference,
    headers,
    authorization: req.headers.authorization,
  };
  // The tag history: the tags this delete takes with it (guarded: the ones the guard counted).
  const { res, lost } = guarded
    ? await deps.digestGuard.deleteIfSafe(query, async (refs) => ({
        lost: deps.history.enabled ? { tags: refs.tags, complete: true } : null,
        res: await forward(),
      }))
    : {
        lost: await tagsLostWith(deps, req, query, (q) => deps.digestGuard.references(q)),
        res: await forward(),
      };
  if (res.status === 202) {
    if (referrer) await changeReferrers(deps, req, route.name, referrer, "remove");
    if (lost) await recordDigestDelete(deps, req, route.name, route.reference, manifest, lost);
    await deps.changes.repositoryChanged(route.name);
  }
  // Guarded, the token must also read the tags: a Bearer challenge asks for pull,delete.
  const challenge = headerValue(res.headers["www-authenticate"]);
  const extra =
    guarded && res.status === 401 && challenge
      ? { "www-authenticate": widenChallenge(challenge, route.name, DIGEST_DELETE_ACTIONS) }
      : undefined;
  return relayResponse(res, relayOptions(req, deps.caller, deps.upstream.target.origins, extra));
}

/** The `manifest` route kind as far as the proxy owns it: PUT, and DELETE by digest. */
export function handleManifestWrite(
  c: ManifestContext,
  route: ManifestRoute,
  deps: AppDeps,
): Promise<Response> {
  const method = c.env.incoming.method;
  if (method === "PUT") return putManifest(c, route, deps);
  if (method === "DELETE" && route.by === "digest") return deleteManifestByDigest(c, route, deps);
  throw new OciError("UNSUPPORTED", `${method} of a manifest is not handled by the proxy`);
}
