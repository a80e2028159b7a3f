/**
 * The manifest media types the proxy reads and writes, and the one Accept list
 * for its own manifest reads. Without a stored type in `Accept`, 2.8 answers 404
 * (OCI content) or converts schema2 to schema1, another digest (registry-2.8
 * notes §8): naming every type is the only way to see what a tag really holds,
 * and to never mistake an occupied tag for a free one. Pure.
 */

/** distribution's manifest limit (`maxManifestBodySize`, 4 MiB); the spec asks for at least 4 MB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const MEDIA_TYPE = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
} as const;

/** Every manifest type, the OCI index first: Accept for the proxy's own manifest reads. */
export const ALL_MANIFEST_TYPES: string = Object.values(MEDIA_TYPE).join(", ");

/** Image manifests (a config and layers). */
export const IMAGE_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest]);
/** Indexes and manifest lists (child manifests). */
export const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerList]);
/** Schema1, signed or not. */
export const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPE.dockerSchema1Signed,
  MEDIA_TYPE.dockerSchema1,
]);

/** `application/vnd.oci.image.manifest.v1+json; charset=utf-8` → the bare, lowercase type. */
export function baseMediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Schema1 digests cover the payload without its JWS signatures, so they are not
 * the sha256 of the bytes served. Every other type's digest is.
 */
export function isSchema1(mediaType: string): boolean {
  return SCHEMA1_TYPES.has(baseMediaType(mediaType));
}
