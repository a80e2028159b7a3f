/**
 * The few upstream requests the tag delete makes, each returning a typed answer
 * instead of throwing: a call either succeeded, or `Failed` says how (an HTTP
 * status with its headers and body, or a network error), so the steps can decide
 * what a failure means for the tag.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { firstErrorCode } from "../oci/errors.js";
import { ALL_MANIFEST_TYPES, isSchema1 } from "../oci/media-types.js";
import { type UpstreamClient, UpstreamError, type UpstreamResponse } from "../upstream/client.js";
import { sha256Digest } from "./tombstone.js";

export type Failed =
  | { ok: false; kind: "status"; status: number; headers: IncomingHttpHeaders; code: string | undefined }
  | { ok: false; kind: "network"; error: UpstreamError }
  | { ok: false; kind: "digest-mismatch"; expected: string; got: string };

export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface Upstream {
  client: UpstreamClient;
  /** Credentials and forwarding headers for every call (never logged). */
  headers: OutgoingHttpHeaders;
}

function manifestPath(name: string, reference: string): string {
  return `/v2/${name}/manifests/${reference}`;
}

export async function send(
  up: Upstream,
  method: string,
  path: string,
  extra: OutgoingHttpHeaders = {},
  body?: Buffer,
): Promise<UpstreamResponse | Failed> {
  try {
    return await up.client.request({ method, path, headers: { ...up.headers, ...extra }, body });
  } catch (err) {
    if (err instanceof UpstreamError) return { ok: false, kind: "network", error: err };
    throw err;
  }
}

export function isFailed(v: unknown): v is Failed {
  return typeof v === "object" && v !== null && (v as { ok?: unknown }).ok === false;
}

export function statusFailure(res: UpstreamResponse): Failed {
  return {
    ok: false,
    kind: "status",
    status: res.status,
    headers: res.headers,
    code: firstErrorCode(res.body),
  };
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** GET a tag's manifest with its exact bytes, media type and digest; null when absent. */
export async function getManifest(
  up: Upstream,
  name: string,
  reference: string,
): Promise<Manifest | null | Failed> {
  const res = await send(up, "GET", manifestPath(name, reference), { accept: ALL_MANIFEST_TYPES });
  if (isFailed(res)) return res;
  if (res.status === 404) return null;
  if (res.status !== 200) return statusFailure(res);
  const mediaType = header(res.headers, "content-type") ?? "";
  const computed = sha256Digest(res.body);
  const announced = header(res.headers, "docker-content-digest");
  if (announced && announced !== computed && !isSchema1(mediaType)) {
    return { ok: false, kind: "digest-mismatch", expected: announced, got: computed };
  }
  return { bytes: res.body, mediaType, digest: announced ?? computed };
}

/** HEAD a tag: its current digest, or null when the registry has no manifest for it. */
export async function headTag(up: Upstream, name: string, tag: string): Promise<string | null | Failed> {
  const res = await send(up, "HEAD", manifestPath(name, tag), { accept: ALL_MANIFEST_TYPES });
  if (isFailed(res)) return res;
  if (res.status === 404) return null;
  if (res.status !== 200) return statusFailure(res);
  return header(res.headers, "docker-content-digest") ?? null;
}

/** PUT a manifest to a tag and check the registry stored exactly `expectDigest`. */
export async function putManifest(
  up: Upstream,
  name: string,
  tag: string,
  manifest: Manifest,
): Promise<true | Failed> {
  const res = await send(
    up,
    "PUT",
    manifestPath(name, tag),
    { "content-type": manifest.mediaType },
    manifest.bytes,
  );
  if (isFailed(res)) return res;
  if (res.status !== 201) return statusFailure(res);
  const got = header(res.headers, "docker-content-digest");
  if (got !== manifest.digest) {
    return { ok: false, kind: "digest-mismatch", expected: manifest.digest, got: got ?? "(none)" };
  }
  return true;
}

/** DELETE a manifest by digest, expecting 202. */
export async function deleteManifest(up: Upstream, name: string, digest: string): Promise<true | Failed> {
  const res = await send(up, "DELETE", manifestPath(name, digest));
  if (isFailed(res)) return res;
  return res.status === 202 ? true : statusFailure(res);
}

/** Whether `tags/list` still names the tag (a dangling tag does, a deleted one does not). */
export async function tagListed(up: Upstream, name: string, tag: string): Promise<boolean | Failed> {
  const res = await send(up, "GET", `/v2/${name}/tags/list`);
  if (isFailed(res)) return res;
  if (res.status === 404) return false;
  if (res.status !== 200) return statusFailure(res);
  try {
    const tags = (JSON.parse(res.body.toString()) as { tags?: unknown }).tags;
    return Array.isArray(tags) && tags.includes(tag);
  } catch {
    return statusFailure(res);
  }
}

/** A short, credential-free description of a failure for logs and error details. */
export function describeFailure(f: Failed): string {
  switch (f.kind) {
    case "status":
      return `upstream answered ${f.status}${f.code ? ` ${f.code}` : ""}`;
    case "network":
      return f.error.message;
    case "digest-mismatch":
      return `digest mismatch: expected ${f.expected}, upstream said ${f.got}`;
  }
}
