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

import { TokenError } from "./auth.js";
import type { CallOptions, Manifest, ManifestHead } from "./calls.js";
import * as calls from "./calls.js";
import type { Credentials } from "./credentials.js";
import { type Failure, statusFailure } from "./failure.js";
import { type HttpResponse, UpstreamError } from "./http.js";
import { catalogPage, collectPages, readList } from "./pages.js";
import {
  createTransport,
  type RegistryClientOptions,
  type RegistryRequest,
  type Transport,
} from "./transport.js";

export type { CallOptions, Manifest, ManifestHead } from "./calls.js";
export type { RegistryClientOptions, RegistryRequest } from "./transport.js";

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
  /** One page of `/v2/_catalog` (`n` names after `last`), and whether the registry says more follow. */
  catalogPage(
    page: { n: number; last: string | null },
    o?: CallOptions,
  ): Promise<{ repositories: string[]; more: boolean } | Failure>;
  /** Every tag of `/v2/<name>/tags/list` in the registry's order, following its pages (404: a Failure). */
  tagList(name: string, o?: CallOptions): Promise<string[] | Failure>;
  /**
   * Whether these credentials may read the tags list: null when its first page
   * answers 200 (its body is not read: a large one closes the connection instead),
   * else how it failed.
   */
  tagListCheck(name: string, o?: CallOptions): Promise<null | Failure>;
  /** HEAD a manifest, every type accepted; null when there is none. */
  manifestHead(name: string, reference: string, o?: CallOptions): Promise<ManifestHead | null | Failure>;
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

/** One call with `creds`, its failures as values (a token not had: the registry's 401, with why). */
function failuresAsValues(transport: Transport, creds: Credentials): calls.Call {
  return async (req) => {
    try {
      return await transport.send(req, creds);
    } catch (err) {
      if (err instanceof TokenError) return statusFailure(err.challenged, err.message);
      if (!(err instanceof UpstreamError)) throw err;
      // The call named without its query (which may carry an upload's state).
      const where = `${req.method} ${transport.url.origin}${transport.prefix}${req.path.split("?", 1)[0]}`;
      return { ok: false, kind: "network", error: err, where };
    }
  };
}

function bindCalls(transport: Transport, creds: Credentials): RegistryCalls {
  const call = failuresAsValues(transport, creds);
  return {
    request: (req) => transport.send(req, creds),
    ping: (o) => calls.ping(call, o),
    catalog: (o = {}) =>
      collectPages(
        call,
        transport,
        {
          firstPath: `/v2/_catalog?n=${o.pageSize ?? 1000}`,
          listPath: "/v2/_catalog",
          scope: "registry:catalog:*",
          read: readList("repositories"),
        },
        o,
      ),
    catalogPage: (page, o) => catalogPage(call, page, o),
    tagList: (name, o) => {
      const path = `/v2/${name}/tags/list`;
      const list = {
        firstPath: path,
        listPath: path,
        scope: `repository:${name}:pull`,
        read: readList("tags"),
      };
      return collectPages(call, transport, list, o);
    },
    tagListCheck: (name, o) => calls.tagListCheck(call, name, o),
    manifestHead: (name, reference, o) => calls.manifestHead(call, name, reference, o),
    manifestGet: (name, reference, o) => calls.manifestGet(call, name, reference, o),
    manifestPut: (name, reference, manifest, o) => calls.manifestPut(call, name, reference, manifest, o),
    manifestDelete: (name, reference, o) => calls.manifestDelete(call, name, reference, o),
    uploadStart: (name, o) => calls.uploadStart(call, name, o),
    uploadCancel: (name, location, o) => calls.uploadCancel(call, transport, name, location, o),
    blobHead: (name, digest, o) => calls.blobHead(call, name, digest, o),
    blobGet: (name, digest, o) => calls.blobGet(call, name, digest, o),
  };
}
