/**
 * The referrers vocabulary of distribution-spec 1.1, pure: the referrers tag
 * schema (`<alg>-<ref>`), the descriptor a manifest with a `subject` gets in its
 * subject's referrers list, and the list (an OCI image index) itself: parse, add,
 * remove, filter. No I/O; the upstream calls live in upstream/referrers-index.ts.
 */
import { isValidDigest } from "./grammar.js";
import { baseMediaType, MEDIA_TYPE } from "./media-types.js";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

export interface ReferrersIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [extra: string]: unknown;
}

/** A pushed manifest that names a subject: the subject and the descriptor to list under it. */
export interface Referrer {
  subject: string;
  descriptor: Descriptor;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The referrers tag schema: `<alg>-<ref>`, where `<ref>` is the digest's encoded
 * part limited to 64 characters (so a sha512 subject still gives a legal tag).
 */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(":");
  return `${digest.slice(0, colon)}-${digest.slice(colon + 1, colon + 65)}`;
}

function parseJsonObject(body: Buffer): Json | null {
  try {
    const v: unknown = JSON.parse(body.toString("utf8"));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

function stringAnnotations(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  let any = false;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") continue;
    out[k] = val;
    any = true;
  }
  return any ? out : undefined;
}

function isIndexType(mediaType: string, doc: Json): boolean {
  if (mediaType === MEDIA_TYPE.ociIndex || mediaType === MEDIA_TYPE.dockerList) return true;
  return Array.isArray(doc["manifests"]) && !isObject(doc["config"]);
}

/**
 * Reads a pushed manifest (its exact bytes, its Content-Type and its digest) and,
 * when it has a `subject` with a valid digest, builds the descriptor the spec puts
 * in the subject's referrers list:
 * - `artifactType` from the manifest's `artifactType`; for an image manifest
 *   without one, the config descriptor's `mediaType`; for an index without one,
 *   omitted;
 * - every annotation of the manifest.
 * Returns null when there is no usable subject (such a manifest is not a referrer).
 */
export function referrerOf(body: Buffer, contentType: string | undefined, digest: string): Referrer | null {
  const doc = parseJsonObject(body);
  if (!doc) return null;
  const subject = doc["subject"];
  if (!isObject(subject) || typeof subject["digest"] !== "string" || !isValidDigest(subject["digest"])) {
    return null;
  }
  const declared = typeof doc["mediaType"] === "string" ? doc["mediaType"] : "";
  const mediaType = declared || baseMediaType(contentType);
  const descriptor: Descriptor = { mediaType, digest, size: body.length };
  const ownType = typeof doc["artifactType"] === "string" ? doc["artifactType"] : "";
  const config = doc["config"];
  if (ownType) descriptor.artifactType = ownType;
  else if (!isIndexType(mediaType, doc) && isObject(config) && typeof config["mediaType"] === "string") {
    if (config["mediaType"]) descriptor.artifactType = config["mediaType"];
  }
  const annotations = stringAnnotations(doc["annotations"]);
  if (annotations) descriptor.annotations = annotations;
  return { subject: subject["digest"], descriptor };
}

export function emptyReferrersIndex(): ReferrersIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [] };
}

function isDescriptor(v: unknown): v is Descriptor {
  return isObject(v) && typeof v["digest"] === "string" && typeof v["mediaType"] === "string";
}

/**
 * Parses what a referrers tag holds. Only an OCI image index counts (by its
 * Content-Type or its own `mediaType`); anything else returns a reason string.
 * Entries that are not descriptors are dropped; unknown fields are kept.
 */
export function parseReferrersIndex(body: Buffer, contentType: string | undefined): ReferrersIndex | string {
  const doc = parseJsonObject(body);
  if (!doc) return "not a JSON object";
  const type = baseMediaType(contentType);
  const declared = doc["mediaType"];
  if (type !== MEDIA_TYPE.ociIndex && declared !== MEDIA_TYPE.ociIndex) {
    return `holds ${type || "an unknown type"}, not an OCI image index`;
  }
  if (declared !== undefined && declared !== MEDIA_TYPE.ociIndex) return `declares mediaType ${declared}`;
  const manifests = doc["manifests"];
  if (!Array.isArray(manifests)) return "has no manifests list";
  return { ...doc, schemaVersion: 2, manifests: manifests.filter(isDescriptor) };
}

function sameDescriptor(a: Descriptor, b: Descriptor): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Adds `descriptor`, once: an entry with the same digest is kept when equal and
 * replaced in place when it differs (the proxy's is built from the exact bytes
 * pushed, by the spec's rules). Never mutates the input.
 */
export function addReferrer(
  index: ReferrersIndex,
  descriptor: Descriptor,
): { index: ReferrersIndex; changed: boolean } {
  const at = index.manifests.findIndex((d) => d.digest === descriptor.digest);
  const duplicates = index.manifests.filter((d) => d.digest === descriptor.digest).length;
  if (at !== -1 && duplicates === 1 && sameDescriptor(index.manifests[at]!, descriptor)) {
    return { index, changed: false };
  }
  const manifests: Descriptor[] = [];
  let placed = false;
  for (const d of index.manifests) {
    if (d.digest !== descriptor.digest) manifests.push(d);
    else if (!placed) {
      manifests.push(descriptor);
      placed = true;
    }
  }
  if (!placed) manifests.push(descriptor);
  return { index: { ...index, manifests }, changed: true };
}

/** Removes every entry with `digest`. Never mutates the input. */
export function removeReferrer(
  index: ReferrersIndex,
  digest: string,
): { index: ReferrersIndex; changed: boolean } {
  const manifests = index.manifests.filter((d) => d.digest !== digest);
  if (manifests.length === index.manifests.length) return { index, changed: false };
  return { index: { ...index, manifests }, changed: true };
}

/** Keeps the entries whose `artifactType` is one of `types`. */
export function filterReferrers(index: ReferrersIndex, types: readonly string[]): ReferrersIndex {
  const wanted = new Set(types);
  return { ...index, manifests: index.manifests.filter((d) => wanted.has(d.artifactType ?? "")) };
}

/**
 * The referrers API answer: an OCI index with `schemaVersion`, `mediaType` and
 * `manifests` only (annotations or other fields a client left on the tag's index
 * describe that tag, not the subject's referrers).
 */
export function referrersResponse(index: ReferrersIndex): ReferrersIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: index.manifests };
}

/** Bytes for the referrers tag: the index with the OCI index `mediaType` set. */
export function serialiseReferrersIndex(index: ReferrersIndex): Buffer {
  return Buffer.from(JSON.stringify({ ...index, schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex }));
}
