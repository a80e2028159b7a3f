/**
 * When was an image made: the `created` time of its config blob (image
 * manifests), the newest of its children's (indexes and manifest lists), or the
 * first history entry's (schema1). A tag whose time cannot be read is kept, so
 * every "no time" answer says why.
 *
 * Results are cached per digest for the whole run: tags sharing a manifest, and
 * indexes sharing children, cost one fetch.
 */

import { baseMediaType, IMAGE_TYPES, INDEX_TYPES, MEDIA_TYPE, SCHEMA1_TYPES } from "../oci/media-types.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { expected, RegistryError } from "../registry-client/failure.js";

export interface CreatedResult {
  created: Date | null;
  problem?: string;
}

/** The content reads this needs; they throw when the registry does not give them. */
export interface ContentSource {
  getManifest(name: string, digest: string): Promise<{ mediaType: string; body: Buffer }>;
  getBlob(name: string, digest: string): Promise<Buffer>;
}

/** Config blobs are small JSON; a larger one is refused. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** The content reads, from the registry. */
export function registryContent(reg: RegistryCalls): ContentSource {
  return {
    async getManifest(name, digest) {
      const what = `GET manifest ${name}@${digest}`;
      const m = expected(await reg.manifestGet(name, digest), what);
      if (m === null) throw new RegistryError(`${what}: 404 (no such manifest)`, 404, "MANIFEST_UNKNOWN");
      return { mediaType: m.mediaType, body: m.bytes };
    },
    async getBlob(name, digest) {
      return expected(
        await reg.blobGet(name, digest, { maxBytes: MAX_CONFIG_BYTES }),
        `GET blob ${name}@${digest}`,
      );
    },
  };
}

/** Reproducible builds write 1970-01-01 or 0001-01-01: not a time to rank images by. */
const PLACEHOLDER_BEFORE = Date.parse("2000-01-01T00:00:00Z");
const MAX_INDEX_DEPTH = 2;

/** Reads a `created` value: an RFC 3339 time after 2000; otherwise the problem with it. */
export function parseCreated(value: unknown): CreatedResult {
  if (value === undefined || value === null || value === "")
    return { created: null, problem: "no created field" };
  if (typeof value !== "string") return { created: null, problem: "created is not a string" };
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i.test(value)) {
    return { created: null, problem: `created is not an RFC 3339 time: ${value.slice(0, 40)}` };
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return { created: null, problem: `created is not a valid time: ${value}` };
  if (ms < PLACEHOLDER_BEFORE) return { created: null, problem: `created is a placeholder: ${value}` };
  return { created: new Date(ms) };
}

/** The media type of a manifest: the Content-Type header, else the body's own `mediaType`. */
export function manifestType(contentType: string, doc: Readonly<Record<string, unknown>>): string {
  const header = baseMediaType(contentType);
  if (header && header !== "application/json" && header !== "application/octet-stream") return header;
  if (typeof doc.mediaType === "string") return doc.mediaType;
  if ((doc as { manifests?: unknown }).manifests !== undefined) return MEDIA_TYPE.ociIndex;
  if ((doc as { config?: unknown }).config !== undefined) return MEDIA_TYPE.ociManifest;
  return header;
}

/** The schema1 time: the first `history[].v1Compatibility` entry is the top layer's. */
export function schema1Created(doc: { history?: Array<{ v1Compatibility?: unknown }> }): CreatedResult {
  const first = doc.history?.[0]?.v1Compatibility;
  if (typeof first !== "string") return { created: null, problem: "schema1 manifest without history" };
  try {
    return parseCreated((JSON.parse(first) as { created?: unknown }).created);
  } catch {
    return { created: null, problem: "schema1 history is not JSON" };
  }
}

/** The newest of several results; the problems of all when none has a time. */
export function newestOf(results: readonly CreatedResult[]): CreatedResult {
  let best: Date | null = null;
  for (const r of results) if (r.created && (!best || r.created > best)) best = r.created;
  if (best) return { created: best };
  if (results.length === 0) return { created: null, problem: "empty index" };
  const problems = [...new Set(results.map((r) => r.problem ?? "unknown"))];
  return { created: null, problem: `no child has a created time (${problems.join("; ")})` };
}

export interface CreatedResolver {
  /** The created time of the manifest `digest` in repository `name`. */
  ofManifest(name: string, digest: string): Promise<CreatedResult>;
}

export function createCreatedResolver(source: ContentSource): CreatedResolver {
  const manifests = new Map<string, Promise<CreatedResult>>();
  const configs = new Map<string, Promise<CreatedResult>>();

  function ofConfig(name: string, digest: string): Promise<CreatedResult> {
    let p = configs.get(digest);
    if (!p) {
      p = source.getBlob(name, digest).then((bytes) => {
        let doc: { created?: unknown };
        try {
          doc = JSON.parse(bytes.toString()) as typeof doc;
        } catch {
          return { created: null, problem: "config blob is not JSON" };
        }
        return parseCreated(doc?.created);
      });
      configs.set(digest, p);
      p.catch(() => configs.delete(digest)); // a failed read is tried again for the next tag
    }
    return p;
  }

  async function inspect(name: string, digest: string, depth: number): Promise<CreatedResult> {
    const { mediaType, body } = await source.getManifest(name, digest);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(body.toString()) as Record<string, unknown>;
    } catch {
      return { created: null, problem: "manifest is not JSON" };
    }
    const type = manifestType(mediaType, doc);
    if (IMAGE_TYPES.has(type)) {
      const config = doc["config"] as { digest?: unknown } | undefined;
      if (typeof config?.digest !== "string") return { created: null, problem: "manifest has no config" };
      return ofConfig(name, config.digest);
    }
    if (INDEX_TYPES.has(type)) {
      if (depth >= MAX_INDEX_DEPTH) return { created: null, problem: "index nested too deeply" };
      const children = Array.isArray(doc["manifests"])
        ? (doc["manifests"] as Array<{ digest?: unknown }>)
        : [];
      const results: CreatedResult[] = [];
      for (const child of children) {
        if (typeof child.digest !== "string") continue;
        results.push(await ofManifestAt(name, child.digest, depth + 1).catch(asProblem));
      }
      return newestOf(results);
    }
    if (SCHEMA1_TYPES.has(type)) return schema1Created(doc as Parameters<typeof schema1Created>[0]);
    return { created: null, problem: `unsupported manifest type ${type || "(none)"}` };
  }

  function ofManifestAt(name: string, digest: string, depth: number): Promise<CreatedResult> {
    let p = manifests.get(digest);
    if (!p) {
      p = inspect(name, digest, depth);
      manifests.set(digest, p);
      p.catch(() => manifests.delete(digest));
    }
    return p;
  }

  return { ofManifest: (name, digest) => ofManifestAt(name, digest, 0) };
}

function asProblem(err: unknown): CreatedResult {
  return { created: null, problem: `child unreadable: ${(err as Error).message}` };
}
