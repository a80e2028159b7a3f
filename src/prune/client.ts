/**
 * The registry calls `prune` makes: catalog and tags (following `Link` pages),
 * manifests, config blobs and the single-tag delete. Auth and HTTP are in
 * transport.ts.
 *
 * Never deletes by digest: `deleteTag` refuses anything that is not a tag.
 */

import { ALL_MANIFEST_TYPES } from "../oci/media-types.js";
import {
  AuthTransport,
  describeErrorBody,
  httpError,
  MAX_JSON_BYTES,
  RegistryError,
  type Reply,
  type Sent,
  type TransportOptions,
} from "./transport.js";

export { describeErrorBody, RegistryError, type Reply } from "./transport.js";

const MANIFEST_ACCEPT = ALL_MANIFEST_TYPES;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_PAGES = 100_000;

export interface ClientOptions extends TransportOptions {
  /** The registry (or proxy): scheme, host, and an optional path prefix before `/v2/`. */
  baseUrl: URL;
  /** Catalog page size (`n`); distribution allows up to 1000. */
  catalogPageSize?: number;
}

/** The `rel="next"` target of a Link header, if any. */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

export class RegistryClient {
  readonly base: URL;
  private readonly prefix: string;
  private readonly transport: AuthTransport;

  constructor(private readonly o: ClientOptions) {
    this.base = new URL(o.baseUrl.origin);
    this.prefix = o.baseUrl.pathname.replace(/\/+$/, "");
    this.transport = new AuthTransport(o);
  }

  /** How many token requests were made (tests check the cache with it). */
  get tokenFetches(): number {
    return this.transport.tokenFetches;
  }

  /** Closes the connections; the client is not used after this. */
  close(): Promise<void> {
    return this.transport.close();
  }

  url(path: string): URL {
    return new URL(this.prefix + path, this.base);
  }

  private send(url: URL, s: Sent): Promise<Reply> {
    return this.transport.send(url, s);
  }

  /** Every repository in the catalog, following `Link` pages. */
  async listRepositories(): Promise<string[]> {
    const names: string[] = [];
    for await (const page of this.pages(
      this.url(`/v2/_catalog?n=${this.o.catalogPageSize ?? 1000}`),
      "registry:catalog:*",
      "catalog",
    )) {
      const doc = JSON.parse(page.toString()) as { repositories?: unknown };
      if (Array.isArray(doc.repositories)) names.push(...doc.repositories.filter(isString));
    }
    return names;
  }

