/**
 * The one registry client: every call the proxy makes of its own (the tags list,
 * the tag delete and its recovery, `restore`, the guards, referrers, `prune`,
 * `gc`, `healthcheck`) goes through it, with the credentials of that call:
 *
 *   const reg = client.as(login("svc", "pw"));
 *   const head = await reg.manifestHead("team/app", "v1");
 *
 * The verbs are named noun-verb, as the registry API's resources: `ping`,
 * `catalog`, `tagList`, `manifestHead`/`Get`/`Put`/`Delete`, `blobHead`/`Get`.
 * Each returns what was asked for, or a Failure (failure.ts) saying how the call
 * failed; none throws for the registry's or the network's sake. `request` is the
 * raw call underneath, for answers relayed to a client as they came.
 * Bodies are read whole under a cap: blobs other than small JSON ones never go
 * through here (the passthrough streams them).
 */
import type { OutgoingHttpHeaders } from "node:http";
import { firstHeader, joinedHeader } from "../http/headers.js";
import { sha256Digest } from "../oci/digest.js";
import { ALL_MANIFEST_TYPES, isSchema1 } from "../oci/media-types.js";
import { parseNextLink } from "../oci/pagination.js";
import { TokenError } from "./auth.js";
import type { Credentials } from "./credentials.js";
import { type Failure, isFailed, statusFailure } from "./failure.js";
import { type HttpResponse, MAX_BODY_BYTES, UpstreamError } from "./http.js";
import {
  createTransport,
  type RegistryClientOptions,
  type RegistryRequest,
  type Transport,
} from "./transport.js";

export type { RegistryClientOptions, RegistryRequest } from "./transport.js";

/** Pages of a list followed at most before giving up on a registry that never stops. */
export const MAX_PAGES = 10_000;

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

export interface RegistryCalls {
  /**
   * The raw call: the answer whatever its status. Throws UpstreamError when
   * nothing answered, and TokenError when a 401 asked for a token not had.
   */
  request(req: RegistryRequest): Promise<HttpResponse>;
  /** `GET /v2/`: the status when the API answers (200, or 401: it wants credentials). */
  ping(o?: CallOptions): Promise<number | Failure>;
  /** Every repository of `/v2/_catalog`, following its pages. */
  catalog(o?: CallOptions & { pageSize?: number }): Promise<string[] | Failure>;
  /** Every tag of `/v2/<name>/tags/list` in the registry's order, following its pages (404: a Failure). */
  tagList(name: string, o?: CallOptions): Promise<string[] | Failure>;
  /**
   * Whether these credentials may read the tags list: null when its first page
   * answers 200 (its body is not read: a large one closes the connection instead),
   * else how it failed.
   */
  tagListCheck(name: string, o?: CallOptions): Promise<null | Failure>;
  /** HEAD a manifest, every type accepted; null when there is none. */
  manifestHead(
    name: string,
    reference: string,
    o?: CallOptions,
  ): Promise<{ digest: string | undefined; mediaType: string | undefined } | null | Failure>;
  /** GET a manifest with its exact bytes; null when there is none. Its digest is checked against the bytes. */
  manifestGet(
    name: string,
    reference: string,
    o?: CallOptions & { maxBytes?: number },
  ): Promise<Manifest | null | Failure>;
  /** PUT a manifest (201); with `digest`, the digest the registry stored must be that one. */
  manifestPut(
    name: string,
    reference: string,
    manifest: { bytes: Buffer; mediaType: string; digest?: string },
    o?: CallOptions,
  ): Promise<{ digest: string | undefined } | Failure>;
  /** DELETE a manifest, by tag or digest: the 2xx answer, or a Failure with the registry's. */
  manifestDelete(name: string, reference: string, o?: CallOptions): Promise<HttpResponse | Failure>;
  /**
   * `POST /v2/<name>/blobs/uploads/`: opens an upload session; the answer whatever
   * its status (gc proves its window with one it cancels).
   */
  uploadStart(name: string, o?: CallOptions): Promise<HttpResponse | Failure>;
  /** `DELETE` of an upload's Location (on the registry itself): cancels it; the answer whatever its status. */
  uploadCancel(name: string, location: string, o?: CallOptions): Promise<HttpResponse | Failure>;
  /** HEAD a blob; null when there is none. */
  blobHead(
    name: string,
    digest: string,
    o?: CallOptions,
  ): Promise<{ size: number | undefined } | null | Failure>;
  /** GET a small blob (a config) whole, under `maxBytes`. */
  blobGet(name: string, digest: string, o?: CallOptions & { maxBytes?: number }): Promise<Buffer | Failure>;
}

