/**
 * OCI 1.1 artifacts for tests: the empty `{}` config blob and manifests that
 * refer to a subject (`subject`, `artifactType`, annotations), as oras, cosign
 * and notation push them.
 */
import { randomBytes } from "node:crypto";
import { request } from "./http.js";
import { type Blob, blobOf, MT, pushBlob } from "./oci.js";

export const EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json";
export const EMPTY_BLOB: Blob = blobOf(Buffer.from("{}"));

export interface Artifact extends Blob {
  mediaType: string;
  artifactType: string | undefined;
  annotations: Record<string, string>;
}

export interface SubjectRef {
  mediaType: string;
  digest: string;
  size: number;
}

/** An OCI image manifest with `subject`, config `{}` and a unique annotation. */
export function makeArtifact(
  subject: SubjectRef,
  options: { artifactType?: string; annotations?: Record<string, string>; configType?: string } = {},
): Artifact {
  const annotations = { "org.example.nonce": randomBytes(8).toString("hex"), ...options.annotations };
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    ...(options.artifactType !== undefined ? { artifactType: options.artifactType } : {}),
    config: {
      mediaType: options.configType ?? EMPTY_CONFIG_TYPE,
      digest: EMPTY_BLOB.digest,
      size: EMPTY_BLOB.size,
    },
    layers: [{ mediaType: EMPTY_CONFIG_TYPE, digest: EMPTY_BLOB.digest, size: EMPTY_BLOB.size }],
    subject,
    annotations,
  };
  return {
    ...blobOf(Buffer.from(JSON.stringify(doc))),
    mediaType: MT.ociManifest,
    artifactType: options.artifactType,
    annotations,
  };
}

/** The descriptor the spec expects in the subject's referrers list. */
export function expectedDescriptor(a: Artifact, configType = EMPTY_CONFIG_TYPE): Record<string, unknown> {
  return {
    mediaType: a.mediaType,
    digest: a.digest,
    size: a.size,
    artifactType: a.artifactType ?? configType,
    annotations: a.annotations,
  };
}

export async function pushEmptyBlob(base: string, repo: string, auth?: string): Promise<void> {
  await pushBlob(base, repo, EMPTY_BLOB, auth);
}

/** PUT of a manifest, returning the whole response (status and headers matter here). */
export function putRaw(
  base: string,
  repo: string,
  reference: string,
  body: Buffer,
  mediaType: string,
  auth?: string,
) {
  return request("PUT", `${base}/v2/${repo}/manifests/${reference}`, {
    headers: { "content-type": mediaType, ...(auth ? { authorization: auth } : {}) },
    body,
  });
}

export interface IndexDoc {
  schemaVersion: number;
  mediaType: string;
  manifests: Array<Record<string, unknown> & { digest: string }>;
}

/** The referrers tag schema's tag for a subject digest. */
export function referrersTagOf(digest: string): string {
  return digest.replace(":", "-");
}
