/**
 * Manifests whose layers live elsewhere (`urls`): OCI non-distributable layers
 * (`application/vnd.oci.image.layer.nondistributable.v1.tar[+gzip]`, deprecated but
 * valid) and Docker foreign layers. Pure.
 *
 * distribution 2.8 checks every URL of an OCI layer descriptor and of a Docker
 * foreign layer against its `validation.manifests.urls` settings; with neither
 * `allow` nor `deny` set (the default, and the registry:2 image's config) it allows
 * none. A refused URL is not reported as such: the PUT gets `500 UNKNOWN` plus
 * `MANIFEST_BLOB_UNKNOWN` for each refused layer, and nothing is stored (measured on
 * 2.8.2). The proxy answers that with `400 MANIFEST_INVALID` naming the layers.
 */
import { OciError } from "./errors.js";

/** OCI layer types whose `urls` 2.8 checks (ocischema manifest handler). */
const OCI_CHECKED_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
]);
/** Docker's foreign layer: 2.8 requires URLs on it and checks them (schema2 handler). */
const DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

export interface UrlLayer {
  mediaType: string;
  digest: string;
  urls: string[];
}

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  urls?: unknown;
}

function stringsOf(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((u): u is string => typeof u === "string") : [];
}

/** The layers of `manifest` whose URLs 2.8 validates; empty when there are none or it is not JSON. */
export function urlCheckedLayers(manifest: Buffer | string): UrlLayer[] {
  let doc: { layers?: unknown };
  try {
    doc = JSON.parse(manifest.toString()) as { layers?: unknown };
  } catch {
    return [];
  }
  if (doc === null || typeof doc !== "object" || !Array.isArray(doc.layers)) return [];
  const out: UrlLayer[] = [];
  for (const d of doc.layers as Descriptor[]) {
    if (d === null || typeof d !== "object") continue;
    const mediaType = typeof d.mediaType === "string" ? d.mediaType : "";
    const urls = stringsOf(d.urls);
    const checked = mediaType === DOCKER_FOREIGN || (OCI_CHECKED_TYPES.has(mediaType) && urls.length > 0);
    if (checked && typeof d.digest === "string") out.push({ mediaType, digest: d.digest, urls });
  }
  return out;
}

/** The digests a 2.8 error body names as MANIFEST_BLOB_UNKNOWN; null when it is not OCI error JSON. */
function blobUnknownDigests(body: Buffer | string): Set<string> | null {
  try {
    const doc = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown; detail?: unknown }> };
    if (!Array.isArray(doc.errors)) return null;
    const digests = new Set<string>();
    for (const e of doc.errors) {
      if (e?.code === "MANIFEST_BLOB_UNKNOWN" && typeof e.detail === "string") digests.add(e.detail);
    }
    return digests;
  } catch {
    return null;
  }
}

/**
 * The answer for a manifest PUT that 2.8 refused with a 500 because of its layer
 * URLs, or null when that is not what happened. With the upstream's body at hand,
 * the refused layers are the ones it names; without it (a streamed passthrough),
 * a 500 on a manifest carrying such layers is taken as that refusal.
 */
export function layerUrlRefusal(
  manifest: Buffer | string,
  status: number,
  upstreamBody?: Buffer | string,
): OciError | null {
  if (status !== 500) return null;
  let layers = urlCheckedLayers(manifest);
  if (layers.length === 0) return null;
  if (upstreamBody !== undefined) {
    const named = blobUnknownDigests(upstreamBody);
    if (named === null) return null;
    layers = layers.filter((l) => named.has(l.digest));
    if (layers.length === 0) return null;
  }
  return new OciError(
    "MANIFEST_INVALID",
    "manifest invalid: the registry does not accept the URLs of its non-distributable (foreign) layers",
    {
      reason:
        "distribution 2.8 checks layer URLs against validation.manifests.urls (allow/deny) and allows none unless configured",
      layers,
      upstreamStatus: status,
    },
  );
}