  /** A repository's tags ([] for a repository without tags), following `Link` pages. */
  async listTags(name: string): Promise<string[]> {
    const tags: string[] = [];
    const first = this.url(`/v2/${name}/tags/list`);
    for await (const page of this.pages(first, `repository:${name}:pull`, `tags of ${name}`, true)) {
      const doc = JSON.parse(page.toString()) as { tags?: unknown };
      if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter(isString));
    }
    return [...new Set(tags)];
  }

  private async *pages(first: URL, scope: string, what: string, unknownIsEmpty = false) {
    const seen = new Set<string>();
    let url: URL | undefined = first;
    while (url && seen.size < MAX_PAGES) {
      seen.add(url.href);
      const reply = await this.send(url, { method: "GET", scope, accept: "application/json" });
      if (reply.status === 404 && unknownIsEmpty && describeErrorBody(reply.body).code === "NAME_UNKNOWN")
        return;
      if (reply.status !== 200) throw httpError(`GET ${what}`, reply);
      yield reply.body;
      const next = nextLink(reply.headers.get("link"));
      url = next === undefined ? undefined : new URL(next, url);
      if (url && (url.origin !== this.base.origin || seen.has(url.href))) url = undefined;
    }
  }

  /** HEAD a manifest with every manifest type accepted; null when it does not exist. */
  async headManifest(
    name: string,
    reference: string,
  ): Promise<{ digest?: string; mediaType?: string } | null> {
    const reply = await this.send(this.url(`/v2/${name}/manifests/${reference}`), {
      method: "HEAD",
      accept: MANIFEST_ACCEPT,
      scope: `repository:${name}:pull`,
    });
    if (reply.status === 404) return null;
    if (reply.status !== 200) throw httpError(`HEAD ${name}:${reference}`, reply);
    return {
      digest: reply.headers.get("docker-content-digest") ?? undefined,
      mediaType: reply.headers.get("content-type") ?? undefined,
    };
  }

  async getManifest(
    name: string,
    reference: string,
  ): Promise<{ mediaType: string; body: Buffer; digest?: string }> {
    const reply = await this.send(this.url(`/v2/${name}/manifests/${reference}`), {
      method: "GET",
      accept: MANIFEST_ACCEPT,
      scope: `repository:${name}:pull`,
      maxBytes: MAX_MANIFEST_BYTES,
    });
    if (reply.status !== 200) throw httpError(`GET manifest ${name}@${reference}`, reply);
    const digest = reply.headers.get("docker-content-digest") ?? undefined;
    return {
      mediaType: reply.headers.get("content-type") ?? "",
      body: reply.body,
      ...(digest ? { digest } : {}),
    };
  }

  async getBlob(name: string, digest: string, maxBytes = MAX_JSON_BYTES): Promise<Buffer> {
    const reply = await this.send(this.url(`/v2/${name}/blobs/${digest}`), {
      method: "GET",
      scope: `repository:${name}:pull`,
      maxBytes,
    });
    if (reply.status !== 200) throw httpError(`GET blob ${name}@${digest}`, reply);
    return reply.body;
  }

  /** `DELETE /v2/<name>/manifests/<tag>`: the single-tag delete. Any answer is returned. */
  async deleteTag(name: string, tag: string): Promise<Reply> {
    if (!TAG_RE.test(tag))
      throw new RegistryError(`refusing to delete "${tag}": not a tag`, undefined, undefined);
    return this.send(this.url(`/v2/${name}/manifests/${tag}`), {
      method: "DELETE",
      scope: `repository:${name}:delete`,
    });
  }

  /** `GET /v2/`: whether the registry (or proxy) answers, and takes the credentials (gc's preflight). */
  async ping(): Promise<Reply> {
    return this.send(this.url("/v2/"), { method: "GET", scope: "", accept: "application/json" });
  }

  /** `POST /v2/<name>/blobs/uploads/`: opens an upload session (gc's proof of the storage). Any answer is returned. */
  async startUpload(name: string, headers?: Readonly<Record<string, string>>): Promise<Reply> {
    return this.send(this.url(`/v2/${name}/blobs/uploads/`), {
      method: "POST",
      scope: `repository:${name}:pull,push`,
      ...(headers ? { headers } : {}),
    });
  }

  /** `DELETE <upload location>`: cancels an upload session it opened. Any answer is returned. */
  async cancelUpload(
    name: string,
    location: string,
    headers?: Readonly<Record<string, string>>,
  ): Promise<Reply> {
    const url = new URL(location, this.url("/"));
    if (url.origin !== this.base.origin)
      throw new RegistryError(`upload location ${location} is on another origin`, undefined, undefined);
    return this.send(url, {
      method: "DELETE",
      scope: `repository:${name}:pull,push`,
      ...(headers ? { headers } : {}),
    });
  }

  /** `DELETE /v2/<name>/manifests/<digest>`: the manifest and every tag on it (gc). Any answer is returned. */
  async deleteManifest(
    name: string,
    digest: string,
    headers?: Readonly<Record<string, string>>,
  ): Promise<Reply> {
    return this.send(this.url(`/v2/${name}/manifests/${digest}`), {
      method: "DELETE",
      scope: `repository:${name}:delete`,
      ...(headers ? { headers } : {}),
    });
  }
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}
