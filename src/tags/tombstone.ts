/**
 * Tombstones: the throwaway manifests of the tag swap. A tombstone is an empty
 * OCI image index (2.8 accepts it in any repository without a single blob,
 * registry-2.8 notes §5) whose annotations make it unique and recognisable:
 * a 128-bit crypto-random nonce (two deletes never produce the same bytes, so
 * deleting one tombstone can never untag another tag), a marker key naming this
 * project, the tag it was put on and the time.
 *
 * Pure apart from the random nonce, which callers may inject.
 */
import { randomBytes } from "node:crypto";
import { sha256Digest } from "../oci/digest.js";
import { MEDIA_TYPE } from "../oci/media-types.js";

/** The annotation key that marks a manifest as this project's tombstone. */
export const TOMBSTONE_MARKER = "io.github.registry-compat-proxy.tombstone";
export const TOMBSTONE_NONCE = "io.github.registry-compat-proxy.nonce";
export const TOMBSTONE_TAG = "io.github.registry-compat-proxy.tag";
export const TOMBSTONE_MEDIA_TYPE = MEDIA_TYPE.ociIndex;

export interface Tombstone {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: typeof TOMBSTONE_MEDIA_TYPE;
}

export function buildTombstone(
  tag: string,
  now: Date = new Date(),
  nonce: string = randomBytes(16).toString("hex"),
): Tombstone {
  const body = {
    schemaVersion: 2,
    mediaType: TOMBSTONE_MEDIA_TYPE,
    manifests: [],
    annotations: {
      [TOMBSTONE_MARKER]: "v1",
      [TOMBSTONE_NONCE]: nonce,
      [TOMBSTONE_TAG]: tag,
      "org.opencontainers.image.created": now.toISOString(),
    },
  };
  const bytes = Buffer.from(JSON.stringify(body));
  return { bytes, digest: sha256Digest(bytes), mediaType: TOMBSTONE_MEDIA_TYPE };
}

/** True when `bytes` is a manifest this project put on a tag as a tombstone. */
export function isTombstone(bytes: Buffer | string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch {
    return false;
  }
  if (typeof doc !== "object" || doc === null) return false;
  const m = doc as { mediaType?: unknown; manifests?: unknown; annotations?: unknown };
  if (m.mediaType !== TOMBSTONE_MEDIA_TYPE) return false;
  if (!Array.isArray(m.manifests) || m.manifests.length !== 0) return false;
  const annotations = m.annotations as Record<string, unknown> | undefined;
  return typeof annotations === "object" && annotations !== null && annotations[TOMBSTONE_MARKER] === "v1";
}
