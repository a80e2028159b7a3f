/**
 * What the web UI shows of a manifest, read from its bytes: pure, and lenient
 * (a registry holds what was pushed; a field of the wrong type is left out,
 * never trusted). Every string read here is free text for the pages, which
 * escape it.
 */
import { baseMediaType, IMAGE_TYPES, INDEX_TYPES, isSchema1 } from "../oci/media-types.js";

export interface DescriptorView {
  mediaType: string;
  digest: string;
  size: number | undefined;
  artifactType: string | undefined;
  annotations: Record<string, string>;
  /** `os/architecture[/variant]` of an index entry. */
  platform: string | undefined;
  /** An index entry that is an attestation (buildkit's provenance), not a platform. */
  attestation: boolean;
}

export interface ManifestView {
  digest: string;
  mediaType: string;
  /** The manifest's own size in bytes. */
  bytes: number;
  kind: "image" | "index" | "schema1" | "other";
  artifactType: string | undefined;
  config: DescriptorView | undefined;
  layers: DescriptorView[];
  /** An image's config and layers together (compressed, as pulled); undefined when unknown. */
  size: number | undefined;
  /** An index's entries. */
  children: DescriptorView[];
  /** An index's platforms, attestations left out. */
  platforms: string[];
  annotations: Record<string, string>;
  /** The manifest this one refers to (`subject`), for artifacts. */
  subject: string | undefined;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const size = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

function platformOf(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const os = str(v["os"]);
  const arch = str(v["architecture"]);
  if (!os || !arch) return undefined;
  const variant = str(v["variant"]);
  return variant ? `${os}/${arch}/${variant}` : `${os}/${arch}`;
}

function descriptorOf(v: unknown): DescriptorView | null {
  if (!isObject(v)) return null;
  const digest = str(v["digest"]);
  if (!digest) return null;
  const annotations = stringMap(v["annotations"]);
  const platform = platformOf(v["platform"]);
  return {
    mediaType: str(v["mediaType"]) ?? "",
    digest,
    size: size(v["size"]),
    artifactType: str(v["artifactType"]),
    annotations,
    platform,
    attestation:
      annotations["vnd.docker.reference.type"] === "attestation-manifest" || platform === "unknown/unknown",
  };
}

function descriptors(v: unknown): DescriptorView[] {
  if (!Array.isArray(v)) return [];
  return v.map(descriptorOf).filter((d): d is DescriptorView => d !== null);
}

function sum(items: readonly (DescriptorView | undefined)[]): number | undefined {
  let total = 0;
  for (const d of items) {
    if (d?.size === undefined) return undefined;
    total += d.size;
  }
  return total;
}

/** Config types of a runnable image (and the empty one): any other config type names an artifact. */
const NOT_ARTIFACT_CONFIGS = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
  "application/vnd.oci.empty.v1+json",
  "",
]);

function artifactConfigType(config: DescriptorView | undefined): string | undefined {
  return config === undefined || NOT_ARTIFACT_CONFIGS.has(config.mediaType) ? undefined : config.mediaType;
}

function kindOf(mediaType: string, doc: Json): ManifestView["kind"] {
  if (isSchema1(mediaType)) return "schema1";
  if (IMAGE_TYPES.has(mediaType)) return "image";
  if (INDEX_TYPES.has(mediaType)) return "index";
  // An OCI manifest or index pushed without a content type still says what it is.
  if (Array.isArray(doc["manifests"])) return "index";
  return Array.isArray(doc["layers"]) ? "image" : "other";
}

/** The view of a manifest's bytes (its media type as served, its digest as the registry named it). */
export function viewManifest(bytes: Buffer, contentType: string, digest: string): ManifestView {
  const mediaType = baseMediaType(contentType);
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    // Not JSON: shown as "other".
  }
  const doc = isObject(parsed) ? parsed : {};
  const kind = kindOf(mediaType, doc);
  const config = kind === "image" ? (descriptorOf(doc["config"]) ?? undefined) : undefined;
  const layers = kind === "image" ? descriptors(doc["layers"]) : [];
  const children = kind === "index" ? descriptors(doc["manifests"]) : [];
  const subject = isObject(doc["subject"]) ? str(doc["subject"]["digest"]) : undefined;
  return {
    digest,
    mediaType: mediaType || str(doc["mediaType"]) || "",
    bytes: bytes.length,
    kind,
    artifactType: str(doc["artifactType"]) ?? artifactConfigType(config),
    config,
    layers,
    size: kind === "image" ? sum([config, ...layers]) : undefined,
    children,
    platforms: [...new Set(children.filter((c) => !c.attestation && c.platform).map((c) => c.platform!))],
    annotations: stringMap(doc["annotations"]),
    subject,
  };
}

/** `1.4 MB` (decimal units, as registries and docker show sizes). */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return "–";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `sha256:0123456789ab` (the first 12 hex digits, as docker shows image ids). */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return colon === -1 ? digest : digest.slice(0, colon + 13);
}
