/**
 * The noun-verb calls of the registry API, each one request (or one per page)
 * made through `Call`: one call with its failures as values, bound to the
 * credentials of the caller (client.ts). Each verb returns what was asked for,
 * or a Failure saying how the call failed.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { firstHeader } from "../http/headers.js";
import { sha256Digest } from "../oci/digest.js";
import { ALL_MANIFEST_TYPES, isSchema1 } from "../oci/media-types.js";
import { type Failure, isFailed, statusFailure } from "./failure.js";
import { type HttpResponse, MAX_BODY_BYTES } from "./http.js";
import { ownPath, type RegistryRequest, type Transport } from "./transport.js";

/** One request, its answer whatever its status, or how it failed without one. */
export type Call = (req: RegistryRequest) => Promise<HttpResponse | Failure>;

/** Per call: an abort signal (the client went away), a deadline, further headers. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  headers?: OutgoingHttpHeaders;
}

/** A manifest with its exact bytes, its media type and its digest. */
export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** What a HEAD of a manifest tells: its digest and type, as the registry names them. */
export interface ManifestHead {
  digest: string | undefined;
  mediaType: string | undefined;
}

/** The request fields of `o` besides its headers. */
export function withOptions(req: RegistryRequest, o: CallOptions = {}): RegistryRequest {
  return {
    ...req,
    headers: { ...o.headers, ...req.headers },
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  };
}

function manifestRequest(method: string, name: string, reference: string, scope: string): RegistryRequest {
  return { method, path: `/v2/${name}/manifests/${reference}`, scope: `repository:${name}:${scope}` };
}

/** `GET /v2/`: the status when the API answers (200, or 401: it wants credentials). */
export async function ping(call: Call, o?: CallOptions): Promise<number | Failure> {
  const res = await call(withOptions({ method: "GET", path: "/v2/", maxBodyBytes: 64 * 1024 }, o));
  if (isFailed(res)) return res;
  return res.status === 200 || res.status === 401 ? res.status : statusFailure(res);
}

/** Whether the tags list may be read: null when its first page answers 200 (its body not read). */
export async function tagListCheck(call: Call, name: string, o?: CallOptions): Promise<null | Failure> {
  const req = {
    method: "GET",
    path: `/v2/${name}/tags/list`,
    scope: `repository:${name}:pull`,
    discardSuccessBody: true,
  };
  const res = await call(withOptions(req, o));
  if (isFailed(res)) return res;
  return res.status === 200 ? null : statusFailure(res);
}

export async function manifestHead(
  call: Call,
  name: string,
  reference: string,
  o?: CallOptions,
): Promise<ManifestHead | null | Failure> {
  const req = manifestRequest("HEAD", name, reference, "pull");
  const res = await call(withOptions({ ...req, headers: { accept: ALL_MANIFEST_TYPES } }, o));
  if (isFailed(res)) return res;
  if (res.status === 404) return null;
  if (res.status !== 200) return statusFailure(res);
  return {
    digest: firstHeader(res.headers["docker-content-digest"]),
    mediaType: firstHeader(res.headers["content-type"]),
  };
}

export async function manifestGet(
  call: Call,
  name: string,
  reference: string,
  o: CallOptions & { maxBytes?: number } = {},
): Promise<Manifest | null | Failure> {
  const req = manifestRequest("GET", name, reference, "pull");
  const res = await call(
    withOptions(
      { ...req, headers: { accept: ALL_MANIFEST_TYPES }, maxBodyBytes: o.maxBytes ?? MAX_BODY_BYTES },
      o,
    ),
  );
  if (isFailed(res)) return res;
  if (res.status === 404) return null;
  if (res.status !== 200) return statusFailure(res);
  const mediaType = firstHeader(res.headers["content-type"]) ?? "";
  const computed = sha256Digest(res.body);
  const announced = firstHeader(res.headers["docker-content-digest"]);
  if (announced && announced !== computed && !isSchema1(mediaType)) {
    return { ok: false, kind: "digest-mismatch", expected: announced, got: computed };
  }
  return { bytes: res.body, mediaType, digest: announced ?? computed };
}

export async function manifestPut(
  call: Call,
  name: string,
  reference: string,
  manifest: { bytes: Buffer; mediaType: string; digest?: string },
  o?: CallOptions,
): Promise<{ digest: string | undefined } | Failure> {
  const req = manifestRequest("PUT", name, reference, "pull,push");
  const headers = { "content-type": manifest.mediaType };
  const res = await call(withOptions({ ...req, headers, body: manifest.bytes }, o));
  if (isFailed(res)) return res;
  if (res.status !== 201) return statusFailure(res);
  const digest = firstHeader(res.headers["docker-content-digest"]);
  if (manifest.digest !== undefined && digest !== manifest.digest) {
    return { ok: false, kind: "digest-mismatch", expected: manifest.digest, got: digest ?? "(none)" };
  }
  return { digest };
}

export async function manifestDelete(
  call: Call,
  name: string,
  reference: string,
  o?: CallOptions,
): Promise<HttpResponse | Failure> {
  const res = await call(withOptions(manifestRequest("DELETE", name, reference, "delete"), o));
  if (isFailed(res)) return res;
  return res.status >= 200 && res.status < 300 ? res : statusFailure(res);
}

/** `POST /v2/<name>/blobs/uploads/`: opens an upload session; the answer whatever its status. */
export function uploadStart(call: Call, name: string, o?: CallOptions): Promise<HttpResponse | Failure> {
  const req = { method: "POST", path: `/v2/${name}/blobs/uploads/`, scope: `repository:${name}:pull,push` };
  return call(withOptions(req, o));
}

/** `DELETE <location>`: cancels an upload session, when its Location is on the registry itself. */
export async function uploadCancel(
  call: Call,
  registry: Pick<Transport, "url" | "prefix" | "origins">,
  name: string,
  location: string,
  o?: CallOptions,
): Promise<HttpResponse | Failure> {
  const path = ownPath(registry, location);
  if (path === null)
    return { ok: false, kind: "invalid", reason: `upload location ${location} is not on the registry` };
  return call(withOptions({ method: "DELETE", path, scope: `repository:${name}:pull,push` }, o));
}

export async function blobHead(
  call: Call,
  name: string,
  digest: string,
  o?: CallOptions,
): Promise<{ size: number | undefined } | null | Failure> {
  const req = { method: "HEAD", path: `/v2/${name}/blobs/${digest}`, scope: `repository:${name}:pull` };
  const res = await call(withOptions(req, o));
  if (isFailed(res)) return res;
  if (res.status === 404) return null;
  if (res.status !== 200) return statusFailure(res);
  const size = Number(firstHeader(res.headers["content-length"]));
  return { size: Number.isSafeInteger(size) ? size : undefined };
}

export async function blobGet(
  call: Call,
  name: string,
  digest: string,
  o: CallOptions & { maxBytes?: number } = {},
): Promise<Buffer | Failure> {
  const path = `/v2/${name}/blobs/${digest}`;
  const req = {
    method: "GET",
    path,
    scope: `repository:${name}:pull`,
    maxBodyBytes: o.maxBytes ?? MAX_BODY_BYTES,
  };
  const res = await call(withOptions(req, o));
  if (isFailed(res)) return res;
  return res.status === 200 ? res.body : statusFailure(res);
}