export interface RegistryClient {
  /** The registry's URL (its path prefix included). */
  readonly url: URL;
  /** Lowercase origins that are the registry itself, for rewriting what it names. */
  readonly origins: ReadonlySet<string>;
  /** The calls, made with `credentials`. */
  as(credentials: Credentials): RegistryCalls;
  /** Closes every connection; calls in flight fail. */
  close(): Promise<void>;
}

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const transport = createTransport(options);
  return {
    url: transport.url,
    origins: transport.origins,
    as: (credentials) => bindCalls(transport, credentials),
    close: () => transport.close(),
  };
}

function bindCalls(transport: Transport, creds: Credentials): RegistryCalls {
  const request = (req: RegistryRequest) => transport.send(req, creds);

  /** One call, its failures as values. */
  async function call(req: RegistryRequest): Promise<HttpResponse | Failure> {
    try {
      return await request(req);
    } catch (err) {
      if (err instanceof TokenError) return statusFailure(err.challenged, err.message);
      if (!(err instanceof UpstreamError)) throw err;
      // The call named without its query (which may carry an upload's state).
      return {
        ok: false,
        kind: "network",
        error: err,
        where: `${req.method} ${transport.url.origin}${transport.prefix}${req.path.split("?", 1)[0]}`,
      };
    }
  }
  const callOptions = (o: CallOptions = {}) => ({
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  const manifestPath = (name: string, reference: string) => `/v2/${name}/manifests/${reference}`;

  /** Every page's entries, following `Link: <…>; rel="next"` while it names the same list on the registry. */
  async function pages(
    firstPath: string,
    listPath: string,
    scope: string,
    read: (body: Buffer) => string[] | null,
    o: CallOptions,
  ): Promise<string[] | Failure> {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let path: string | null = firstPath; path !== null; ) {
      if (seen.size >= MAX_PAGES || seen.has(path)) {
        return { ok: false, kind: "invalid", reason: "upstream pagination does not end" };
      }
      seen.add(path);
      const res = await call({ method: "GET", path, scope, headers: { ...o.headers }, ...callOptions(o) });
      if (isFailed(res)) return res;
      if (res.status !== 200) return statusFailure(res);
      const entries = read(res.body);
      if (entries === null)
        return { ok: false, kind: "invalid", reason: `upstream sent an invalid ${listPath}` };
      for (const e of entries) out.push(e);
      const link = parseNextLink(joinedHeader(res.headers.link));
      if (link === null) break;
      path = nextPath(transport, link, listPath);
      if (path === null) return { ok: false, kind: "invalid", reason: "upstream next Link points elsewhere" };
    }
    return out;
  }

  return {
    request,
    async ping(o = {}) {
      const res = await call({
        method: "GET",
        path: "/v2/",
        maxBodyBytes: 64 * 1024,
        headers: { ...o.headers },
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      return res.status === 200 || res.status === 401 ? res.status : statusFailure(res);
    },
    catalog(o = {}) {
      return pages(
        `/v2/_catalog?n=${o.pageSize ?? 1000}`,
        "/v2/_catalog",
        "registry:catalog:*",
        readList("repositories"),
        o,
      );
    },
    tagList(name, o = {}) {
      const path = `/v2/${name}/tags/list`;
      return pages(path, path, `repository:${name}:pull`, readList("tags"), o);
    },
    async tagListCheck(name, o = {}) {
      const res = await call({
        method: "GET",
        path: `/v2/${name}/tags/list`,
        scope: `repository:${name}:pull`,
        discardSuccessBody: true,
        headers: { ...o.headers },
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      return res.status === 200 ? null : statusFailure(res);
    },
    async manifestHead(name, reference, o = {}) {
      const res = await call({
        method: "HEAD",
        path: manifestPath(name, reference),
        scope: `repository:${name}:pull`,
        headers: { ...o.headers, accept: ALL_MANIFEST_TYPES },
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      if (res.status === 404) return null;
      if (res.status !== 200) return statusFailure(res);
      return {
        digest: firstHeader(res.headers["docker-content-digest"]),
        mediaType: firstHeader(res.headers["content-type"]),
      };
    },
    async manifestGet(name, reference, o = {}) {
      const res = await call({
        method: "GET",
        path: manifestPath(name, reference),
        scope: `repository:${name}:pull`,
        headers: { ...o.headers, accept: ALL_MANIFEST_TYPES },
        maxBodyBytes: o.maxBytes ?? MAX_BODY_BYTES,
        ...callOptions(o),
      });
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
    },
    async manifestPut(name, reference, manifest, o = {}) {
      const res = await call({
        method: "PUT",
        path: manifestPath(name, reference),
        scope: `repository:${name}:pull,push`,
        headers: { ...o.headers, "content-type": manifest.mediaType },
        body: manifest.bytes,
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      if (res.status !== 201) return statusFailure(res);
      const digest = firstHeader(res.headers["docker-content-digest"]);
      if (manifest.digest !== undefined && digest !== manifest.digest) {
        return { ok: false, kind: "digest-mismatch", expected: manifest.digest, got: digest ?? "(none)" };
      }
      return { digest };
    },
    async manifestDelete(name, reference, o = {}) {
      const res = await call({
        method: "DELETE",
        path: manifestPath(name, reference),
        scope: `repository:${name}:delete`,
        headers: { ...o.headers },
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      return res.status >= 200 && res.status < 300 ? res : statusFailure(res);
    },
    uploadStart(name, o = {}) {
      return call({
        method: "POST",
        path: `/v2/${name}/blobs/uploads/`,
        scope: `repository:${name}:pull,push`,
        headers: { ...o.headers },
        ...callOptions(o),
      });
    },
    async uploadCancel(name, location, o = {}) {
      const path = ownPath(transport, location);
      if (path === null)
        return { ok: false, kind: "invalid", reason: `upload location ${location} is not on the registry` };
      return call({
        method: "DELETE",
        path,
        scope: `repository:${name}:pull,push`,
        headers: { ...o.headers },
        ...callOptions(o),
      });
    },
    async blobHead(name, digest, o = {}) {
      const res = await call({
        method: "HEAD",
        path: `/v2/${name}/blobs/${digest}`,
        scope: `repository:${name}:pull`,
        headers: { ...o.headers },
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      if (res.status === 404) return null;
      if (res.status !== 200) return statusFailure(res);
      const size = Number(firstHeader(res.headers["content-length"]));
      return { size: Number.isSafeInteger(size) ? size : undefined };
    },
    async blobGet(name, digest, o = {}) {
      const res = await call({
        method: "GET",
        path: `/v2/${name}/blobs/${digest}`,
        scope: `repository:${name}:pull`,
        headers: { ...o.headers },
        maxBodyBytes: o.maxBytes ?? MAX_BODY_BYTES,
        ...callOptions(o),
      });
      if (isFailed(res)) return res;
      return res.status === 200 ? res.body : statusFailure(res);
    },
  };
}

/** Reads `{"<key>": [...] | null}` (null: no entries); null when the body is not that. */
export function readList(key: string): (body: Buffer) => string[] | null {
  return (body) => {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString("utf8"));
    } catch {
      return null;
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return null;
    const list = (doc as Record<string, unknown>)[key];
    if (list === null || list === undefined) return [];
    if (!Array.isArray(list) || list.some((t) => typeof t !== "string")) return null;
    return list as string[];
  };
}

/**
 * The path (below the registry's URL) of a next-page Link, when it names the same
 * list on the registry itself (its own origin or a public name of it); null otherwise.
 */
export function nextPath(
  registry: Pick<Transport, "url" | "prefix" | "origins">,
  link: string,
  listPath: string,
): string | null {
  const path = ownPath(registry, link);
  return path !== null && path.split("?", 1)[0] === listPath ? path : null;
}

/**
 * The path and query (below the registry's URL) of a URL the registry named (a
 * Link, a Location), when it is on the registry itself; null otherwise.
 */
export function ownPath(
  registry: Pick<Transport, "url" | "prefix" | "origins">,
  named: string,
): string | null {
  let url: URL;
  try {
    url = new URL(named, registry.url);
  } catch {
    return null;
  }
  if (!registry.origins.has(url.origin.toLowerCase())) return null;
  let path = url.pathname;
  if (registry.prefix && path.startsWith(`${registry.prefix}/`)) path = path.slice(registry.prefix.length);
  return path + url.search;
}
