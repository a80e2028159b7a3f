/**
 * `GET /v2/<name>/referrers/<digest>` (distribution-spec 1.1, "Listing
 * Referrers"), answered from the referrers tag schema: the OCI index at tag
 * `<alg>-<ref>` of the subject, read with the caller's credentials. Always 200
 * with an OCI image index (empty `manifests` when the tag is missing or holds
 * anything but an index), `artifactType` filtering with `OCI-Filters-Applied`.
 * Authentication and other upstream errors are relayed as the upstream gave them.
 * HEAD arrives here as GET (Hono) and gets the same headers.
 */
import type { Context } from "hono";
import type { AppDeps, AppEnv } from "../deps.js";
import { API_VERSION, API_VERSION_HEADER, OciError } from "../oci/errors.js";
import { MEDIA_TYPE } from "../oci/media-types.js";
import { emptyReferrersIndex, filterReferrers, referrersResponse, referrersTag } from "../oci/referrers.js";
import { type RouteMatch, splitPathQuery } from "../oci/routes.js";
import { callerCredentials } from "../upstream/caller-headers.js";
import { clientGoneSignal, failureError, relayOptions, relayResponse } from "../upstream/relay.js";

type ReferrersRoute = Extract<RouteMatch, { kind: "referrers" }>;

/**
 * The `artifactType` values asked for (empty values ignored). A `+` stays a `+`:
 * media types have no spaces, and clients often leave `application/spdx+json`
 * unencoded in the query.
 */
export function requestedArtifactTypes(url: string): string[] {
  const { query } = splitPathQuery(url);
  const types: string[] = [];
  for (const pair of query.split("&")) {
    if (!pair.startsWith("artifactType=")) continue;
    const raw = pair.slice("artifactType=".length);
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // keep the raw value
    }
    if (value !== "") types.push(value);
  }
  return types;
}

export async function handleReferrers(
  c: Context<AppEnv>,
  route: ReferrersRoute,
  deps: AppDeps,
): Promise<Response> {
  const req = c.env.incoming;
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new OciError("UNSUPPORTED", "the referrers API answers GET and HEAD only", undefined, {
      headers: { allow: "GET, HEAD" },
    });
  }
  const reg = deps.registry.as(callerCredentials(req, deps.caller));
  const read = await deps.referrers.read(reg, route.name, route.digest, clientGoneSignal(c.env.outgoing));
  if (read.kind === "failed") throw failureError(read.failure);
  if (read.kind === "refused") {
    return relayResponse(read.response, relayOptions(req, deps.caller, deps.registry.origins));
  }
  if (read.kind === "not-index") {
    deps.logger.debug(
      { name: route.name, tag: referrersTag(route.digest), reason: read.reason },
      "referrers tag is not an index; answering an empty list",
    );
  }
  let index = read.kind === "index" ? read.index : emptyReferrersIndex();
  const headers: Record<string, string> = {
    "content-type": MEDIA_TYPE.ociIndex,
    [API_VERSION_HEADER]: API_VERSION,
  };
  const types = requestedArtifactTypes(req.url ?? "");
  if (types.length > 0) {
    index = filterReferrers(index, types);
    headers["oci-filters-applied"] = "artifactType";
  }
  const body = JSON.stringify(referrersResponse(index));
  headers["content-length"] = String(Buffer.byteLength(body));
  return new Response(body, { status: 200, headers });
}
