/**
 * Manifest media types the tag delete reads and writes, and the Accept list that
 * makes a 2.8 registry return any stored manifest as it is: without its type in
 * `Accept`, 2.8 converts schema2 to schema1 (another digest) and answers 404 for
 * OCI content (registry-2.8 notes §8).
 */

export const MEDIA_TYPES = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  schema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  schema1: "application/vnd.docker.distribution.manifest.v1+json",
} as const;

/** Every manifest type, for GET/HEAD of a tag whose exact bytes must be kept. */
export const ACCEPT_ALL_MANIFESTS: string = Object.values(MEDIA_TYPES).join(", ");

/**
 * Schema1 digests cover the payload without its JWS signatures, so they are not
 * the sha256 of the bytes served. Every other type's digest is.
 */
export function isSchema1(mediaType: string): boolean {
  const base = mediaType.split(";")[0]!.trim().toLowerCase();
  return base === MEDIA_TYPES.schema1Signed || base === MEDIA_TYPES.schema1;
}
