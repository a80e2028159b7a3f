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
 * DELETE by tag is the tag delete's. With `oci.referrers` off the routing table
 * gives the proxy these only for immutable tags (tags/immutable-guard.ts), for the
 * digest delete guard (PUTs by tag, in the put phase; DELETEs by digest) and for
 * the tag history (the same), and the index is left alone. The referrers index is
 * written in the put phase too: it is a tag.
 */
import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { AppDeps, AppEnv, V2Handler } from "../deps.js";
import { firstHeader } from "../http/headers.js";
import { sha256Digest } from "../oci/digest.js";
import { OciError } from "../oci/errors.js";
import { isValidDigest } from "../oci/grammar.js";
import { layerUrlRefusal } from "../oci/layer-urls.js";
import { MAX_MANIFEST_BYTES } from "../oci/media-types.js";
import { addReferrer, type Referrer, referrerOf, referrersTag, removeReferrer } from "../oci/referrers.js";
import type { RouteMatch } from "../oci/routes.js";
import type { IndexChange } from "../referrers/referrers-index.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { isFailed } from "../registry-client/failure.js";
import type { HttpResponse } from "../registry-client/http.js";
import { DIGEST_DELETE_ACTIONS, widenChallenge } from "../tags/challenge.js";
import { callerCredentials } from "../upstream/caller-headers.js";
import {
  clientGoneSignal,
  readRequestBody,
  relayOptions,
  relayResponse,
  upstreamFailure,
} from "../upstream/relay.js";
import { recordDigestDelete, recordTagPut, tagBefore, tagsLostWith } from "./history-record.js";

type ManifestRoute = Extract<RouteMatch, { kind: "manifest" }>;
type ManifestContext = Context<AppEnv>;

function acceptedDigest(res: HttpResponse, body: Buffer): string {
  const d = firstHeader(res.headers["docker-content-digest"]);
  return d !== undefined && isValidDigest(d) ? d : sha256Digest(body);
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
    const reg = deps.registry.as(callerCredentials(req, deps.caller));
    // The referrers tag is a tag: written in the repository's put phase, as every tag write.
    const result = await deps.tagDeleter.inPutPhase(
      name,
      () => deps.referrers.update(reg, name, referrer.subject, change),
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
  const reg = deps.registry.as(callerCredentials(req, deps.caller));
  const put = () =>
    call(
      reg.request({
        method: "PUT",
        path: req.url ?? "",
        headers: contentType === undefined ? {} : { "content-type": contentType },
        body,
        signal: clientGoneSignal(c.env.outgoing),
      }),
    );
  // A tag written while a tag delete's DELETE by digest runs in the same repository
  // breaks one of them on 2.8: the write waits for that phase to end.
  const send = route.by === "tag" ? () => deps.tagDeleter.inPutPhase(route.name, put, route.reference) : put;
  // The history's HEAD answers before the PUT is sent: a PUT landing first makes it
  // see the new digest, and the push would pass for a re-push (never recorded).
  if (rule === null) await before;
  const res = rule
    ? await guard.guardPut(
        {
          name: route.name,
          tag: route.reference,
          rule,
          digest: sha256Digest(body),
          reg,
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
  return relayResponse(res, relayOptions(req, deps.caller, deps.registry.origins, extra));
}

/** The manifest at `digest` (its bytes and type), or null when it cannot be read. */
async function readManifest(
  deps: AppDeps,
  reg: RegistryCalls,
  route: ManifestRoute,
  signal: AbortSignal,
): Promise<{ bytes: Buffer; mediaType: string | undefined } | null> {
  const got = await reg.manifestGet(route.name, route.reference, { signal, maxBytes: MAX_MANIFEST_BYTES });
  if (got === null) return null;
  if (!isFailed(got)) return { bytes: got.bytes, mediaType: got.mediaType };
  if (got.kind === "status" && (got.status === 401 || got.status === 403) && deps.config.oci.referrers) {
    // e.g. a delete-only token: the DELETE may still be allowed, the index cannot be kept.
    deps.metrics.referrersUpdates.inc({ op: "remove", outcome: "unreadable" });
    deps.logger.info(
      { name: route.name, digest: route.reference, status: got.status },
      "manifest not readable with the caller's credentials; its referrers entry (if any) stays",
    );
  }
  return null;
}

async function deleteManifestByDigest(
  c: ManifestContext,
  route: ManifestRoute,
  deps: AppDeps,
): Promise<Response> {
  const req = c.env.incoming;
  const signal = clientGoneSignal(c.env.outgoing);
  const reg = deps.registry.as(callerCredentials(req, deps.caller));
  await deps.immutableGuard.checkDigestDelete(route.name, route.reference, reg);
  const { referrers } = deps.config.oci;
  const manifest = referrers || deps.history.enabled ? await readManifest(deps, reg, route, signal) : null;
  const referrer =
    referrers && manifest ? referrerOf(manifest.bytes, manifest.mediaType, route.reference) : null;
  const forward = () => call(reg.request({ method: "DELETE", path: req.url ?? "", signal }));
  const guarded = deps.config.delete.digestDeletes === "protect";
  const query = {
    name: route.name,
    digest: route.reference,
    registry: reg,
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
  const challenge = firstHeader(res.headers["www-authenticate"]);
  const extra =
    guarded && res.status === 401 && challenge
      ? { "www-authenticate": widenChallenge(challenge, route.name, DIGEST_DELETE_ACTIONS) }
      : undefined;
  return relayResponse(res, relayOptions(req, deps.caller, deps.registry.origins, extra));
}

/** PUT `/v2/<name>/manifests/<reference>`, as far as the routing table gives it to the proxy. */
export const handleManifestPut: V2Handler<"manifest-put"> = (c, route, deps) => putManifest(c, route, deps);

/** DELETE `/v2/<name>/manifests/<digest>`, as far as the routing table gives it to the proxy. */
export const handleManifestDelete: V2Handler<"manifest-delete"> = (c, route, deps) =>
  deleteManifestByDigest(c, route, deps);
